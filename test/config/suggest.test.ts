/** "did you mean" for a misspelt key knows every key of the schema, the newer ones included. */
import { describe, expect, test } from 'vitest';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfigText } from '../../src/config/load.js';

const noFiles = (): string => {
  throw new Error('no file is read in this test');
};

function problems(yaml: string): string[] {
  const r = loadConfigText('typo.yaml', yaml, { env: {}, readFile: noFiles });
  return r.ok ? [] : r.issues.map(formatIssue);
}

describe('unknown keys', () => {
  test.each([
    ['modules:\n  m:\n    thresolds: { warning: 2s }\n', 'thresholds'],
    ['modules:\n  m:\n    roundtrip: { mailbox: "pop3s://127.0.0.1", username: u, password: p, max_mesages: 10 }\n    send: { to: [a@b.test] }\n', 'max_messages'],
    ['global:\n  web: { max_conections: 10 }\nmodules: { m: {} }\n', 'max_connections'],
    ['global:\n  intervall: 60s\nmodules: { m: {} }\n', 'interval'],
  ])('%s suggests %s', (yaml, want) => {
    expect(problems(yaml).join('\n')).toContain(`(did you mean "${want}"?)`);
  });
});
