/**
 * Every smtp-probe config in examples/ (each declares the schema on its first line) passes `smtp-probe validate
 * --offline` on any machine: no secret file, no environment. The ConfigMap's config too.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../../src/cli/cli.js';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfigText } from '../../src/config/load.js';
import { example, readExample } from './support.js';

const SCHEMA_LINE = '# yaml-language-server: $schema=./smtp-probe.schema.json';
const CONFIGS = readdirSync(example('.'))
  .filter((f) => /\.ya?ml$/.test(f) && readExample(f).split('\n')[0] === SCHEMA_LINE)
  .sort();

describe('examples pass validate --offline', () => {
  test('the configs found are the five example configs', () => {
    expect(CONFIGS).toEqual(['alerts.yaml', 'full.yaml', 'minimal.yaml', 'mx-roundtrip.yaml', 'starttls-auth.yaml']);
  });

  test.each(CONFIGS)('%s: exit 0 with no environment and no secret files', async (file) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['validate', '--offline', '--config', example(file)], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/: ok offline \(/);
  });

  test('kubernetes/configmap.yaml: its config.yaml passes offline', () => {
    const cm = parseAllDocuments(readExample('kubernetes/configmap.yaml')).map((d) => d.toJS() as { data?: Record<string, string> })[0]!;
    const text = cm.data?.['config.yaml'];
    expect(text).toBeTruthy();
    const r = loadConfigText('configmap.yaml', text!, { env: {}, readFile: () => { throw new Error('offline reads no file'); }, offline: true });
    expect(r.ok ? [] : r.issues.map(formatIssue)).toEqual([]);
  });
});
