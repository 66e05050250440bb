/**
 * No credential in any string that leaves a session. A server echoes the line that carried the secret (the AUTH
 * PLAIN / XOAUTH2 line, LOGIN's password answer) inside replies malformed or valid, split across lines, cut at
 * the quote limit, broken by control bytes, or in the next connection's banner and in what STARTTLS discards.
 * Every channel is searched for the password raw and in every base64 form (PLAIN, PLAIN with authzid, LOGIN,
 * XOAUTH2), whole or in 8-character runs: (a) the result record of runCheck, (b) the CLI's output in each
 * format and its stderr, (c) the daemon's `/` page, `/probe?debug=true`, `/api/v1/`, its log lines, webhook
 * payloads, state file and history file. And a receiver whose URL path holds a token never gets that path into the logs.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { isProbeError } from '../../src/core/errors.js';
import type { CheckResult } from '../../src/core/result.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { REDACT_PATHS } from '../../src/log.js';
import { ImapClient } from '../../src/mailbox/imap.js';
import { Pop3Client } from '../../src/mailbox/pop3/index.js';
import { runWithRetries, systemDeps, systemLookup } from '../../src/runner/run.js';
import { closeAll } from '../helpers/cleanup.js';
import { serverCert, testCa, TEST_SERVER_NAME } from '../helpers/certs.js';
import { authPlan, b64, localPlan, probe, trustedTls } from '../helpers/plans.js';
import { banner, ehloSteps, multiline, quitSteps, reply, startScriptedServer, type ScriptStep } from '../helpers/scripted-server.js';
import { respond, startWebhookSink } from '../helpers/webhook-sink.js';

afterEach(closeAll);

const USER = 'probe@example.test';
const PASSWORD = 'Zq9-hunter2-Vx7.long-s3cret';
type Mech = 'PLAIN' | 'LOGIN' | 'XOAUTH2';
const MECHS: readonly Mech[] = ['PLAIN', 'LOGIN', 'XOAUTH2'];

/** Base64 blobs that carry the password, as text before and after it. */
const BLOBS: Record<string, [string, string]> = {
  'LOGIN base64': ['', ''],
  'PLAIN base64': [`\0${USER}\0`, ''],
  'PLAIN base64 with authzid': [`${USER}\0${USER}\0`, ''],
  'XOAUTH2 base64': [`user=${USER}\x01auth=Bearer `, '\x01\x01'],
};

/** A run of this many characters of a secret form is a leak. */
const RUN = 8;

/** Each RUN-character window of the part of each form that depends on the password → the form's name. */
const FRAGMENTS: Map<string, string> = (() => {
  const out = new Map<string, string>();
  const windows = (name: string, s: string): void => {
    for (let i = 0; i + RUN <= s.length; i += 1) {
      const frag = s.slice(i, i + RUN);
      out.set(frag, out.has(frag) && !out.get(frag)!.includes(name) ? `${out.get(frag)!} / ${name}` : name);
    }
  };
  windows('raw password', PASSWORD);
  for (const [name, [pre, post]] of Object.entries(BLOBS)) {
    const real = b64(pre + PASSWORD + post);
    // Positions that change with the password (two fillers, so a coincidence with one does not hide a position).
    const others = ['\x01', '~'].map((c) => b64(pre + c.repeat(PASSWORD.length) + post));
    const dep = [...real].map((ch, i) => others.some((o) => o[i] !== ch));
    const first = dep.indexOf(true);
    const last = dep.lastIndexOf(true);
    windows(name, real.slice(first, last + 1));
  }
  return out;
})();

/** The secret forms found in `text` (whole or as a RUN-character run), with where. */
function leaks(text: string): string[] {
  const found = new Map<string, string>();
  for (const [frag, name] of FRAGMENTS) {
    const at = found.has(name) ? -1 : text.indexOf(frag);
    if (at >= 0) found.set(name, `${name} in …${text.slice(Math.max(0, at - 40), at + 40)}…`);
  }
  return [...found.values()];
}

