import { describe, expect, it } from 'vitest';
import { parseExpectation, type Expectation } from '../../src/core/expect.js';
import type { AuthPlan, CheckPlan, RoundtripPlan, StepKind } from '../../src/core/plan.js';
import { parseTargetUrl, type TargetUrl } from '../../src/core/target.js';
import { buildPlan, defaultModule, makeSend, type GlobalSettings, type ModuleSettings } from '../../src/plan/build.js';
import { DEFAULTS } from '../../src/plan/defaults.js';
import { OverrideError, applyOverrides, overrideRouting, type Overrides } from '../../src/plan/overrides.js';

function url(text: string): TargetUrl {
  const u = parseTargetUrl(text);
  if (typeof u === 'string') throw new Error(u);
  return u;
}

function exp(source: string): Expectation {
  const e = parseExpectation(source);
  if (typeof e === 'string') throw new Error(e);
  return e;
}

const GLOBAL: GlobalSettings = {
  intervalMs: 60_000, timeoutMs: 10_000, phaseTimeoutMs: 5_000, concurrency: 64, workers: 'auto', listen: { host: '', port: 9469 },
  phaseHistograms: 'target', stateFile: '/tmp/state.json', history: 100, historyFile: null, ehlo: 'probe.global.test', dnsServers: null, web: DEFAULTS.web,
};

/** No flag given. */
const none = (): Overrides => ({ noDeliver: false, message: {}, expect: {}, transcript: false });
const flags = (o: Partial<Overrides>): Overrides => ({ ...none(), ...o });

const mod = (over: Partial<ModuleSettings> = {}): ModuleSettings => ({ ...defaultModule(), name: 'm', ...over });
const creds = (username = 'probe@example.test'): AuthPlan => ({ username, password: 'pw', mechanism: null, allowPlaintext: false });

/** The module's test message: everything set, so that what is kept and what is replaced shows. */
const moduleSend = makeSend({
  from: 'module-from@example.test',
  to: ['module-to@example.test'],
  subject: 'module subject',
  body: 'module body\r\n',
  headers: { 'X-Module': 'yes' },
  size: 4096,
});

/** The plan the module gives (what config and `check URL` build), then the flags laid over it. */
function over(m: ModuleSettings, o: Overrides, target = 'smtp://mail.example.test'): { before: CheckPlan; after: CheckPlan } {
  const before = buildPlan('t', url(target), m, GLOBAL);
  return { before, after: applyOverrides(before, m, o) };
}

describe('applyOverrides: nothing given', () => {
  const modules: [string, ModuleSettings, string][] = [
    ['the default module', defaultModule(), 'smtp://mail.example.test'],
    ['auth and send', mod({ auth: creds(), send: moduleSend, tls: 'starttls' }), 'smtp://mail.example.test'],
    ['own steps', mod({ steps: ['banner', 'ehlo', 'quit'] }), 'smtps://mail.example.test'],
  ];
  for (const [name, m, target] of modules) {
    it(`${name}: the plan unchanged`, () => {
      const { before, after } = over(m, none(), target);
      expect(after).toEqual(before);
    });
  }
});

