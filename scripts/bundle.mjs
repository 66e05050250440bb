// Bundles the CLI for the bin: start-up time is most of a one-shot `check`, and Node's ES module loader spends
// about 0.6 ms on every file it loads (resolve, read, compile, link), ~70 of them for a `check` from dist/src.
// Runs after tsc (`npm run build`) and bundles the compiled JavaScript in dist/ into dist/bundle/:
//   cli.js     the bin (package.json "bin"): turns on Node's compile cache, then loads app.js
//   app.js     the whole CLI, every command, in one file; a command's code runs only when the command does
//   worker.js  the worker pool's thread entry, when src/pool/worker.ts exists (pool.ts resolves it as
//              new URL('./worker.js', import.meta.url): beside app.js, which holds pool.ts)
//   *.map      sourcemaps back to the TypeScript (node --enable-source-maps); meta.json: inputs per output
// npm packages are not bundled: each is require()d from node_modules the first time a module that imports it
// runs, so a plain `check` loads none of them (not zod, yaml, prom-client, pino, undici, imapflow, smtp-server).
import { build } from 'esbuild';
import { chmodSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const OUT = join(DIST, 'bundle');

/**
 * `import { x } from 'node:fs'` makes Node build an ES module facade of the builtin, which reads every export,
 * lazy ones too (fs's streams and promises, crypto's webcrypto...): ~22 ms for net, tls, crypto, dns and fs on
 * the reference machine against ~10 ms through process.getBuiltinModule() (Node >= 20.16), which returns the
 * object require() would. esbuild reads a named import as a property at the place of use.
 */
const builtinsWithoutFacade = {
  name: 'builtins-without-facade',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * An npm package becomes a CommonJS stub that require()s it (from node_modules, as dist/src would load it). esbuild
 * calls the stub where the importing module is first evaluated, and a module behind an import() is evaluated
 * only when that import() runs: the daemon's, the config loader's and the demo's packages stay unloaded on `check`.
 */
const packagesOnFirstUse = {
  name: 'packages-on-first-use',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('node:') ? undefined : { path: args.path, namespace: 'package' }));
    b.onLoad({ filter: /.*/, namespace: 'package' }, (args) => ({
      contents: `module.exports = __packageRequire(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/** cli.js loads the rest through import('./process-main.js'): that is app.js, built on its own. */
const appExternal = {
  name: 'app-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/process-main\.js$/ }, () => ({ path: './app.js', external: true }));
  },
};

const COMMON = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Whitespace and syntax only: names stay as written, so stack traces read like the source.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
  logLevel: 'warning',
};
const REQUIRE_BANNER = "const __packageRequire = process.getBuiltinModule('node:module').createRequire(import.meta.url);";

function need(file) {
  if (!existsSync(join(DIST, file))) {
    console.error(`bundle: dist/${file} is missing: run tsc first (npm run build)`);
    process.exit(1);
  }
  return join(DIST, file);
}

const builds = [
  { entry: need('src/cli/main.js'), out: 'cli.js', plugins: [appExternal, builtinsWithoutFacade] },
  { entry: need('src/cli/process-main.js'), out: 'app.js', plugins: [builtinsWithoutFacade, packagesOnFirstUse], banner: REQUIRE_BANNER },
];
// The worker pool's entry, once it exists. A worker thread has its own module graph: its own file, nothing shared.
if (existsSync(join(ROOT, 'src/pool/worker.ts'))) {
  builds.push({ entry: need('src/pool/worker.js'), out: 'worker.js', plugins: [builtinsWithoutFacade, packagesOnFirstUse], banner: REQUIRE_BANNER });
}

// Built aside and moved into place: a process running the old bundle never sees half of the new one.
const TMP = `${OUT}.${process.pid}`;
rmSync(TMP, { recursive: true, force: true });
const meta = { inputs: {}, outputs: {} };
for (const { entry, out, plugins, banner } of builds) {
  const result = await build({ ...COMMON, entryPoints: [entry], outfile: join(TMP, out), plugins, ...(banner ? { banner: { js: banner } } : {}) });
  Object.assign(meta.inputs, result.metafile.inputs);
  // Output paths as they will be: dist/bundle/..., not the temporary directory.
  for (const [file, o] of Object.entries(result.metafile.outputs)) meta.outputs[file.replace(relative(ROOT, TMP), relative(ROOT, OUT))] = o;
}
writeFileSync(join(TMP, 'meta.json'), `${JSON.stringify(meta)}\n`);
chmodSync(join(TMP, 'cli.js'), 0o755);
rmSync(OUT, { recursive: true, force: true });
renameSync(TMP, OUT);
console.log(`bundle: ${builds.map((b) => relative(ROOT, join(OUT, b.out))).join(', ')}`);