/** How the server echoes the line that carried the secret: the bytes it sends instead of an answer. */
const VARIANTS: Record<string, (echo: string) => string> = {
  'malformed reply': (e) => `XYZ you said: ${e}\r\n`,
  'malformed reply, secret cut at the quote limit': (e) => `?${'.'.repeat(90)} ${e}\r\n`,
  'malformed reply, secret broken by control bytes': (e) => `\x00\x01${e.slice(0, -20)}\x1b${e.slice(-20)}\r\n`,
  'inside a valid multiline reply': (e) => `535-5.7.8 you said:\r\n535-${e}\r\n535 5.7.8 Error: authentication failed\r\n`,
  'in a one-line 5xx reply': (e) => `535 5.7.8 rejected: ${e}\r\n`,
  'split across the lines of a reply': (e) => {
    const k = Math.floor(e.length * 0.6);
    return `535-5.7.8 rejected: ${e.slice(0, k)}\r\n535 5.7.8 ${e.slice(k)}\r\n`;
  },
  'split, continued without an enhanced code': (e) => {
    const k = Math.floor(e.length * 0.4);
    return `535-5.7.8 rejected: ${e.slice(0, k)}\r\n535 ${e.slice(k)}\r\n`;
  },
  'a multiline reply that changes code': (e) => `535-5.7.8 rejected\r\n550 ${e}\r\n`,
  'a reply line over the length limit': (e) => `535 ${e}${'x'.repeat(5000)}\r\n`,
  'a reply nobody asked for': (e) => `535 5.7.8 no\r\n421 4.7.0 ${e}\r\n`,
};
const VARIANT_LIST = Object.values(VARIANTS);

/** Echoes written by the scripted servers (so a test knows the secret really came back). */
let echoes = 0;

/** Banner, EHLO offering `mech`, the AUTH exchange up to the line carrying the secret, the echo, QUIT. */
function authSteps(mech: Mech, answer: (echo: string) => string): ScriptStep[] {
  const login = mech === 'LOGIN' ? [...reply(/^AUTH LOGIN$/, `334 ${b64('Username:')}`), ...reply(/^\S+$/, `334 ${b64('Password:')}`)] : [];
  const echo: ScriptStep = {
    run: async (c) => {
      const line = await c.nextLine();
      if (!line) return;
      c.write(answer(line.text));
      echoes += 1;
    },
  };
  return [banner(), ...ehloSteps([`AUTH ${mech}`, '8BITMIME']), ...login, echo, ...quitSteps];
}

const plaintextAuth = (mech: Mech) => authPlan(USER, PASSWORD, { mechanism: mech, allowPlaintext: true });

describe('(a) runCheck: the result record', () => {
  for (const mech of MECHS) {
    for (const [name, answer] of Object.entries(VARIANTS)) {
      it(`${mech}, echoed ${name}`, async () => {
        const before = echoes;
        const s = await startScriptedServer(authSteps(mech, answer));
        const r = await probe(localPlan(s.port, { transcript: true, auth: plaintextAuth(mech) }));
        expect(r.ok).toBe(false);
        expect(s.errors()).toEqual([]);
        expect(echoes).toBe(before + 1);
        expect(leaks(JSON.stringify(r))).toEqual([]);
        // Redacted, not dropped: the failure still says what came back.
        expect(r.failure?.message).toMatch(/\*\*\*|\d{3}/);
      });
    }
  }
});