describe('applyOverrides: a given value wins over the module', () => {
  it('ehlo, ip family, source address, banner pattern, min cert days, required capabilities, transcript', () => {
    const m = mod({ ehlo: 'module.test', ipFamily: 4, sourceAddress: '127.0.0.2', bannerPattern: /module/, minCertDays: 30, requireCapabilities: ['PIPELINING'] });
    const { after } = over(m, flags({
      ehlo: 'flag.test', ipFamily: 6, sourceAddress: '::1', bannerPattern: /flag/, minCertDays: 7, requireCapabilities: ['SIZE>=1000'], transcript: true,
    }));
    expect(after).toMatchObject({
      ehlo: 'flag.test', ipFamily: 6, sourceAddress: '::1', bannerPattern: /flag/, minCertDays: 7, requireCapabilities: ['SIZE>=1000'], transcript: true,
    });
  });

  it('values not given keep the module', () => {
    const m = mod({ ehlo: 'module.test', ipFamily: 4, sourceAddress: '127.0.0.2', bannerPattern: /module/, minCertDays: 30, requireCapabilities: ['PIPELINING'] });
    const { after } = over(m, none());
    expect(after).toMatchObject({
      ehlo: 'module.test', ipFamily: 4, sourceAddress: '127.0.0.2', bannerPattern: /module/, minCertDays: 30, requireCapabilities: ['PIPELINING'], transcript: false,
    });
  });

  it('expect: per phase, a flag replaces the module phase it names and keeps the others', () => {
    const m = mod({ expect: { banner: exp('220'), rcpt: exp('250') } });
    const { after } = over(m, flags({ expect: { rcpt: exp('550') } }));
    expect(after.expect).toEqual({ banner: exp('220'), rcpt: exp('550') });
  });

  it('auth: the flag credentials replace the module ones', () => {
    const m = mod({ auth: creds('module-user') });
    const { after } = over(m, flags({ auth: creds('flag-user') }));
    expect(after.auth?.username).toBe('flag-user');
  });

  const timeouts: { name: string; mod: Partial<ModuleSettings>; o: Partial<Overrides>; timeout: number; phase: number }[] = [
    { name: 'a shorter --timeout caps the module phase timeout', mod: {}, o: { timeoutMs: 2_000 }, timeout: 2_000, phase: 2_000 },
    { name: 'a --phase-timeout over the module timeout is capped', mod: { timeoutMs: 3_000 }, o: { phaseTimeoutMs: 8_000 }, timeout: 3_000, phase: 3_000 },
    { name: 'both given: the phase timeout under the timeout is kept', mod: { timeoutMs: 3_000 }, o: { timeoutMs: 20_000, phaseTimeoutMs: 8_000 }, timeout: 20_000, phase: 8_000 },
    { name: 'both given: phase over timeout is capped', mod: {}, o: { timeoutMs: 1_000, phaseTimeoutMs: 4_000 }, timeout: 1_000, phase: 1_000 },
    { name: 'a longer --timeout leaves the module phase timeout', mod: { phaseTimeoutMs: 700 }, o: { timeoutMs: 60_000 }, timeout: 60_000, phase: 700 },
  ];
  for (const c of timeouts) {
    it(`timeouts: ${c.name}`, () => {
      const { after } = over(mod(c.mod), flags(c.o));
      expect([after.timeoutMs, after.phaseTimeoutMs]).toEqual([c.timeout, c.phase]);
    });
  }
});

