/**
 * The example configs (examples/full.yaml, minimal.yaml, starttls-auth.yaml) load without a problem, through the
 * same loader `smtp-probe validate` uses. The files they name (a CA bundle, password files) exist on a user's
 * machine, not here, so loadConfig gets a readFile that answers placeholders for exactly those paths (and reads
 * the config itself from disk); `${ENV}` references get an environment. minimal.yaml names no file and goes
 * through the real `validate` command as well. examples/smtp-probe.schema.json must equal `smtp-probe schema`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../../src/cli/cli.js';
import { loadConfig } from '../../src/config/load.js';
import { configJsonSchema } from '../../src/config/schema.js';
import { EXAMPLE_ENV, example, loadExample, problems, readExample } from './support.js';

const CONFIGS = ['full.yaml', 'minimal.yaml', 'starttls-auth.yaml', 'alerts.yaml', 'mx-roundtrip.yaml'];

describe('example configs', () => {
  test.each(CONFIGS)('%s starts with the yaml-language-server schema line', (file) => {
    expect(readExample(file).split('\n')[0]).toBe('# yaml-language-server: $schema=./smtp-probe.schema.json');
  });

  test.each(CONFIGS)('%s loads without problems', (file) => {
    const { result } = loadExample(file);
    expect(problems(result)).toEqual([]);
  });

  test.each(CONFIGS)('%s has no inline secret', (file) => {
    // Secrets come from *_file keys or ${ENV}: a password/secret/routing_key written as a literal is a mistake.
    const inline: string[] = [];
    const walk = (v: unknown, path: string): void => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (['password', 'secret', 'routing_key'].includes(k) && !/^\$\{[A-Z0-9_]+\}$/.test(String(x))) inline.push(`${path}.${k}`);
          walk(x, `${path}.${k}`);
        }
      }
    };
    walk(parse(readExample(file)), '');
    expect(inline).toEqual([]);
  });

  test.each(CONFIGS)('%s gets no warning from the loader (validate prints none)', (file) => {
    const { result } = loadExample(file);
    expect(result.ok ? result.warnings.map((w) => `${w.path}: ${w.message}`) : problems(result)).toEqual([]);
  });

  test('alerts.yaml has one receiver of each kind, bound with its secrets, and every rule kind', () => {
    const { result } = loadExample('alerts.yaml');
    if (!result.ok) throw new Error(problems(result).join('\n'));
    expect(result.config.receivers.map((r) => r.type).sort()).toEqual(['alertmanager', 'pagerduty', 'slack', 'webhook']);
    expect(new Set(result.config.alertRules.map((r) => r.kind))).toEqual(new Set(['down', 'slow', 'certificate', 'capability']));
    expect(result.config.silences).toHaveLength(1);
  });

  test('mx-roundtrip.yaml: an mx:// target with max_mx and DNS servers, a round trip over IMAPS', () => {
    const { result } = loadExample('mx-roundtrip.yaml');
    if (!result.ok) throw new Error(problems(result).join('\n'));
    const [mx, delivery] = result.config.targets;
    expect(mx!.plan).toMatchObject({ mx: { maxHosts: 3 }, dnsServers: ['192.0.2.53:53'], host: 'example.test', port: 25 });
    expect(delivery!.plan.dnsServers).toEqual(['192.0.2.53:53', '192.0.2.54:53']);
    expect(delivery!.plan.roundtrip).toMatchObject({ timeoutMs: 60_000, pollMs: 2000, mailbox: { protocol: 'imaps', port: 993, folders: ['INBOX', 'Junk'] } });
    expect(result.config.alertRules.map((r) => r.scope)).toEqual(['host', 'domain', 'host']);
  });

  test('minimal.yaml passes the real `smtp-probe validate` command', async () => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['validate', '--config', example('minimal.yaml')], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: {},
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/: ok \(1 targets?, 0 modules, 0 alert rules\)/);
  });

  test('full.yaml reads exactly the files it names, and shows the parts the brief asks for', () => {
    const { result, requested } = loadExample('full.yaml');
    expect(problems(result)).toEqual([]);
    if (!result.ok) return;
    expect(requested.sort()).toEqual([
      '/etc/smtp-probe/mail-ca.pem',
      '/run/secrets/pagerduty_routing_key',
      '/run/secrets/smtp_probe_hook_secret',
      '/run/secrets/smtp_probe_password',
    ]);
    const c = result.config;
    expect(Object.keys(c.modules).sort()).toEqual(['default', 'mx', 'open_relay', 'posture', 'smtps', 'submission']);

    // The open-relay check: a negative RCPT expectation to an outside address.
    const relay = c.modules.open_relay!;
    expect(relay.expect.rcpt?.negative).toBe(true);
    expect(relay.send?.to.some((a) => !a.endsWith('@example.test'))).toBe(true);

    // Submission: STARTTLS required, TLS settings, credentials from the placeholder file (newline stripped).
    const sub = c.modules.submission!;
    expect(sub.tls).toBe('starttls');
    expect(sub.ca).toContain('BEGIN CERTIFICATE');
    expect(sub.serverName).toBe('mail.example.test');
    expect(sub.minVersion).toBe('TLSv1.2');
    expect(sub.auth?.password).toBe('placeholder-password');
    expect(sub.auth?.username).toBe('probe@example.test'); // ${SMTP_PROBE_USER:-...} default
    expect(sub.hasCredentials).toBe(true);
    expect(sub.probeTargets).toEqual(['smtp://mail.example.test:587']);
    expect(sub.requireCapabilities.length).toBeGreaterThan(0);
    expect(c.modules.smtps!.tls).toBe('implicit');
    // Posture: every 6h, a validating resolver named, a check's own keys under its name.
    expect(c.modules.posture!.posture).toMatchObject({ everyMs: 6 * 3_600_000, dnsServer: '127.0.0.1:53', options: { certificate: { warn_days: 21, fail_days: 7 } } });
    expect(c.targets.find((t) => t.module === 'posture')?.url).toBe('mx://example.test:25');

    // Targets: labels and their own intervals; every target's interval leaves room for its timeout.
    expect(c.targets.length).toBeGreaterThanOrEqual(5);
    expect(c.targets.some((t) => t.intervalMs !== c.global.intervalMs)).toBe(true);
    expect(c.targets.every((t) => Object.keys(t.labels).length > 0)).toBe(true);
    expect(c.targets.find((t) => t.module === 'mx')?.plan.port).toBe(25);

    // Alerts: every rule kind, every receiver type, secrets by *_file or ${ENV} only.
    const kinds = new Set(c.alerts.rules?.map((r) => r.kind));
    expect([...kinds].sort()).toEqual(['capability', 'certificate', 'down', 'posture', 'slow']);
    const receivers = c.alerts.receivers ?? [];
    expect(new Set(receivers.map((r) => r.type))).toEqual(new Set(['webhook', 'alertmanager', 'slack', 'pagerduty']));
    for (const r of receivers) {
      expect(r).not.toHaveProperty('secret');
      expect(r).not.toHaveProperty('routing_key');
    }
    expect(receivers.find((r) => r.type === 'slack')?.url).toBe(EXAMPLE_ENV.SLACK_WEBHOOK_URL);
  });

  test('full.yaml takes the Slack URL from the environment and the username default can be overridden', () => {
    const missing = loadExample('full.yaml', {});
    expect(missing.result.ok).toBe(false);
    expect(problems(missing.result).join('\n')).toMatch(/environment variable SLACK_WEBHOOK_URL is not set/);

    const other = loadExample('full.yaml', { ...EXAMPLE_ENV, SMTP_PROBE_USER: 'monitor@example.test' });
    expect(other.result.ok && other.result.config.modules.submission!.auth?.username).toBe('monitor@example.test');
  });

  test('without the stand-ins, a missing secret file is reported with its key path', (ctx) => {
    if (existsSync('/run/secrets/smtp_probe_password')) ctx.skip('this machine has /run/secrets/smtp_probe_password');
    const file = example('full.yaml');
    const r = loadConfig(file, { env: EXAMPLE_ENV, readFile: (p) => readFileSync(p, 'utf8') });
    expect(problems(r).join('\n')).toMatch(/modules\.submission\.auth\.password_file: cannot read \/run\/secrets\/smtp_probe_password/);
  });

  test('starttls-auth.yaml: STARTTLS, AUTH, a message, and /probe limited to its own URL', () => {
    const { result, requested } = loadExample('starttls-auth.yaml');
    expect(problems(result)).toEqual([]);
    if (!result.ok) return;
    expect(requested).toEqual(['/run/secrets/smtp_password']);
    const sub = result.config.modules.submission!;
    expect(sub.tls).toBe('starttls');
    expect(sub.auth?.mechanism).toBe('PLAIN');
    expect(sub.send?.to).toEqual(['probe@example.test']);
    expect(sub.probeTargets).toEqual(result.config.targets.filter((t) => t.module === 'submission').map((t) => t.url));
    expect(result.config.targets[0]!.plan.steps).toEqual(['banner', 'ehlo', 'starttls', 'auth', 'send', 'noop', 'quit']);
  });
});

describe('examples/smtp-probe.schema.json', () => {
  test('equals the output of `smtp-probe schema` (regenerate: node dist/src/cli/main.js schema > examples/smtp-probe.schema.json)', () => {
    const committed = readFileSync(example('smtp-probe.schema.json'), 'utf8');
    expect(committed).toBe(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  });
});
