// Preload for the cli section's start-up diagnosis: `node --import ./bench/trace-imports.mjs dist/src/cli/main.js ...`
// On exit, writes to stderr one line "BENCH-IMPORTS {json}" naming every npm package the process loaded, through
// ESM (a load hook) or CommonJS (require.cache), and how many files of each.
import { writeSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const hooks = `
import { writeSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) writeSync(2, 'BENCH-ESM ' + url + '\\n');
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

const require = createRequire(import.meta.url);
process.on('exit', () => {
  const files = Object.keys(require.cache).map((f) => `file://${f}`);
  writeSync(2, `\nBENCH-CJS ${JSON.stringify(files)}\n`);
});