describe('applyOverrides: the test message', () => {
  it('--to replaces the recipients, keeps the module from, subject, body, headers and size', () => {
    const { after } = over(mod({ send: moduleSend }), flags({ to: ['flag-to@example.test', 'second@example.test'] }));
    expect(after.send).toEqual({
      from: 'module-from@example.test',
      to: ['flag-to@example.test', 'second@example.test'],
      deliver: true,
      subject: 'module subject',
      body: 'module body\r\n',
      headers: { 'X-Module': 'yes' },
      size: 4096,
    });
  });

  it('--to over a module that only checks the envelope (deliver: false): still no DATA', () => {
    const { after } = over(mod({ send: { ...moduleSend, deliver: false } }), flags({ to: ['flag-to@example.test'] }));
    expect(after.send?.deliver).toBe(false);
    expect(after.send?.to).toEqual(['flag-to@example.test']);
  });

  it('--to with --from, message flags and --no-deliver over a module message', () => {
    const { after } = over(
      mod({ send: moduleSend }),
      flags({ to: ['flag-to@example.test'], from: 'flag-from@example.test', noDeliver: true, message: { subject: 'flag subject', size: 100 } }),
    );
    expect(after.send).toEqual({
      from: 'flag-from@example.test', to: ['flag-to@example.test'], deliver: false,
      subject: 'flag subject', body: 'module body\r\n', headers: { 'X-Module': 'yes' }, size: 100,
    });
  });

  it('--to without a module message: the defaults, from smtp-probe@<ehlo> (the overridden one)', () => {
    const { after } = over(mod(), flags({ to: ['a@example.test'], ehlo: 'flag-ehlo.test' }));
    expect(after.send).toEqual({
      from: 'smtp-probe@flag-ehlo.test', to: ['a@example.test'], deliver: true,
      subject: DEFAULTS.send.subject, body: DEFAULTS.send.body, headers: {}, size: null,
    });
    expect(after.steps).toEqual(['banner', 'ehlo', 'starttls', 'send', 'noop', 'quit']);
  });

  it('--from alone over a module message: only the sender changes', () => {
    const { after } = over(mod({ send: moduleSend }), flags({ from: '' }));
    expect(after.send).toEqual({ ...moduleSend, from: '' });
  });

  it('--no-deliver alone over a module message: only deliver changes', () => {
    const { after } = over(mod({ send: moduleSend }), flags({ noDeliver: true }));
    expect(after.send).toEqual({ ...moduleSend, deliver: false });
  });

  it('message flags alone over a module message: laid over it', () => {
    const { after } = over(mod({ send: moduleSend }), flags({ message: { headers: { 'X-Flag': '1' }, body: 'flag\r\n' } }));
    expect(after.send).toEqual({ ...moduleSend, headers: { 'X-Flag': '1' }, body: 'flag\r\n' });
  });

  it('message flags without any recipients: no message, nothing to send', () => {
    const { after } = over(mod(), flags({ message: { subject: 'x' } }));
    expect(after.send).toBeNull();
    expect(after.steps).not.toContain('send');
  });

  const orphans: [string, Partial<Overrides>, string][] = [
    ['--from', { from: 'p@example.test' }, '--from: needs at least one --to (the test message goes to --to)'],
    ['--no-deliver', { noDeliver: true }, '--no-deliver: needs at least one --to (the test message goes to --to)'],
    ['--from and --no-deliver', { from: 'p@example.test', noDeliver: true }, '--no-deliver: needs at least one --to (the test message goes to --to)'],
  ];
  for (const [name, o, message] of orphans) {
    it(`${name} without any recipients throws OverrideError: ${message}`, () => {
      const before = buildPlan('t', url('smtp://mail.example.test'), mod(), GLOBAL);
      let caught: unknown;
      try {
        applyOverrides(before, mod(), flags(o));
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(OverrideError);
      expect((caught as Error).name).toBe('OverrideError');
      expect((caught as Error).message).toBe(message);
    });
  }
});

describe('applyOverrides: steps', () => {
  const recomputed: { name: string; mod: Partial<ModuleSettings>; o: Partial<Overrides>; target?: string; steps: StepKind[] }[] = [
    { name: '--tls none drops starttls', mod: {}, o: { tls: 'none' }, steps: ['banner', 'ehlo', 'noop', 'quit'] },
    { name: '--tls implicit drops starttls', mod: {}, o: { tls: 'implicit' }, steps: ['banner', 'ehlo', 'noop', 'quit'] },
    { name: '--tls starttls over smtps:// adds it', mod: {}, o: { tls: 'starttls' }, target: 'smtps://mail.example.test', steps: ['banner', 'ehlo', 'starttls', 'noop', 'quit'] },
    { name: '--auth-user adds auth', mod: {}, o: { auth: creds() }, steps: ['banner', 'ehlo', 'starttls', 'auth', 'noop', 'quit'] },
    { name: '--to adds send', mod: { tls: 'none' }, o: { to: ['a@example.test'] }, steps: ['banner', 'ehlo', 'send', 'noop', 'quit'] },
    { name: 'module auth and send, --tls implicit', mod: { auth: creds(), send: moduleSend }, o: { tls: 'implicit' }, steps: ['banner', 'ehlo', 'auth', 'send', 'noop', 'quit'] },
  ];
  for (const c of recomputed) {
    it(`without --steps and module steps, recomputed: ${c.name}`, () => {
      const { after } = over(mod(c.mod), flags(c.o), c.target);
      expect(after.steps).toEqual(c.steps);
    });
  }

  it("the module's own steps are kept when no --steps is given, whatever else changes", () => {
    const own: StepKind[] = ['banner', 'ehlo', 'starttls', 'quit'];
    const { after } = over(mod({ steps: own }), flags({ tls: 'none', auth: creds(), to: ['a@example.test'] }));
    expect(after.steps).toEqual(own);
    expect(after.tls).toBe('none');
  });

  const given: { names: string[]; mod?: Partial<ModuleSettings>; o?: Partial<Overrides>; steps: StepKind[] }[] = [
    { names: ['quit'], steps: ['banner', 'quit'] },
    { names: ['noop', 'starttls'], mod: { steps: ['banner', 'quit'] }, steps: ['banner', 'ehlo', 'starttls', 'noop'] },
    { names: ['send'], o: { to: ['a@example.test'] }, steps: ['banner', 'ehlo', 'send'] },
    { names: ['auth', 'quit'], mod: { auth: creds() }, steps: ['banner', 'ehlo', 'auth', 'quit'] },
  ];
  for (const c of given) {
    it(`--steps ${c.names.join(',')} → ${c.steps.join(',')} (normalised, wins over the module)`, () => {
      const { after } = over(mod(c.mod), flags({ ...c.o, steps: c.names }));
      expect(after.steps).toEqual(c.steps);
    });
  }

  const refused: { names: string[]; o?: Partial<Overrides>; message: string }[] = [
    { names: ['helo'], message: '--steps: unknown step "helo" (steps: banner, ehlo, starttls, auth, send, noop, quit)' },
    { names: ['auth'], message: '--steps: the auth step needs credentials (auth: in the module, or --auth-user)' },
    { names: ['send'], message: '--steps: the send step needs recipients (send.to in the module, or --to)' },
  ];
  for (const c of refused) {
    it(`--steps ${c.names.join(',')} → OverrideError ${c.message}`, () => {
      const before = buildPlan('t', url('smtp://mail.example.test'), mod(), GLOBAL);
      expect(() => applyOverrides(before, mod(), flags({ ...c.o, steps: c.names }))).toThrowError(new OverrideError(c.message));
      expect(() => applyOverrides(before, mod(), flags({ ...c.o, steps: c.names }))).toThrow(OverrideError);
    });
  }
});

describe('applyOverrides: TLS parameters', () => {
  const m = mod({ ca: 'MODULE-CA', serverName: 'module.example.test', cert: 'CERT', key: 'KEY', minVersion: 'TLSv1.2' });

  it('--ca, --servername and --insecure are merged over the module TLS settings', () => {
    const { after } = over(m, flags({ ca: 'FLAG-CA', servername: 'flag.example.test', insecure: true }));
    expect(after.tlsParams).toEqual({ servername: 'flag.example.test', ca: 'FLAG-CA', cert: 'CERT', key: 'KEY', minVersion: 'TLSv1.2', insecure: true });
  });

  it('none given: the module settings as they were', () => {
    const { after } = over(m, none());
    expect(after.tlsParams).toEqual({ servername: 'module.example.test', ca: 'MODULE-CA', cert: 'CERT', key: 'KEY', minVersion: 'TLSv1.2', insecure: false });
  });

  it('--insecure is a switch: absent or false keeps a module that skips verification', () => {
    expect(over(mod({ insecure: true }), flags({ insecure: false })).after.tlsParams.insecure).toBe(true);
    expect(over(mod({ insecure: true }), none()).after.tlsParams.insecure).toBe(true);
  });
});

describe('applyOverrides: round trip', () => {
  const rt: RoundtripPlan = {
    mailbox: {
      protocol: 'imaps', host: 'imap.example.test', port: 993, username: 'probe', password: 'pw',
      starttls: false, allowPlaintext: false, servername: 'imap.example.test', insecure: false,
    },
    timeoutMs: 60_000,
    pollMs: 1000,
  };
  const other: RoundtripPlan = { ...rt, pollMs: 500 };

  it('--roundtrip-timeout changes the module round trip timeout only', () => {
    expect(over(mod({ roundtrip: rt }), flags({ roundtripTimeoutMs: 5_000 })).after.roundtrip).toEqual({ ...rt, timeoutMs: 5_000 });
  });
  it('a flag round trip (--mailbox) replaces the module one', () => {
    expect(over(mod({ roundtrip: rt }), flags({ roundtrip: other, roundtripTimeoutMs: 5_000 })).after.roundtrip).toBe(other);
  });
  it('--roundtrip-timeout without any round trip: still none', () => {
    expect(over(mod(), flags({ roundtripTimeoutMs: 5_000 })).after.roundtrip).toBeNull();
  });
});

describe('overrideRouting', () => {
  const mxPlan = buildPlan('d', url('mx://example.test'), defaultModule(), GLOBAL, { dnsServers: ['127.0.0.1:53'], maxMx: 5 });
  const smtpPlan = buildPlan('h', url('smtp://mail.example.test'), defaultModule(), GLOBAL);

  it('nothing given: the same plan', () => {
    expect(overrideRouting(mxPlan, none())).toBe(mxPlan);
  });

  const rows: { name: string; plan: CheckPlan; o: Partial<Overrides>; dnsServers: string[] | null; mx: CheckPlan['mx'] }[] = [
    { name: 'mx://: --max-mx replaces maxHosts', plan: mxPlan, o: { maxMx: 2 }, dnsServers: ['127.0.0.1:53'], mx: { maxHosts: 2 } },
    { name: 'mx://: --dns-server replaces the servers', plan: mxPlan, o: { dnsServers: ['[::1]:5353'] }, dnsServers: ['[::1]:5353'], mx: { maxHosts: 5 } },
    { name: 'mx://: both', plan: mxPlan, o: { dnsServers: ['127.0.0.2'], maxMx: 1 }, dnsServers: ['127.0.0.2'], mx: { maxHosts: 1 } },
    { name: 'smtp://: --max-mx does not make it an mx target', plan: smtpPlan, o: { maxMx: 2 }, dnsServers: null, mx: null },
    { name: 'smtp://: --dns-server applies', plan: smtpPlan, o: { dnsServers: ['127.0.0.1:5353'] }, dnsServers: ['127.0.0.1:5353'], mx: null },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const after = overrideRouting(r.plan, flags(r.o));
      expect({ dnsServers: after.dnsServers, mx: after.mx }).toEqual({ dnsServers: r.dnsServers, mx: r.mx });
      expect({ ...after, dnsServers: null, mx: null }).toEqual({ ...r.plan, dnsServers: null, mx: null });
    });
  }
});

