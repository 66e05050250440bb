/**
 * `check` stays fast: the capacity command and its room are loaded only when `capacity` runs. The built CLI
 * (dist/src/cli/main.js) is spawned with an import trace; `check` must load none of their files, `capacity` must.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { closeAll } from '../helpers/cleanup.js';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const HOOK = `import { writeSync } from 'node:fs';
export async function load(url, context, next) { if (url.startsWith('file:')) writeSync(2, 'LOADED ' + new URL(url).pathname + '\\n'); return next(url, context); }`;
const TRACE = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)});`)}`;

let server: ScriptedServer;
beforeAll(async () => {
  expect(existsSync(MAIN), 'build first: npm run build').toBe(true);
  server = await startScriptedServer([
    { send: '220 cap.test ESMTP\r\n' }, { expect: /^EHLO / }, { send: '250 cap.test\r\n' },
    { expect: /^(NOOP|QUIT)$/ }, { send: '250 ok\r\n' }, { expect: /^QUIT$/ }, { send: '221 bye\r\n' }, { close: true },
  ]);
});
afterAll(closeAll);

function loaded(args: string[]): Promise<string[]> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TRACE, MAIN, ...args], { timeout: 20_000 }, (_err, _stdout, stderr) => {
      resolve(stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice('LOADED '.length)));
    });
  });
}

const capacityFiles = (files: string[]): string[] => files.filter((f) => /\/dist\/src\/(capacity\/|cli\/capacity\.js|core\/capacity\.js)/.test(f));

test('check loads no capacity code; capacity does', async () => {
  const check = await loaded(['check', `smtp://127.0.0.1:${server.port}`, '--tls', 'none']);
  expect(check.some((f) => f.endsWith('/dist/src/cli/check.js'))).toBe(true);
  expect(capacityFiles(check)).toEqual([]);
  const capacity = await loaded(['capacity', '--help']);
  expect(capacityFiles(capacity)).toEqual(expect.arrayContaining([expect.stringMatching(/\/cli\/capacity\.js$/), expect.stringMatching(/\/capacity\/run\.js$/)]));
});