describe('(a) a secret the server repeats on the next connection', () => {
  /** Connection 0 takes the AUTH line; connection 1 puts it in its banner and after its STARTTLS 220. */
  function twoConnections(): { scriptFor: (i: number) => ScriptStep[] } {
    let said = '';
    const tls = { starttls: serverCert() };
    const caps = ehloSteps(['STARTTLS', 'AUTH PLAIN']);
    const afterTls = [...ehloSteps(['AUTH PLAIN'])];
    const take: ScriptStep = { run: async (c) => void (said = (await c.nextLine())?.text ?? '') };
    return {
      scriptFor: (i) =>
        i === 0
          ? [banner(), ...caps, ...reply(/^STARTTLS$/, '220 2.0.0 go ahead'), tls, ...afterTls, take, { send: '535 5.7.8 no\r\n' }, ...quitSteps]
          : [
              { run: (c) => c.write(`220 mx.example.test ESMTP you said ${said}\r\n`) },
              ...caps,
              { expect: /^STARTTLS$/ },
              { run: (c) => c.write(`220 2.0.0 go ahead\r\n${multiline(250, ['injected', said])}`) },
              tls,
              ...afterTls,
              ...reply(/^AUTH PLAIN /, '535 5.7.8 no'),
              ...quitSteps,
            ],
    };
  }

  it('in the banner and in the replies STARTTLS discards (a retry)', async () => {
    const s = await startScriptedServer([], twoConnections());
    const plan = localPlan(s.port, { tls: 'starttls', tlsParams: trustedTls(), transcript: true, auth: authPlan(USER, PASSWORD) });
    const r = await runWithRetries(plan, systemDeps(), 1, 0);
    expect(s.connections).toHaveLength(2);
    expect(s.errors()).toEqual([]);
    expect(r.attempts).toBe(2);
    expect(r.banner).toMatch(/you said/);
    expect(r.warnings.join('\n')).toMatch(/discarded \d+ bytes/);
    expect(leaks(JSON.stringify(r))).toEqual([]);
  });
});

describe('(a) the POP3 client: its errors', () => {
  const pop3: Record<string, (echo: string) => string> = {
    '-ERR quoting PASS': (e) => `-ERR you said: ${e}\r\n`,
    'no status line': (e) => `?${'.'.repeat(150)} ${e}\r\n`,
    'a line over the length limit': (e) => `-ERR ${e}${'x'.repeat(2000)}\r\n`,
  };
  for (const [name, answer] of Object.entries(pop3)) {
    it(`PASS echoed in ${name}`, async () => {
      const s = await startScriptedServer([
        { send: '+OK POP3 ready\r\n' },
        ...reply(/^CAPA$/, '-ERR no CAPA'),
        ...reply(/^USER /, '+OK'),
        { run: async (c) => void c.write(answer((await c.nextLine())?.text ?? '')) },
      ]);
      const settings = {
        protocol: 'pop3' as const, host: '127.0.0.1', port: s.port, username: USER, password: PASSWORD, starttls: false,
        allowPlaintext: true, ca: testCa().cert, servername: TEST_SERVER_NAME, insecure: false,
      };
      const client = new Pop3Client({ limits: { maxLineBytes: 1024, maxMessageBytes: 64 * 1024 } });
      const e = await client.open(settings, AbortSignal.timeout(5000)).then(() => null, (err: unknown) => err);
      expect(isProbeError(e), String(e)).toBe(true);
      expect(s.text()).toContain(`PASS ${PASSWORD}`);
      expect(leaks((e as Error).message)).toEqual([]);
      expect((e as Error).message).toContain('***');
    });
  }
});

