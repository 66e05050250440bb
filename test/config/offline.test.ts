/**
 * Offline loading (`validate --offline`): syntax, types, names and references are checked; no `*_file` is read and
 * no `${ENV}` is expanded. A `${VAR}` stands for "some value": it is text (a number or boolean key cannot take one),
 * the text written around it must fit the key, and a pattern, format, enum or range passes when some value would
 * fit. Problems that compare it with another value are not reported when another value of the variable would
 * avoid them.
 */
import { describe, expect, test } from 'vitest';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfigText, type LoadResult } from '../../src/config/load.js';
import { FIXTURE_ENV, fixtureNames, fixtureReadFile, fixtureText, loadFixture } from './fixture.js';

/** An environment that records every variable asked for (offline asks for none). */
function watchedEnv(): { env: NodeJS.ProcessEnv; asked: string[] } {
  const asked: string[] = [];
  const env = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_t, k) => (asked.push(String(k)), undefined),
    has: (_t, k) => (asked.push(String(k)), false),
  });
  return { env, asked };
}

/** A readFile that records every path and answers nothing (offline asks for none). */
function watchedFiles(): { readFile: (p: string) => string; read: string[] } {
  const read: string[] = [];
  const readFile = (p: string): string => {
    read.push(p);
    throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
  };
  return { read, readFile };
}

function offline(yaml: string): { r: LoadResult; asked: string[]; read: string[] } {
  const { env, asked } = watchedEnv();
  const { readFile, read } = watchedFiles();
  return { r: loadConfigText('c.yaml', yaml, { env, readFile, offline: true }), asked, read };
}

function online(yaml: string, env: NodeJS.ProcessEnv = {}): LoadResult {
  return loadConfigText('c.yaml', yaml, { env, readFile: () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); } });
}

const lines = (r: LoadResult): string[] => (r.ok ? [] : r.issues.map(formatIssue));

/** `${VAR}` in keys with patterns, formats, enums: URLs, durations, addresses, listen, TLS mode, codes, dates. */
const PLACEHOLDERS = `
global:
  interval: "\${PROBE_INTERVAL}"
  timeout: 20s
  listen: "\${LISTEN_HOST:-127.0.0.1}:9469"
  ehlo: "\${EHLO_NAME}"
  dns_servers: ["\${DNS_SERVER}"]
modules:
  sub:
    tls: "\${TLS_MODE}"
    source_ip_address: "\${SOURCE_IP}"
    timeout: "\${MODULE_TIMEOUT}"
    expect: { rcpt: ["\${RCPT_CODES}"] }
    tls_config: { ca_file: "\${CA_FILE}", min_version: "\${MIN_TLS}", server_name: "\${TLS_NAME}" }
    auth: { username: "\${SMTP_USER}", password: "\${SMTP_PASS}", mechanism: "\${SMTP_MECH}" }
    send: { from: "\${MAIL_FROM}", to: ["\${MAIL_TO}"] }
    roundtrip: { mailbox: "\${MAILBOX_URL}", username: probe, password: "\${MAILBOX_PASS}", poll_interval: "\${POLL}" }
    probe_targets: ["\${PROBE_URL}"]
targets:
  - name: "\${TARGET_NAME}"
    url: "\${TARGET_URL}"
    module: sub
    max_mx: 3
    interval: "\${TARGET_INTERVAL}"
    labels: { site: "\${SITE}" }
alerts:
  defaults: { reminder_interval: "\${REMIND}" }
  rules:
    - { name: down, kind: down, receivers: [hook, chat] }
    - { name: slow, kind: slow, phase: "\${SLOW_PHASE}", over: "\${SLOW_OVER}", receivers: [hook] }
  silences:
    - { starts: "\${SILENCE_FROM}", ends: "\${SILENCE_TO}" }
  receivers:
    - { name: hook, type: webhook, url: "https://\${HOOK_HOST}/hook", secret: "\${HOOK_SECRET}", timeout: "\${HOOK_TIMEOUT}" }
    - { name: chat, type: slack, url: "\${SLACK_WEBHOOK_URL}" }
`;

