/**
 * `smtp-probe validate --offline` (the CLI in-process, real file system): a production config whose files and
 * variables exist only in production validates in CI. Offline reads no file the config names and no variable.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cli, type Run } from '../helpers/cli.js';



/** A production config: secrets in files that are not here, a Slack URL and an interval from the environment. */
const PRODUCTION = `
global:
  interval: "\${PROBE_INTERVAL}"
modules:
  submission:
    tls: starttls
    tls_config: { ca_file: /etc/smtp-probe/does-not-exist/ca.pem }
    auth: { username: probe@example.test, password_file: secrets/does-not-exist }
targets:
  - { name: mx1, url: "smtp://\${MAIL_HOST}:587", module: submission }
alerts:
  rules: [{ name: down, kind: down, receivers: [chat] }]
  receivers: [{ name: chat, type: slack, url: "\${SLACK_WEBHOOK_URL}" }]
`;

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'smtp-probe-offline-')), 'prod.yaml');
  writeFileSync(file, text);
  return file;
}

describe('smtp-probe validate --offline', () => {
  test('a production config: exit 2 online without its files and variables, exit 0 offline saying what it took on trust', async () => {
    const file = writeConfig(PRODUCTION);
    const on = await cli(['validate', '--config', file]);
    expect(on.code).toBe(2);
    expect(on.stderr).toMatch(/cannot read \/etc\/smtp-probe\/does-not-exist\/ca\.pem/);
    expect(on.stderr).toMatch(/environment variable SLACK_WEBHOOK_URL is not set/);

    const off = await cli(['validate', '--offline', '--config', file]);
    expect(off).toEqual({
      code: 0,
      stdout: `${file}: ok offline (1 target, 1 module, 1 alert rule; not checked: 2 named files, 3 \${VAR} values)\n`,
      stderr: '',
    });
  });

  test('offline still fails on what it can check: an unknown key, a type, a reference', async () => {
    const file = writeConfig(`${PRODUCTION}  silences: [{ starts: 2024-01-01T00:00:00Z, ends: 2024-01-02T00:00:00Z, targets: [mx2] }]\nglobal2: {}\n`);
    const r = await cli(['validate', '--offline', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/:14:84 alerts\.silences\[0\]\.targets\[0\]: target "mx2" is not defined$/),
      expect.stringMatching(/:15:1 global2: unknown key "global2" \(did you mean "global"\?\)$/),
      '2 problems in the config',
    ]);
  });

  test('--help and the README describe --offline', async () => {
    const help = await cli(['validate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--offline/);
    expect(help.stdout).toMatch(/\$\{VAR\}/);
    expect(readFileSync('README.md', 'utf8')).toMatch(/validate --offline/);
  });
});