describe('(a) the IMAP client: its errors', () => {
  /** Greets with these capabilities; a LOGIN or AUTHENTICATE line comes back quoted in the tagged NO. */
  const imapEcho = (caps: string): ScriptStep => ({
    run: async (c) => {
      c.write(`* OK [CAPABILITY ${caps}] ready\r\n`);
      let continued: string | null = null;
      for (let line = await c.nextLine(); line; line = await c.nextLine()) {
        const tag = line.text.split(' ')[0];
        if (continued !== null) c.write(`${continued} NO [AUTHENTICATIONFAILED] you said ${line.text}\r\n`);
        else if (/ AUTHENTICATE PLAIN$/i.test(line.text)) c.write('+ \r\n');
        if (continued !== null || / AUTHENTICATE PLAIN$/i.test(line.text)) {
          continued = continued === null ? (tag ?? '*') : null;
          continue;
        }
        if (/ (LOGIN|AUTHENTICATE) /i.test(line.text)) c.write(`${tag} NO [AUTHENTICATIONFAILED] you said ${line.text}\r\n`);
        else if (/ CAPABILITY$/i.test(line.text)) c.write(`* CAPABILITY ${caps}\r\n${tag} OK done\r\n`);
        else c.write(`${tag} BAD unknown\r\n`);
      }
    },
  });
  for (const caps of ['IMAP4rev1', 'IMAP4rev1 AUTH=PLAIN SASL-IR']) {
    it(`the login line echoed in a NO (${caps})`, async () => {
      const s = await startScriptedServer([imapEcho(caps)]);
      const settings = {
        protocol: 'imap' as const, host: '127.0.0.1', port: s.port, username: USER, password: PASSWORD, starttls: false,
        allowPlaintext: true, ca: testCa().cert, servername: TEST_SERVER_NAME, insecure: false,
      };
      const e = await new ImapClient().open(settings, AbortSignal.timeout(5000)).then(() => null, (err: unknown) => err);
      expect(isProbeError(e), String(e)).toBe(true);
      expect(s.text().includes(PASSWORD) || s.text().includes(b64(`\0${USER}\0${PASSWORD}`)), s.text()).toBe(true);
      expect(leaks((e as Error).message)).toEqual([]);
      expect((e as Error).message).toContain('***');
    });
  }
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function bin(argv: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/src/cli/main.js', ...argv], { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('(b) the CLI: every format, --transcript, debug logs on stderr', () => {
  const formats = ['json', 'text', 'junit', 'nagios'];
  it('check --format json|text|junit|nagios --transcript', async () => {
    expect(existsSync('dist/src/cli/main.js'), 'build first: npm run build').toBe(true);
    const cases = MECHS.flatMap((mech, m) => formats.map((format, f) => ({ mech, format, answer: VARIANT_LIST[(m * formats.length + f) % VARIANT_LIST.length]! })));
    const runs = await Promise.all(
      cases.map(async ({ mech, format, answer }) => {
        const s = await startScriptedServer(authSteps(mech, answer));
        const argv = ['check', `smtp://127.0.0.1:${s.port}`, '--tls', 'none', '--auth-user', USER, '--auth-pass-env', 'SMTP_PROBE_TEST_PW'];
        argv.push('--auth-mech', mech, '--auth-allow-plaintext', '--transcript', '--format', format, '--log-level', 'debug');
        argv.push('--timeout', '5s', '--phase-timeout', '1s');
        return { mech, format, run: await bin(argv, { SMTP_PROBE_TEST_PW: PASSWORD }) };
      }),
    );
    for (const { mech, format, run } of runs) {
      expect(run.code, `${mech} ${format}: ${run.stderr}`).not.toBe(0);
      expect(run.stdout.length, `${mech} ${format}`).toBeGreaterThan(0);
      expect(leaks(run.stdout), `${mech} ${format} stdout`).toEqual([]);
      expect(leaks(run.stderr), `${mech} ${format} stderr`).toEqual([]);
    }
  }, 60_000);
});

async function until(what: () => boolean, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 25))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

const PATH_TOKEN = 'T0PATHTOKENzZ9xQ7';