describe('applyOverrides: thresholds, certificate levels, strictness, TLS settings', () => {
  const m = mod({ thresholds: { warningMs: 2000, criticalMs: 5000 }, minCertDays: 14, criticalCertDays: 7, minVersion: 'TLSv1.2', cert: 'M-CERT', key: 'M-KEY' });

  it("the module's thresholds, certificate levels and TLS settings stay when no flag is given", () => {
    expect(over(m, none()).after).toMatchObject({
      thresholds: { warningMs: 2000, criticalMs: 5000 }, minCertDays: 14, criticalCertDays: 7, strict: false,
      tlsParams: { minVersion: 'TLSv1.2', cert: 'M-CERT', key: 'M-KEY' },
    });
  });

  it('each threshold flag replaces its own; --min-cert-days replaces both levels; --strict', () => {
    expect(over(m, flags({ warningMs: 1000 })).after.thresholds).toEqual({ warningMs: 1000, criticalMs: 5000 });
    expect(over(m, flags({ criticalMs: 3000 })).after.thresholds).toEqual({ warningMs: 2000, criticalMs: 3000 });
    expect(over(m, flags({ minCertDays: 30, criticalCertDays: null, strict: true })).after).toMatchObject({ minCertDays: 30, criticalCertDays: null, strict: true });
  });

  it('a threshold flag that crosses the other threshold is refused, naming both values', () => {
    expect(() => over(m, flags({ warningMs: 6000 }))).toThrow(new OverrideError('--warning (6s) is over the critical threshold (5s)'));
    expect(() => over(mod(), flags({ minCertDays: 3, criticalCertDays: 14 }))).toThrow(
      new OverrideError('--min-cert-days: the critical level (14) must not be over the warning level (3)'),
    );
  });

  it('--tls-min-version and --cert/--key win over tls_config', () => {
    expect(over(m, flags({ minVersion: 'TLSv1.3', cert: 'F-CERT', key: 'F-KEY' })).after.tlsParams).toMatchObject({
      minVersion: 'TLSv1.3', cert: 'F-CERT', key: 'F-KEY',
    });
  });
});
