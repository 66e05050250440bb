#!/usr/bin/env node
import module from 'node:module';

// Node >= 22.1 can keep the compiled code of the modules it loads on disk (in os.tmpdir(), or NODE_COMPILE_CACHE
// when set): a later start skips compiling them. Turned on before anything else loads, which is why the rest of
// the CLI comes in through import() below. Older Node has no such function; a cache it cannot use changes nothing.
try {
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
} catch {
  // no cache: the CLI works the same, only its start is slower
}

await (await import('./process-main.js')).main();
