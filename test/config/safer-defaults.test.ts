/**
 * Safer defaults in the config: `reminder_interval: 0s` means never (other durations stay > 0), and secrets
 * written inline (not `*_file`, not `${ENV}`) are warned about by the loader, which `validate` prints.
 */
import { describe, expect, test } from 'vitest';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfigText, type LoadResult } from '../../src/config/load.js';
import { runCli } from '../../src/cli/cli.js';

const readFile = (p: string): string => (p.endsWith('secret') || p.endsWith('password') ? 'from-a-file\n' : `unread ${p}`);

function load(yaml: string, env: NodeJS.ProcessEnv = {}): LoadResult {
  return loadConfigText('c.yaml', yaml, { env, readFile });
}

function warnings(r: LoadResult): string[] {
  if (!r.ok) throw new Error(`expected the config to load, got:\n${r.issues.map(formatIssue).join('\n')}`);
  return r.warnings.map(formatIssue);
}

const target = 'targets: [ { name: mx1, url: "smtp://mail.example.test:587", module: sub } ]\n';

describe('reminder_interval: 0s means never', () => {
  const alerts = (reminder: string) => `${target}modules: { sub: {} }
alerts:
  defaults: { reminder_interval: ${reminder} }
  rules: [ { name: down, kind: down, receivers: [am], reminder_interval: ${reminder} } ]
  receivers: [ { name: am, type: alertmanager, url: "http://alertmanager:9093" } ]
`;

  test('0s in alerts.defaults and in a rule: accepted, the rule carries 0 (never)', () => {
    const r = load(alerts('0s'));
    if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
    expect(r.config.alertRules[0]!.reminderIntervalMs).toBe(0);
  });

  test('other durations stay > 0: global.interval 0s and a receiver timeout 0s are still refused', () => {
    const r = load(`global: { interval: 0s }\n${target}modules: { sub: {} }\n`);
    expect(r.ok ? [] : r.issues.map(formatIssue)).toEqual(['c.yaml:1:21 global.interval: "0s" must be longer than zero']);
  });
});

describe('inline secrets: a warning each, the config still loads', () => {
  const inline = `${target}modules:
  sub:
    tls: starttls
    auth: { username: probe@example.test, password: hunter2 }
alerts:
  receivers:
    - { name: hook, type: webhook, url: "https://hooks.example.test/x", secret: s3cret }
    - { name: pd, type: pagerduty, routing_key: R0UT1NGKEY }
    - { name: chat, type: slack, url: "https://hooks.slack.test/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX" }
    - { name: creds, type: webhook, url: "https://user:pw@hooks.example.test/y" }
    - { name: query, type: alertmanager, url: "http://am.example.test:9093/?api_key=abc123" }
`;

  test('password:, secret:, routing_key:, a slack URL, a URL with credentials or a key in its query', () => {
    const w = warnings(load(inline));
    expect(w).toEqual([
      'c.yaml:5:53 modules.sub.auth.password: a secret written inline; use password_file or password: ${ENV_VAR}',
      'c.yaml:8:81 alerts.receivers[0].secret: a secret written inline; use secret_file or secret: ${ENV_VAR}',
      'c.yaml:9:49 alerts.receivers[1].routing_key: a secret written inline; use routing_key_file or routing_key: ${ENV_VAR}',
      'c.yaml:10:39 alerts.receivers[2].url: a secret written inline; use url_file or url: ${ENV_VAR}',
      'c.yaml:11:42 alerts.receivers[3].url: credentials written inline in the URL; use ${ENV_VAR} for the URL',
      'c.yaml:12:47 alerts.receivers[4].url: a key written inline in the URL\'s query; use ${ENV_VAR} for the URL',
    ]);
    expect(w.join('\n')).not.toMatch(/hunter2|s3cret|R0UT1NGKEY|XXXXXXXX|:pw@|abc123/);
  });

  test('the same values from ${ENV} (or from *_file): no warning', () => {
    const env = { PW: 'hunter2', HOOK: 's3cret', PD: 'R0UT1NGKEY', SLACK: 'https://hooks.slack.test/services/T/B/X', CREDS: 'https://u:p@h.example.test/' };
    const yaml = `${target}modules:
  sub:
    tls: starttls
    auth: { username: probe@example.test, password: "\${PW}" }
alerts:
  receivers:
    - { name: hook, type: webhook, url: "https://hooks.example.test/x", secret: "\${HOOK}" }
    - { name: pd, type: pagerduty, routing_key: "\${PD}" }
    - { name: chat, type: slack, url: "\${SLACK}" }
    - { name: creds, type: webhook, url: "\${CREDS}" }
    - { name: files, type: webhook, url: "https://hooks.example.test/z", secret_file: /run/secret }
    - { name: am, type: alertmanager, url: "http://alertmanager:9093/api" }
`;
    expect(warnings(load(yaml, env))).toEqual([]);
  });

  test('smtp-probe validate: exit 0, the ok line on stdout, one warning line per inline secret on stderr', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'smtp-probe-secrets-')), 'c.yaml');
    writeFileSync(file, `${target}modules:\n  sub:\n    tls: starttls\n    auth: { username: u@example.test, password: hunter2 }\n`);
    let stdout = '';
    let stderr = '';
    const code = await runCli(['validate', '--config', file], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} });
    expect(code).toBe(0);
    expect(stdout).toBe(`${file}: ok (1 target, 1 module, 0 alert rules)\n`);
    expect(stderr).toBe(`${file}:5:49 modules.sub.auth.password: warning: a secret written inline; use password_file or password: \${ENV_VAR}\n`);
  });
});

describe('roundtrip.max_messages', () => {
  const roundtrip = (extra: string) => `${target}modules:
  sub:
    tls: starttls
    send: { to: [probe@example.test] }
    roundtrip: { mailbox: "pop3s://pop.example.test", username: probe, password: "\${PW}", timeout: 30s${extra} }
`;

  test('default: plan/defaults.ts, the same number the mailbox clients fall back to', async () => {
    const { MAX_MESSAGES } = await import('../../src/mailbox/policy.js');
    const { DEFAULTS } = await import('../../src/plan/defaults.js');
    const r = load(roundtrip(''), { PW: 'pw' });
    if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
    expect(r.config.targets[0]!.plan.roundtrip?.mailbox.maxMessages).toBe(DEFAULTS.roundtrip.maxMessages);
    expect(MAX_MESSAGES).toBe(DEFAULTS.roundtrip.maxMessages);
  });

  test('given: carried to the mailbox settings; zero is refused', () => {
    const r = load(roundtrip(', max_messages: 200'), { PW: 'pw' });
    if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
    expect(r.config.targets[0]!.plan.roundtrip?.mailbox.maxMessages).toBe(200);
    const zero = load(roundtrip(', max_messages: 0'), { PW: 'pw' });
    expect(zero.ok ? [] : zero.issues.map((i) => i.path)).toEqual(['modules.sub.roundtrip.max_messages']);
  });
});
