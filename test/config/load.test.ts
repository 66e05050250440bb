import { describe, expect, test, vi } from 'vitest';
import { formatIssue } from '../../src/config/issues.js';
import type { LoadResult } from '../../src/config/load.js';
import type { ConfiguredTarget, LoadedConfig } from '../../src/config/resolve.js';
import { FIXTURE_ENV, fixtureNames, fixtureReadFile, fixtureText, loadFixture } from './fixture.js';

/**
 * Config tests in blackbox_exporter's style (config/config_test.go): one fixture per failure mode, each with the
 * exact `file:line:col key.path: message` lines a user sees. Where an expectation here differs from what the
 * loader prints today, the expectation is the behaviour we want (see the comment on the row).
 */

function loaded(r: LoadResult): LoadedConfig {
  if (!r.ok) throw new Error(`expected the config to load, got:\n${r.issues.map(formatIssue).join('\n')}`);
  return r.config;
}

function target(c: LoadedConfig, name: string): ConfiguredTarget {
  const t = c.targets.find((x) => x.name === name);
  if (!t) throw new Error(`no target ${name} (targets: ${c.targets.map((x) => x.name).join(', ')})`);
  return t;
}

const PEM = fixtureText('files/mail-ca.pem');

describe('valid configs', () => {
  test('valid-minimal.yaml: one target, everything else from the defaults and the built-in default module', () => {
    const c = loaded(loadFixture('valid-minimal.yaml'));
    expect(c.file).toBe('fixtures/valid-minimal.yaml');
    expect(c.global).toEqual({
      intervalMs: 60_000,
      timeoutMs: 10_000,
      phaseTimeoutMs: 5_000,
      concurrency: 64,
      workers: 'auto',
      listen: { host: '', port: 9469 },
      phaseHistograms: 'module',
      stateFile: '/var/lib/smtp-probe/state.json',
      history: 100,
      historyFile: null,
      dnsServers: null,
      ehlo: expect.any(String),
      web: {
        maxConnections: 512, maxConcurrentProbes: 32, headerTimeoutMs: 5_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, reload: true,
      },
    });
    expect(Object.keys(c.modules)).toEqual(['default']);
    expect(c.targets).toHaveLength(1);
    const t = c.targets[0]!;
    expect(t).toMatchObject({ name: 'mx1', url: 'smtp://mail.example.test:25', module: 'default', intervalMs: 60_000, labels: {} });
    expect(t.plan).toMatchObject({
      host: 'mail.example.test',
      port: 25,
      tls: 'opportunistic',
      tlsParams: { servername: 'mail.example.test', insecure: false },
      ehlo: c.global.ehlo,
      timeoutMs: 10_000,
      phaseTimeoutMs: 5_000,
      steps: ['banner', 'ehlo', 'starttls', 'noop', 'quit'],
      auth: null,
      send: null,
      expect: {},
      requireCapabilities: [],
      bannerPattern: null,
    });
    expect(t.meta).toEqual({ name: 'mx1', labels: {}, module: 'default', phaseHistograms: 'module', intervalMs: 60_000 });
    expect(c.staticLabelNames).toEqual([]);
    expect(c.alerts).toEqual({});
  });

  test("valid-full.yaml: every key of the config", () => {
    const c = loaded(loadFixture('valid-full.yaml'));
    expect(c.global).toEqual({
      intervalMs: 60_000,
      timeoutMs: 10_000,
      phaseTimeoutMs: 5_000,
      concurrency: 64,
      workers: 'auto',
      listen: { host: '', port: 9469 },
      phaseHistograms: 'target',
      stateFile: '/var/lib/smtp-probe/state.json',
      history: 200,
      historyFile: '/var/lib/smtp-probe/state.json.history',
      dnsServers: null,
      ehlo: expect.any(String),
      web: {
        maxConnections: 512, maxConcurrentProbes: 32, headerTimeoutMs: 5_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, reload: true,
      },
    });
    expect(Object.keys(c.modules).sort()).toEqual(['default', 'submission']);
    const m = c.modules.submission!;
    expect(m).toMatchObject({
      tls: 'starttls',
      ca: PEM,
      serverName: 'mail.example.test',
      minVersion: 'TLSv1.2',
      insecure: false,
      ehlo: 'probe.example.test',
      ipFamily: 4,
      sourceAddress: '192.0.2.10',
      requireCapabilities: ['PIPELINING', 'STARTTLS'],
      steps: ['banner', 'ehlo', 'starttls', 'auth', 'send', 'noop', 'quit'],
      probeTargets: ['smtp://mail.example.test:587'],
      phaseHistograms: null, // not set in the module: the global value applies
      hasCredentials: true,
    });

    const t = target(c, 'mx1-submission');
    expect(t).toMatchObject({ url: 'smtp://mail.example.test:587', module: 'submission', intervalMs: 30_000, labels: { env: 'prod' } });
    expect(t.plan).toMatchObject({
      host: 'mail.example.test',
      port: 587,
      tls: 'starttls',
      tlsParams: { servername: 'mail.example.test', ca: PEM, minVersion: 'TLSv1.2', insecure: false },
      ehlo: 'probe.example.test',
      ipFamily: 4,
      sourceAddress: '192.0.2.10',
      timeoutMs: 10_000,
      phaseTimeoutMs: 5_000,
      steps: ['banner', 'ehlo', 'starttls', 'auth', 'send', 'noop', 'quit'],
      // password_file holds "s3cret pass\n": one trailing newline stripped
      auth: { username: 'probe@example.test', password: 's3cret pass', mechanism: 'PLAIN', allowPlaintext: false },
      send: { from: 'probe@example.test', to: ['probe@example.test'], deliver: true },
      requireCapabilities: ['PIPELINING', 'STARTTLS'],
    });
    expect(t.plan.expect.rcpt).toMatchObject({ patterns: ['2xx'], negative: false });
    expect(Object.keys(t.plan.expect)).toEqual(['rcpt']);
    expect(t.meta).toEqual({ name: 'mx1-submission', labels: { env: 'prod' }, module: 'submission', phaseHistograms: 'target', intervalMs: 30_000 });
    expect(c.staticLabelNames).toEqual(['env']);

    expect(c.alerts.defaults).toEqual({ failure_threshold: 3, success_threshold: 2, reminder_interval: '1h', send_resolved: true });
    expect(c.alerts.rules?.map((r) => `${r.name}:${r.kind}`)).toEqual([
      'smtp_probe_down:down',
      'smtp_slow_accept:slow',
      'smtp_cert_expiring:certificate',
      'smtp_tls_dropped:capability',
    ]);
    expect(c.alerts.silences).toEqual([{ targets: ['mx1-submission'], starts: '2026-12-01T02:00:00Z', ends: '2026-12-01T04:00:00Z' }]);
    expect(c.alerts.receivers?.map((r) => `${r.name}:${r.type}`)).toEqual(['ops:webhook', 'am:alertmanager']);
  });

  test('valid-env.yaml: ${VAR}, ${VAR:-default} and $$ expanded inside values, from the env passed in', () => {
    const env = { ...FIXTURE_ENV, SMTP_PASSWORD: 'pa${NOT_EXPANDED}$$x' };
    const c = loaded(loadFixture('valid-env.yaml', env));
    expect(c.global.ehlo).toBe('probe.example.test'); // ${PROBE_EHLO:-fallback.example.test}, set
    expect(c.global.listen).toEqual({ host: '127.0.0.1', port: 9469 }); // ${PROBE_LISTEN_HOST:-127.0.0.1}, unset
    const t = target(c, 'mx1-submission');
    expect(t.url).toBe('smtp://mail.example.test:587'); // smtp://${MAIL_HOST}:587
    expect(t.plan.auth).toMatchObject({
      username: 'probe@example.test', // ${SMTP_USER:-probe@example.test}, unset
      password: 'pa${NOT_EXPANDED}$$x', // a value from the environment is taken as it is, never expanded again
    });
    expect(t.plan.bannerPattern?.source).toBe('^220 mail\\.example\\.test ESMTP$'); // $$ → $
    expect(t.labels).toEqual({ budget: '$5 a month' });
    expect(c.staticLabelNames).toEqual(['budget']);
  });

  test('valid-env.yaml: the default applies to an unset variable, the variable wins when set', () => {
    const c = loaded(loadFixture('valid-env.yaml', { ...FIXTURE_ENV, PROBE_EHLO: undefined, SMTP_USER: 'other@example.test' }));
    expect(c.global.ehlo).toBe('fallback.example.test');
    expect(target(c, 'mx1-submission').plan.auth?.username).toBe('other@example.test');
  });

  test('valid-env.yaml: variables come from the env passed in, never from process.env', () => {
    vi.stubEnv('MAIL_HOST', 'leaked.example.test');
    try {
      const r = loadFixture('valid-env.yaml', { ...FIXTURE_ENV, MAIL_HOST: undefined });
      expect(r.ok).toBe(false);
      expect(JSON.stringify(r)).not.toContain('leaked.example.test');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  // The unset variable is the problem; the empty URL left behind must not be reported as a second, misleading one.
  test('valid-env.yaml without MAIL_HOST: one issue for the variable, not another for the URL it leaves empty', () => {
    const r = loadFixture('valid-env.yaml', { ...FIXTURE_ENV, MAIL_HOST: undefined });
    expect(r.ok ? [] : r.issues.map(formatIssue)).toEqual([
      'fixtures/valid-env.yaml:14:10 targets[0].url: environment variable MAIL_HOST is not set (use ${MAIL_HOST:-default} for a default)',
    ]);
  });

  test('valid-modules.yaml: steps default from the TLS mode, auth and send; explicit steps are completed and ordered', () => {
    const c = loaded(loadFixture('valid-modules.yaml'));
    const steps = Object.fromEntries(c.targets.map((t) => [t.name, t.plan.steps]));
    expect(steps).toEqual({
      mx1: ['banner', 'ehlo', 'starttls', 'noop', 'quit'], // opportunistic: STARTTLS when offered
      'mx1-smtps': ['banner', 'ehlo', 'noop', 'quit'], // implicit TLS: no STARTTLS
      'lo6-plain': ['banner', 'ehlo', 'noop', 'quit'], // tls: none
      'submission-auth': ['banner', 'ehlo', 'starttls', 'auth', 'noop', 'quit'], // credentials → auth
      'relay-check': ['banner', 'ehlo', 'starttls', 'send', 'noop', 'quit'], // send.to → send
      'explicit-steps': ['banner', 'ehlo', 'starttls', 'quit'], // [starttls, quit] + banner and ehlo it needs
    });
    const tls = Object.fromEntries(c.targets.map((t) => [t.name, `${t.plan.tls} ${t.plan.port}`]));
    expect(tls).toEqual({
      mx1: 'opportunistic 25',
      'mx1-smtps': 'implicit 465',
      'lo6-plain': 'none 2525',
      'submission-auth': 'starttls 587',
      'relay-check': 'opportunistic 25',
      'explicit-steps': 'opportunistic 25',
    });
  });

  test('valid-modules.yaml: timeouts and intervals, module over global, phase_timeout capped by the timeout', () => {
    const c = loaded(loadFixture('valid-modules.yaml'));
    expect(c.global).toMatchObject({ intervalMs: 120_000, timeoutMs: 20_000, phaseTimeoutMs: 8_000, phaseHistograms: 'none', ehlo: 'probe.example.test' });
    const t = (n: string) => target(c, n);
    expect([t('mx1').intervalMs, t('mx1').plan.timeoutMs, t('mx1').plan.phaseTimeoutMs]).toEqual([120_000, 20_000, 8_000]);
    // module plain: timeout 3s, phase_timeout 5s → the phase timeout cannot outlast the run
    expect([t('lo6-plain').intervalMs, t('lo6-plain').plan.timeoutMs, t('lo6-plain').plan.phaseTimeoutMs]).toEqual([10_000, 3_000, 3_000]);
    expect(t('lo6-plain').plan).toMatchObject({ host: '::1', url: 'smtp://[::1]:2525' });
  });

  test('valid-modules.yaml: module phase_histograms overrides global; targets without module get the built-in default', () => {
    const c = loaded(loadFixture('valid-modules.yaml'));
    const hist = Object.fromEntries(c.targets.map((t) => [t.name, t.meta.phaseHistograms]));
    // The fixture writes true/false, as configs before 0.2.0 did: target and none.
    expect(hist).toEqual({
      mx1: 'none',
      'mx1-smtps': 'target', // module implicit: phase_histograms: true over global false
      'lo6-plain': 'none',
      'submission-auth': 'none',
      'relay-check': 'none',
      'explicit-steps': 'none',
    });
    expect(target(c, 'mx1').module).toBe('default');
    expect(target(c, 'mx1').meta.module).toBe('default');
    expect(c.modules.default).toMatchObject({ tls: null, auth: null, send: null, steps: null, hasCredentials: false });
  });

  test('valid-modules.yaml: labels and staticLabelNames (sorted union over targets)', () => {
    const c = loaded(loadFixture('valid-modules.yaml'));
    expect(target(c, 'mx1').labels).toEqual({ env: 'prod', site: 'fra1' });
    expect(target(c, 'mx1-smtps').labels).toEqual({ env: 'prod' });
    expect(target(c, 'lo6-plain').labels).toEqual({});
    expect(c.staticLabelNames).toEqual(['env', 'site']);
  });

  test('valid-modules.yaml: tls_config files are read; send defaults; password_file loses exactly one trailing newline', () => {
    const c = loaded(loadFixture('valid-modules.yaml'));
    expect(target(c, 'mx1-smtps').plan.tlsParams).toEqual({
      servername: 'mx1.example.test',
      ca: undefined,
      cert: fixtureText('files/client.crt'),
      key: fixtureText('files/client.key'),
      minVersion: undefined,
      insecure: true,
    });
    // files/two-newlines-password is "pw-two-newlines\n\n"
    expect(target(c, 'submission-auth').plan.auth).toEqual({
      username: 'probe@example.test',
      password: 'pw-two-newlines\n',
      mechanism: null,
      allowPlaintext: false,
    });
    expect(target(c, 'relay-check').plan.send).toMatchObject({
      from: 'smtp-probe@probe.example.test', // smtp-probe@<ehlo>
      to: ['postmaster@example.test'],
      deliver: false,
    });
  });

  test('password_file: a CRLF line ending is stripped too', () => {
    const read = (p: string) => (p.endsWith('smtp-password') ? 'crlf-pw\r\n' : fixtureReadFile(p));
    const c = loaded(loadFixture('valid-full.yaml', FIXTURE_ENV, read));
    expect(target(c, 'mx1-submission').plan.auth?.password).toBe('crlf-pw');
  });

  test('digest: the same file loads to the same digest', () => {
    expect(loaded(loadFixture('valid-full.yaml')).digest).toBe(loaded(loadFixture('valid-full.yaml')).digest);
  });

  // A reload after rotating a password_file (or a CA file) must not be mistaken for "nothing changed".
  test('digest: changes when a password_file or ca_file changes content, not only when the YAML does', () => {
    const before = loaded(loadFixture('valid-full.yaml')).digest;
    const rotated = (p: string) => (p.endsWith('smtp-password') ? 'rotated-pw\n' : fixtureReadFile(p));
    const newCa = (p: string) => (p.endsWith('mail-ca.pem') ? `${PEM}${PEM}` : fixtureReadFile(p));
    expect(loaded(loadFixture('valid-full.yaml', FIXTURE_ENV, rotated)).digest).not.toBe(before);
    expect(loaded(loadFixture('valid-full.yaml', FIXTURE_ENV, newCa)).digest).not.toBe(before);
  });
});

/**
 * One fixture per failure mode and the exact lines the user sees. Paths in messages are as written in the file;
 * `*_file` paths are relative to the repository root.
 */
const INVALID: Record<string, string[]> = {
  // yaml errors carry offsets (pos), not linePos, when prettyErrors is false: must not fall back to 1:1.
  'invalid-yaml-syntax.yaml': ['fixtures/invalid-yaml-syntax.yaml:5:13 YAML: Nested mappings are not allowed in compact mappings'],
  'invalid-duplicate-yaml-key.yaml': ['fixtures/invalid-duplicate-yaml-key.yaml:5:3 YAML: Map keys must be unique'],
  'invalid-unknown-top-level-key.yaml': ['fixtures/invalid-unknown-top-level-key.yaml:2:1 scrape_interval: unknown key "scrape_interval"'],
  // a transposition is the commonest typo; it should get a suggestion like a one-letter slip does
  'invalid-top-level-key-transposed.yaml': [
    'fixtures/invalid-top-level-key-transposed.yaml:4:1 tragets: unknown key "tragets" (did you mean "targets"?)',
  ],
  'invalid-typo-nested-key.yaml': [
    'fixtures/invalid-typo-nested-key.yaml:6:7 modules.submission.tls_config.servername: unknown key "servername" (did you mean "server_name"?)',
  ],
  'invalid-wrong-type.yaml': ['fixtures/invalid-wrong-type.yaml:3:16 global.concurrency: expected number, received string'],
  'invalid-duration-number.yaml': [
    'fixtures/invalid-duration-number.yaml:3:12 global.timeout: must be a duration string with a unit, like 500ms, 10s, 5m',
  ],
  'invalid-duration-without-unit.yaml': ['fixtures/invalid-duration-without-unit.yaml:3:13 global.interval: "30" needs a unit, e.g. 30s or 30ms'],
  'invalid-duration-unit.yaml': ['fixtures/invalid-duration-unit.yaml:3:12 global.timeout: "10sec" is not a duration (like 500ms, 10s, 5m, 1h)'],
  'invalid-concurrency-zero.yaml': ['fixtures/invalid-concurrency-zero.yaml:3:16 global.concurrency: Too small: expected number to be >=1'],
  'invalid-listen-address.yaml': ['fixtures/invalid-listen-address.yaml:3:11 global.listen: must be HOST:PORT or :PORT'],
  // the listen pattern takes any 1-5 digits; the server would fail to bind at startup instead
  'invalid-listen-port-range.yaml': ['fixtures/invalid-listen-port-range.yaml:3:11 global.listen: port 94690 is out of range'],
  'invalid-url-scheme.yaml': [
    'fixtures/invalid-url-scheme.yaml:4:10 targets[0].url: "http://mail.example.test": unknown scheme http:// (use smtp://, smtps:// or mx://)',
  ],
  // the password must not be echoed into logs/CI output, and the advice must fit a config file, not the CLI
  'invalid-url-credentials.yaml': [
    'fixtures/invalid-url-credentials.yaml:4:10 targets[0].url: "smtp://probe:***@mail.example.test:587": credentials do not belong in a URL; put username and password_file in the module\'s auth:',
  ],
  'invalid-url-path.yaml': [
    'fixtures/invalid-url-path.yaml:4:10 targets[0].url: "smtp://mail.example.test:25/inbox": a target URL has no path, query or fragment',
  ],
  'invalid-url-ipv6-brackets.yaml': [
    'fixtures/invalid-url-ipv6-brackets.yaml:4:10 targets[0].url: "smtp://2001:db8::25": cannot read host and port (IPv6 addresses go in brackets: smtp://[::1]:25)',
  ],
  'invalid-target-without-name.yaml': ['fixtures/invalid-target-without-name.yaml:3:5 targets[0].name: is required'],
  'invalid-target-without-url.yaml': ['fixtures/invalid-target-without-url.yaml:3:5 targets[0].url: is required'],
  'invalid-duplicate-target-name.yaml': [
    'fixtures/invalid-duplicate-target-name.yaml:5:11 targets[1].name: duplicate target name "mx1" (also targets[0])',
  ],
  'invalid-unknown-module.yaml': [
    'fixtures/invalid-unknown-module.yaml:8:13 targets[0].module: module "submision" is not defined (modules: submission)',
  ],
  'invalid-interval-shorter-than-timeout.yaml': [
    "fixtures/invalid-interval-shorter-than-timeout.yaml:7:15 targets[0].interval: interval 5s of target \"mx1\" is shorter than its timeout of 10s",
  ],
  // one problem, reported once, where it is: not a second time at targets[0].name, a key that says nothing about intervals
  'invalid-global-interval-shorter-than-timeout.yaml': [
    'fixtures/invalid-global-interval-shorter-than-timeout.yaml:3:13 global.interval: interval is shorter than the timeout (10s)',
  ],
  'invalid-tls-mode.yaml': [
    'fixtures/invalid-tls-mode.yaml:4:10 modules.submission.tls: Invalid option: expected one of "none"|"opportunistic"|"starttls"|"implicit"',
  ],
  'invalid-min-version.yaml': [
    'fixtures/invalid-min-version.yaml:6:20 modules.submission.tls_config.min_version: Invalid option: expected one of "TLS10"|"TLS11"|"TLS12"|"TLS13"',
  ],
  // zod's bare "Invalid input" for a union of literals says nothing about what is allowed
  'invalid-ip-protocol.yaml': ['fixtures/invalid-ip-protocol.yaml:4:18 modules.v4only.ip_protocol: must be 4 or 6 (omit it for either)'],
  // point at the bad element, not at the list
  'invalid-expect-code.yaml': [
    'fixtures/invalid-expect-code.yaml:8:11 modules.relay-test.expect.rcpt[1]: "6xx" is not a reply code (like 250, 2xx, 55x) or an enhanced code (like 5.7.1, 5.7.x)',
  ],
  // connect IS a phase (README "Phases"); "unknown key" alone sends the user looking for a typo
  'invalid-expect-phase-without-reply.yaml': [
    'fixtures/invalid-expect-phase-without-reply.yaml:5:7 modules.strict.expect.connect: unknown key "connect" (phases with a reply: banner, ehlo, helo, starttls, ehlo_tls, auth, mail, rcpt, data, message, noop, rset, quit)',
  ],
  // without send: the module never sends RCPT, so this negative relay check could never fail
  'invalid-expect-phase-not-run.yaml': [
    'fixtures/invalid-expect-phase-not-run.yaml:5:13 modules.relay-test.expect.rcpt: the module never reaches the rcpt phase (it has no send step; add send.to)',
  ],
  'invalid-unknown-step.yaml': [
    'fixtures/invalid-unknown-step.yaml:4:21 modules.basic.steps[1]: Invalid option: expected one of "banner"|"ehlo"|"starttls"|"auth"|"send"|"noop"|"quit"',
  ],
  'invalid-auth-step-without-credentials.yaml': [
    'fixtures/invalid-auth-step-without-credentials.yaml:5:12 modules.submission.steps: the auth step needs credentials (auth: in the module, or --auth-user)',
  ],
  'invalid-steps-without-starttls.yaml': [
    'fixtures/invalid-steps-without-starttls.yaml:5:12 modules.submission.steps: tls: starttls needs the starttls step (add starttls to steps)',
  ],
  'invalid-steps-without-auth.yaml': [
    'fixtures/invalid-steps-without-auth.yaml:6:12 modules.submission.steps: auth: needs the auth step (add auth to steps)',
  ],
  'invalid-steps-without-send.yaml': [
    'fixtures/invalid-steps-without-send.yaml:6:12 modules.relay.steps: send: needs the send step (add send to steps)',
  ],
  'invalid-password-and-password-file.yaml': [
    'fixtures/invalid-password-and-password-file.yaml:8:22 modules.submission.auth.password_file: give password or password_file, not both',
  ],
  'invalid-password-file-missing.yaml': [
    'fixtures/invalid-password-file-missing.yaml:7:22 modules.submission.auth.password_file: cannot read files/no-such-password: ENOENT',
  ],
  'invalid-ca-file-missing.yaml': [
    'fixtures/invalid-ca-file-missing.yaml:6:16 modules.submission.tls_config.ca_file: cannot read files/no-such-ca.pem: ENOENT',
  ],
  'invalid-env-missing.yaml': [
    'fixtures/invalid-env-missing.yaml:7:17 modules.submission.auth.password: environment variable SMTP_PROBE_PASSWORD is not set (use ${SMTP_PROBE_PASSWORD:-default} for a default)',
  ],
  'invalid-label-reserved.yaml': ['fixtures/invalid-label-reserved.yaml:6:15 targets[0].labels.target: key is a label smtp-probe sets itself'],
  'invalid-label-name.yaml': ['fixtures/invalid-label-name.yaml:6:20 targets[0].labels.data-center: key must be a Prometheus label name'],
  'invalid-banner-pattern.yaml': [
    'fixtures/invalid-banner-pattern.yaml:4:21 modules.banner.banner_pattern: Invalid regular expression: /^220 (mail\\.example\\.test/: Unterminated group',
  ],
  'invalid-alert-unknown-receiver.yaml': [
    'fixtures/invalid-alert-unknown-receiver.yaml:9:19 alerts.rules[0].receivers[0]: receiver "pager" is not defined in alerts.receivers',
  ],
  'invalid-alert-kind.yaml': [
    'fixtures/invalid-alert-kind.yaml:8:13 alerts.rules[0].kind: unknown kind: must be one of down, slow, certificate, capability, posture',
  ],
  'invalid-silence-ends-before-start.yaml': ['fixtures/invalid-silence-ends-before-start.yaml:9:13 alerts.silences[0].ends: ends before it starts'],
  // rules' targets are checked; a silence naming a missing target silently silences nothing
  'invalid-silence-unknown-target.yaml': [
    'fixtures/invalid-silence-unknown-target.yaml:7:17 alerts.silences[0].targets[0]: target "mx-1" is not defined',
  ],
  // validate everything at load time, not at the first alert
  'invalid-receiver-secret-file-missing.yaml': [
    'fixtures/invalid-receiver-secret-file-missing.yaml:10:20 alerts.receivers[0].secret_file: cannot read files/no-such-hook-secret: ENOENT',
  ],
  'invalid-two-problems.yaml': [
    'fixtures/invalid-two-problems.yaml:3:12 global.timeout: must be a duration string with a unit, like 500ms, 10s, 5m',
    'fixtures/invalid-two-problems.yaml:7:13 targets[0].module: module "submission" is not defined',
  ],
  // An empty or truncated file would otherwise load as "0 targets" and a reload would drop every target
  'invalid-defines-nothing.yaml': [
    'fixtures/invalid-defines-nothing.yaml:1:1 the config defines nothing: no target and no module (an empty or truncated file?)',
  ],
  // README: validate reports "every problem at once" — a schema error must not hide the unreadable file
  'invalid-schema-and-file-problems.yaml': [
    'fixtures/invalid-schema-and-file-problems.yaml:3:3 global.concurency: unknown key "concurency" (did you mean "concurrency"?)',
    'fixtures/invalid-schema-and-file-problems.yaml:9:22 modules.submission.auth.password_file: cannot read files/no-such-password: ENOENT',
  ],
};

describe('invalid configs: one fixture per failure mode, exact issue lines', () => {
  test('every invalid-*.yaml fixture has a row, and every row a fixture', () => {
    expect(Object.keys(INVALID).sort()).toEqual(fixtureNames('invalid-'));
  });

  test.each(Object.entries(INVALID))('%s', (name, lines) => {
    const r = loadFixture(name);
    expect(r.ok ? ['(loaded without an issue)'] : r.issues.map(formatIssue)).toEqual(lines);
  });

  test('no issue line echoes a secret', () => {
    const secrets = ['hunter2', 's3cret pass', FIXTURE_ENV.SMTP_PASSWORD!];
    for (const name of Object.keys(INVALID)) {
      const r = loadFixture(name);
      const text = r.ok ? '' : r.issues.map(formatIssue).join('\n');
      for (const s of secrets) expect(text, `${name} shows "${s}"`).not.toContain(s);
    }
  });

  test.each([
    ['empty', ''],
    ['comments only', '# nothing here yet\n'],
    ['an empty document', '---\n'],
  ])('a config that is %s defines nothing: one issue at 1:1', (_name, text) => {
    const r = loadFixture('empty.yaml', FIXTURE_ENV, () => text);
    expect(r.ok ? [] : r.issues.map(formatIssue)).toEqual([
      'fixtures/empty.yaml:1:1 the config defines nothing: no target and no module (an empty or truncated file?)',
    ]);
  });

  test('modules alone (for /probe) are something: they load', () => {
    expect(loadFixture('modules-only.yaml', FIXTURE_ENV, () => 'modules:\n  plain: { tls: none }\n').ok).toBe(true);
  });

  test('a config file that cannot be read is one issue at 1:1, not an exception', () => {
    const r = loadFixture('no-such-config.yaml');
    expect(r.ok ? [] : r.issues.map(formatIssue)).toEqual(['fixtures/no-such-config.yaml:1:1 cannot read the config: ENOENT']);
  });
});