describe('loadConfig offline: ${VAR} stands for some value', () => {
  test('a ${VAR} in a key with a pattern, format or enum is no problem offline (and reads no variable)', () => {
    const { r, asked } = offline(PLACEHOLDERS);
    expect(lines(r)).toEqual([]);
    expect(asked).toEqual([]);
    // the same file online, without its environment: one problem per variable
    expect(lines(online(PLACEHOLDERS)).filter((l) => /environment variable \w+ is not set/.test(l)).length).toBeGreaterThanOrEqual(20);
  });

  test('what the text fixes is still checked: a ${VAR} is text, and the text around it must fit', () => {
    const { r } = offline(`
global:
  concurrency: "\${CONCURRENCY}"
  web: { reload: "\${RELOAD}" }
targets:
  - name: a
    url: "ftp://\${HOST}"
  - name: b
    url: "smtp://\${HOST}:99999"
  - name: c
    url: smtp://mx.example.test
    labels: { site: "\${SITE}" }
    intervall: "\${INTERVAL}"
`);
    expect(lines(r)).toEqual([
      expect.stringMatching(/^c\.yaml:3:16 global\.concurrency: .*number.*\(whatever \$\{CONCURRENCY\} holds\)$/),
      expect.stringMatching(/^c\.yaml:4:18 global\.web\.reload: .*boolean.*\(whatever \$\{RELOAD\} holds\)$/),
      expect.stringMatching(/^c\.yaml:7:10 targets\[0\]\.url: .*\(whatever \$\{HOST\} holds\)$/),
      expect.stringMatching(/^c\.yaml:9:10 targets\[1\]\.url: .*port.*\(whatever \$\{HOST\} holds\)$/),
      expect.stringMatching(/^c\.yaml:13:5 targets\[2\]\.intervall: unknown key "intervall" \(did you mean "interval"\?\)$/),
    ]);
  });

  test('names and references are checked offline: unknown module, receiver, duplicate target', () => {
    const { r } = offline(`
targets:
  - { name: a, url: "\${URL_A}", module: nosuch }
  - { name: a, url: "\${URL_B}" }
alerts:
  rules: [{ name: down, kind: down, receivers: [pager] }]
`);
    expect(lines(r)).toEqual([
      'c.yaml:3:41 targets[0].module: module "nosuch" is not defined',
      'c.yaml:4:13 targets[1].name: duplicate target name "a" (also targets[0])',
      'c.yaml:6:49 alerts.rules[0].receivers[0]: receiver "pager" is not defined in alerts.receivers',
    ]);
  });

  test('a comparison between literal values is still made; one with a ${VAR} only if no value avoids it', () => {
    const literal = offline('global: { interval: 5s, timeout: 10s }\ntargets: [{ name: a, url: smtp://mx.example.test }]\n');
    expect(lines(literal.r)).toEqual(['c.yaml:1:21 global.interval: interval is shorter than the timeout (10s)']);
    const placeholder = offline('global: { interval: 30s, timeout: "${TIMEOUT}" }\ntargets: [{ name: a, url: smtp://mx.example.test }]\n');
    expect(lines(placeholder.r)).toEqual([]);
    const mx = offline('targets: [{ name: a, url: "${URL}", max_mx: 2 }]\n');
    expect(lines(mx.r)).toEqual([]);
    const notMx = offline('targets: [{ name: a, url: "smtp://${HOST}", max_mx: 2 }]\n');
    expect(lines(notMx.r)).toEqual(['c.yaml:1:53 targets[0].max_mx: max_mx applies to mx:// targets only']);
  });

  test('$$ is still a literal $ offline, never a placeholder', () => {
    const { r } = offline('targets: [{ name: a, url: "$${URL}" }]\nmodules: { m: { banner_pattern: "^220 .*$$" } }\n');
    expect(lines(r)).toEqual([expect.stringMatching(/^c\.yaml:1:27 targets\[0\]\.url: /)]);
    const ok = offline('targets: [{ name: a, url: smtp://mx.example.test }]\nmodules: { m: { banner_pattern: "^220 .*$$" } }\n');
    expect(ok.r.ok && ok.r.config.modules.m!.bannerPattern?.source).toBe('^220 .*$');
  });

  test('reads no file it names (ca_file, password_file, secret_file, url_file, routing_key_file), only the config', () => {
    const yaml = `
modules:
  sub:
    tls_config: { ca_file: /etc/ca.pem, cert_file: client.pem, key_file: client.key }
    auth: { username: u, password_file: /run/secrets/pw }
    send: { to: [probe@example.test] }
    roundtrip: { mailbox: imaps://imap.example.test, username: u, password_file: mailbox-pw }
targets: [{ name: a, url: smtp://mx.example.test, module: sub, interval: 5m }]
alerts:
  receivers:
    - { name: hook, type: webhook, url: https://hooks.example.test/x, secret_file: /run/secrets/hook }
    - { name: chat, type: slack, url_file: /run/secrets/slack }
    - { name: pd, type: pagerduty, routing_key_file: /run/secrets/pd }
`;
    const { r, read } = offline(yaml);
    expect(lines(r)).toEqual([]);
    expect(read).toEqual([]);
    expect(lines(online(yaml)).filter((l) => /cannot read/.test(l))).toHaveLength(8);
  });

  test('a structural problem with a file key is still reported: password and password_file both', () => {
    const { r } = offline('modules: { m: { auth: { username: u, password: "${P}", password_file: pw } } }\ntargets: [{ name: a, url: smtp://h.example.test, module: m }]\n');
    expect(lines(r)).toEqual([expect.stringMatching(/modules\.m\.auth\.password_file: give password or password_file, not both$/)]);
  });

  test('a secret written inline still warns offline; one from ${ENV} does not', () => {
    const { r } = offline('modules: { m: { auth: { username: u, password: hunter2 } }, n: { auth: { username: u, password: "${P}" } } }\ntargets: [{ name: a, url: smtp://h.example.test, module: m }]\n');
    expect(r.ok && r.warnings.map((w) => w.path)).toEqual(['modules.m.auth.password']);
  });
});