function daemonConfig(dir: string, ports: number[], hook: string, leaky: string): string {
  const modules = MECHS.map(
    (mech, i) =>
      `  m${mech}: { tls: none, auth: { username: ${USER}, password: "\${SMTP_PW}", mechanism: ${mech}, allow_plaintext: true }, probe_targets: ["smtp://127.0.0.1:${ports[i]}"] }`,
  );
  const targets = MECHS.map((mech, i) => `  - { name: t${mech}, url: "smtp://127.0.0.1:${ports[i]}", module: m${mech} }`);
  return `global: { interval: 1s, timeout: 900ms, phase_timeout: 800ms, ehlo: probe.test, state_file: ${join(dir, 'state.json')} }
modules:
${modules.join('\n')}
targets:
${targets.join('\n')}
alerts:
  defaults: { failure_threshold: 1, success_threshold: 1, reminder_interval: 1h }
  rules:
    - { name: smtp_probe_down, kind: down, receivers: [hook, leaky] }
  receivers:
    - { name: hook, type: webhook, url: "${hook}" }
    - { name: leaky, type: webhook, url: "${leaky}" }
`;
}

describe('(c) the daemon: pages, logs, webhook payloads, state file', () => {
  it('carries no secret anywhere, and no receiver URL path in its logs', async () => {
    const servers = await Promise.all(
      MECHS.map((mech, m) => startScriptedServer([], { scriptFor: (i) => authSteps(mech, VARIANT_LIST[(i + m * 3) % VARIANT_LIST.length]!) })),
    );
    const hook = await startWebhookSink();
    const leaky = await startWebhookSink();
    leaky.setDefault(respond(503, { body: `no such hook /services/${PATH_TOKEN}` }));
    const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-redaction-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, daemonConfig(dir, servers.map((s) => s.port), hook.url('/hook'), leaky.url(`/services/${PATH_TOKEN}`)));
    const logs: string[] = [];
    const logger = pino({ level: 'debug', base: { name: 'smtp-probe' }, redact: { paths: REDACT_PATHS, censor: '***' } }, { write: (l: string) => void logs.push(l) });
    const results: CheckResult[] = [];
    const d = Daemon.create({
      configFile: file, env: { SMTP_PW: PASSWORD }, shard: null, listen: { host: '127.0.0.1', port: 0 }, clock: systemClock,
      lookup: systemLookup, logger, version: 'test', onResult: (_t, r) => results.push(r), workers: 1,
    });
    if (Array.isArray(d)) throw new Error(d.join('\n'));
    let stopped = false;
    try {
      const base = `http://127.0.0.1:${(await d.start()).port}`;
      await until(() => hook.requests.length >= 3 && results.length >= 12);
      await until(() => leaky.requests.length >= 2 && logs.some((l) => l.includes('"receiver":"leaky"')));
      const index = await (await fetch(`${base}/`)).text();
      const api = await Promise.all(
        [...MECHS.map((mech) => `targets/t${mech}`), 'targets', 'alerts'].map(async (p) => (await fetch(`${base}/api/v1/${p}`)).text()),
      );
      const probeBody = await (await fetch(`${base}/probe?target=${encodeURIComponent(`smtp://127.0.0.1:${servers[0]!.port}`)}&module=mPLAIN&debug=true`)).text();
      await d.stop(1000);
      stopped = true;
      expect(probeBody).toMatch(/Transcript:/);
      expect(results.every((r) => !r.ok)).toBe(true);
      const channels: Record<string, string> = {
        '/ page': index,
        '/probe?debug=true': probeBody,
        logs: logs.join(''),
        'webhook payloads': hook.requests.map((r) => r.body).join('\n'),
        'state file': readFileSync(join(dir, 'state.json'), 'utf8'),
        '/api/v1/': api.join('\n'),
        'history file': readFileSync(join(dir, 'state.json.history'), 'utf8'),
      };
      expect(channels['/api/v1/']).toContain('"lastFailure":{');
      expect(channels['history file']).toContain('AUTH PLAIN ***');
      for (const [where, text] of Object.entries(channels)) expect(leaks(text), where).toEqual([]);
      expect(channels.logs).toContain('"receiver":"leaky"');
      expect(channels.logs).not.toContain(PATH_TOKEN);
    } finally {
      if (!stopped) await d.stop(1000);
    }
  }, 40_000);
});