/** Fixtures whose only problems are files or variables: fine offline. */
const ONLINE_ONLY = new Set(['invalid-ca-file-missing.yaml', 'invalid-password-file-missing.yaml', 'invalid-receiver-secret-file-missing.yaml', 'invalid-env-missing.yaml']);

describe('loadConfig offline on the fixtures', () => {
  test.each(fixtureNames('invalid-').filter((n) => !ONLINE_ONLY.has(n)))('%s: the same problems as online', (name) => {
    const on = loadFixture(name);
    const off = loadConfigText(`fixtures/${name}`, fixtureText(name), { env: {}, readFile: fixtureReadFile, offline: true });
    const fileProblem = (l: string): boolean => /_file: cannot read |environment variable \w+ is not set/.test(l);
    expect(lines(off)).toEqual(lines(on).filter((l) => !fileProblem(l)));
  });

  test.each([...ONLINE_ONLY])('%s: a problem online only (a file or a variable), none offline', (name) => {
    expect(lines(loadFixture(name, {}))).not.toEqual([]);
    const off = loadConfigText(`fixtures/${name}`, fixtureText(name), { env: {}, readFile: fixtureReadFile, offline: true });
    expect(lines(off)).toEqual([]);
  });

  test.each(fixtureNames('valid-'))('%s: valid offline too, with no environment', (name) => {
    expect(lines(loadFixture(name, FIXTURE_ENV))).toEqual([]);
    const off = loadConfigText(`fixtures/${name}`, fixtureText(name), { env: {}, readFile: fixtureReadFile, offline: true });
    expect(lines(off)).toEqual([]);
  });
});
