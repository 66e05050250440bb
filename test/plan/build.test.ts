import { describe, expect, it } from 'vitest';
import { machineFqdn } from '../../src/core/host.js';
import { STEP_KINDS, type AuthPlan, type CheckPlan, type StepKind } from '../../src/core/plan.js';
import { parseTargetUrl, type TargetUrl } from '../../src/core/target.js';
import type { TlsMode } from '../../src/core/tls.js';
import {
  buildPlan, defaultGlobal, defaultModule, defaultSteps, makePlan, makeSend, normalizeSteps,
  type GlobalSettings, type ModuleSettings,
} from '../../src/plan/build.js';
import { DEFAULTS } from '../../src/plan/defaults.js';

/** A TargetUrl as the config and the CLI make them; a bad URL is a test bug. */
function url(text: string): TargetUrl {
  const u = parseTargetUrl(text);
  if (typeof u === 'string') throw new Error(u);
  return u;
}

/** Global settings with fixed values (defaultGlobal's EHLO name is the machine's FQDN). */
const GLOBAL: GlobalSettings = {
  intervalMs: 60_000,
  timeoutMs: 10_000,
  phaseTimeoutMs: 5_000,
  concurrency: 64,
  workers: 'auto',
  listen: { host: '', port: 9469 },
  phaseHistograms: 'target',
  stateFile: '/tmp/state.json',
  history: 100,
  historyFile: null,
  ehlo: 'probe.global.test',
  dnsServers: null,
  web: DEFAULTS.web,
};

const mod = (over: Partial<ModuleSettings> = {}): ModuleSettings => ({ ...defaultModule(), name: 'm', ...over });
const creds: AuthPlan = { username: 'probe@example.test', password: 'pw', mechanism: null, allowPlaintext: false };
const message = makeSend({ from: 'probe@example.test', to: ['a@example.test'] });

describe('DEFAULTS, defaultGlobal, defaultModule', () => {
  it('defaultGlobal takes every value from DEFAULTS, the EHLO name from the machine', () => {
    expect(defaultGlobal()).toEqual({
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
      ehlo: machineFqdn(),
      dnsServers: null,
      web: {
        maxConnections: 512, maxConcurrentProbes: 32, headerTimeoutMs: 5_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, reload: true,
      },
    });
  });

  it('defaultModule sets nothing of its own: every field null, empty or false', () => {
    expect(defaultModule()).toEqual({
      name: 'default', tls: null, insecure: false, ehlo: null, ipFamily: null, sourceAddress: null, timeoutMs: null,
      phaseTimeoutMs: null, auth: null, send: null, expect: {}, requireCapabilities: [], bannerPattern: null, minCertDays: null,
      criticalCertDays: null, thresholds: { warningMs: null, criticalMs: null },
      steps: null, probeTargets: null, phaseHistograms: null, hasCredentials: false, roundtrip: null,
    });
    expect(defaultModule().name).toBe(DEFAULTS.module);
  });

  it('defaultModule hands out a fresh object each time (no shared mutable state)', () => {
    const a = defaultModule();
    a.requireCapabilities.push('PIPELINING');
    expect(defaultModule().requireCapabilities).toEqual([]);
  });
});

describe('buildPlan', () => {
  it('the default module on smtp://host: global values, opportunistic TLS, server name = host', () => {
    const plan = buildPlan('mx1', url('smtp://Mail.Example.Test'), defaultModule(), GLOBAL);
    expect(plan).toEqual<CheckPlan>({
      name: 'mx1',
      url: 'smtp://mail.example.test:25',
      host: 'mail.example.test',
      port: 25,
      tls: 'opportunistic',
      tlsParams: { servername: 'mail.example.test', insecure: false },
      ehlo: 'probe.global.test',
      ipFamily: null,
      sourceAddress: null,
      timeoutMs: 10_000,
      phaseTimeoutMs: 5_000,
      steps: ['banner', 'ehlo', 'starttls', 'noop', 'quit'],
      auth: null,
      send: null,
      expect: {},
      requireCapabilities: [],
      watchCapabilities: [],
      bannerPattern: null,
      minCertDays: null,
      criticalCertDays: null,
      thresholds: { warningMs: null, criticalMs: null },
      strict: false,
      transcript: false,
      dnsServers: null,
      mx: null,
      roundtrip: null,
    });
  });

  it('smtps:// implies implicit TLS: no starttls step, port 465', () => {
    const plan = buildPlan('s', url('smtps://mail.example.test'), defaultModule(), GLOBAL);
    expect(plan).toMatchObject({ url: 'smtps://mail.example.test:465', port: 465, tls: 'implicit', mx: null });
    expect(plan.steps).toEqual(['banner', 'ehlo', 'noop', 'quit']);
  });

  it('the module values win over the global and the URL', () => {
    const m = mod({
      tls: 'starttls',
      serverName: 'cert.example.test',
      ca: 'CA-PEM',
      cert: 'CERT-PEM',
      key: 'KEY-PEM',
      minVersion: 'TLSv1.2',
      insecure: true,
      ehlo: 'probe.module.test',
      ipFamily: 6,
      sourceAddress: '::1',
      timeoutMs: 3_000,
      phaseTimeoutMs: 1_000,
      requireCapabilities: ['PIPELINING'],
      bannerPattern: /ESMTP/,
      minCertDays: 14,
      criticalCertDays: 7,
      thresholds: { warningMs: 2_000, criticalMs: 5_000 },
    });
    const plan = buildPlan('t', url('smtps://mail.example.test:2465'), m, GLOBAL);
    expect(plan.tls).toBe('starttls');
    expect(plan.tlsParams).toEqual({
      servername: 'cert.example.test', ca: 'CA-PEM', cert: 'CERT-PEM', key: 'KEY-PEM', minVersion: 'TLSv1.2', insecure: true,
    });
    expect(plan).toMatchObject({
      ehlo: 'probe.module.test', ipFamily: 6, sourceAddress: '::1', timeoutMs: 3_000, phaseTimeoutMs: 1_000,
      requireCapabilities: ['PIPELINING'], bannerPattern: /ESMTP/, minCertDays: 14, criticalCertDays: 7, port: 2465,
      thresholds: { warningMs: 2_000, criticalMs: 5_000 }, strict: false,
    });
    // The module's TLS mode, not the URL's, decides the steps.
    expect(plan.steps).toEqual(['banner', 'ehlo', 'starttls', 'noop', 'quit']);
  });

  const caps: { name: string; mod: Partial<ModuleSettings>; global?: Partial<GlobalSettings>; timeout: number; phase: number }[] = [
    { name: 'global phase timeout under the global timeout', mod: {}, timeout: 10_000, phase: 5_000 },
    { name: 'module timeout under the global phase timeout caps it', mod: { timeoutMs: 2_000 }, timeout: 2_000, phase: 2_000 },
    { name: 'module phase timeout over the module timeout is capped', mod: { timeoutMs: 3_000, phaseTimeoutMs: 4_000 }, timeout: 3_000, phase: 3_000 },
    { name: 'module phase timeout over the global timeout is capped', mod: { phaseTimeoutMs: 20_000 }, timeout: 10_000, phase: 10_000 },
    { name: 'global phase timeout over the global timeout is capped', mod: {}, global: { timeoutMs: 1_500 }, timeout: 1_500, phase: 1_500 },
    { name: 'module phase timeout under the timeout is kept', mod: { phaseTimeoutMs: 750 }, timeout: 10_000, phase: 750 },
  ];
  for (const c of caps) {
    it(`timeouts: ${c.name}`, () => {
      const plan = buildPlan('t', url('smtp://h.example.test'), mod(c.mod), { ...GLOBAL, ...c.global });
      expect([plan.timeoutMs, plan.phaseTimeoutMs]).toEqual([c.timeout, c.phase]);
    });
  }

  const stepCases: { name: string; mod: Partial<ModuleSettings>; target: string; steps: StepKind[] }[] = [
    { name: 'tls none', mod: { tls: 'none' }, target: 'smtp://h.example.test', steps: ['banner', 'ehlo', 'noop', 'quit'] },
    { name: 'auth', mod: { auth: creds }, target: 'smtp://h.example.test', steps: ['banner', 'ehlo', 'starttls', 'auth', 'noop', 'quit'] },
    { name: 'send', mod: { send: message }, target: 'smtp://h.example.test', steps: ['banner', 'ehlo', 'starttls', 'send', 'noop', 'quit'] },
    { name: 'auth and send over implicit TLS', mod: { auth: creds, send: message }, target: 'smtps://h.example.test', steps: ['banner', 'ehlo', 'auth', 'send', 'noop', 'quit'] },
    { name: "the module's own steps, kept as given", mod: { steps: ['banner', 'quit'], send: message }, target: 'smtp://h.example.test', steps: ['banner', 'quit'] },
  ];
  for (const c of stepCases) {
    it(`steps: ${c.name}`, () => {
      const plan = buildPlan('t', url(c.target), mod(c.mod), GLOBAL);
      expect(plan.steps).toEqual(c.steps);
      expect(plan.auth).toBe(c.mod.auth ?? null);
      expect(plan.send).toBe(c.mod.send ?? null);
    });
  }

  it('mx:// targets get mx.maxHosts from the routing, the default (10) without one; other targets get mx null', () => {
    expect(buildPlan('d', url('mx://example.test'), defaultModule(), GLOBAL).mx).toEqual({ maxHosts: 10 });
    expect(buildPlan('d', url('mx://example.test'), defaultModule(), GLOBAL, { dnsServers: null, maxMx: 3 }).mx).toEqual({ maxHosts: 3 });
    expect(buildPlan('d', url('smtp://example.test'), defaultModule(), GLOBAL, { dnsServers: null, maxMx: 3 }).mx).toBeNull();
    expect(buildPlan('d', url('mx://example.test'), defaultModule(), GLOBAL).url).toBe('mx://example.test:25');
  });

  it('DNS servers: the routing over the global, the global without routing', () => {
    const g = { ...GLOBAL, dnsServers: ['127.0.0.1:5353'] };
    expect(buildPlan('d', url('mx://example.test'), defaultModule(), g).dnsServers).toEqual(['127.0.0.1:5353']);
    expect(buildPlan('d', url('mx://example.test'), defaultModule(), g, { dnsServers: ['[::1]:53'], maxMx: null }).dnsServers).toEqual(['[::1]:53']);
    expect(buildPlan('d', url('mx://example.test'), defaultModule(), g, { dnsServers: null, maxMx: null }).dnsServers).toEqual(['127.0.0.1:5353']);
  });

  it('an IPv6 target keeps its brackets in the URL, not in host or server name', () => {
    const plan = buildPlan('v6', url('smtp://[::1]:2525'), defaultModule(), GLOBAL);
    expect(plan).toMatchObject({ url: 'smtp://[::1]:2525', host: '::1', port: 2525, tlsParams: { servername: '::1' } });
  });
});

describe('makePlan', () => {
  it('every setting not given comes from DEFAULTS', () => {
    expect(makePlan({ host: 'mail.example.test', port: 25 })).toEqual<CheckPlan>({
      name: 'mail.example.test:25',
      url: 'smtp://mail.example.test:25',
      host: 'mail.example.test',
      port: 25,
      tls: 'opportunistic',
      tlsParams: { servername: 'mail.example.test', insecure: false },
      ehlo: DEFAULTS.ehlo,
      ipFamily: null,
      sourceAddress: null,
      timeoutMs: DEFAULTS.timeoutMs,
      phaseTimeoutMs: DEFAULTS.phaseTimeoutMs,
      steps: [...STEP_KINDS],
      auth: null,
      send: null,
      expect: {},
      requireCapabilities: [],
      watchCapabilities: [],
      bannerPattern: null,
      minCertDays: null,
      criticalCertDays: null,
      thresholds: { warningMs: null, criticalMs: null },
      strict: false,
      transcript: false,
      dnsServers: null,
      mx: null,
      roundtrip: null,
    });
  });

  const urls: { name: string; p: Parameters<typeof makePlan>[0]; url: string }[] = [
    { name: 'implicit TLS', p: { host: 'h.example.test', port: 465, tls: 'implicit' }, url: 'smtps://h.example.test:465' },
    { name: 'starttls', p: { host: 'h.example.test', port: 587, tls: 'starttls' }, url: 'smtp://h.example.test:587' },
    { name: 'mx', p: { host: 'example.test', port: 25, mx: { maxHosts: 2 } }, url: 'mx://example.test:25' },
    { name: 'IPv6', p: { host: '::1', port: 25 }, url: 'smtp://[::1]:25' },
    { name: 'given', p: { host: '::1', port: 25, url: 'smtp://loopback:25' }, url: 'smtp://loopback:25' },
  ];
  for (const c of urls) {
    it(`url: ${c.name} → ${c.url}`, () => {
      expect(makePlan(c.p).url).toBe(c.url);
    });
  }

  it('given values are kept as given', () => {
    const p = makePlan({ host: '127.0.0.1', port: 2525, name: 'n', ehlo: 'e.test', timeoutMs: 1, phaseTimeoutMs: 1, steps: ['banner'], transcript: true, watchCapabilities: ['STARTTLS'] });
    expect(p).toMatchObject({ name: 'n', ehlo: 'e.test', timeoutMs: 1, phaseTimeoutMs: 1, steps: ['banner'], transcript: true, watchCapabilities: ['STARTTLS'] });
  });
});

describe('makeSend', () => {
  it('the test message from DEFAULTS for what is not given', () => {
    expect(makeSend({ from: 'p@example.test', to: ['a@example.test'] })).toEqual({
      from: 'p@example.test',
      to: ['a@example.test'],
      deliver: true,
      subject: 'smtp-probe test message',
      body: 'This message was sent by smtp-probe to check that this mail server accepts mail.\r\nIt can be deleted.\r\n',
      headers: {},
      size: null,
    });
  });

  it('given values win', () => {
    expect(makeSend({ from: '', to: ['a@x.test', 'b@x.test'], deliver: false, subject: 's', body: 'b\r\n', headers: { 'X-A': '1' }, size: 2048 })).toEqual({
      from: '', to: ['a@x.test', 'b@x.test'], deliver: false, subject: 's', body: 'b\r\n', headers: { 'X-A': '1' }, size: 2048,
    });
  });
});

describe('defaultSteps', () => {
  const rows: [TlsMode, boolean, boolean, StepKind[]][] = [
    ['none', false, false, ['banner', 'ehlo', 'noop', 'quit']],
    ['opportunistic', false, false, ['banner', 'ehlo', 'starttls', 'noop', 'quit']],
    ['starttls', false, false, ['banner', 'ehlo', 'starttls', 'noop', 'quit']],
    ['implicit', false, false, ['banner', 'ehlo', 'noop', 'quit']],
    ['none', true, false, ['banner', 'ehlo', 'auth', 'noop', 'quit']],
    ['none', false, true, ['banner', 'ehlo', 'send', 'noop', 'quit']],
    ['starttls', true, true, ['banner', 'ehlo', 'starttls', 'auth', 'send', 'noop', 'quit']],
    ['implicit', true, true, ['banner', 'ehlo', 'auth', 'send', 'noop', 'quit']],
  ];
  for (const [tls, auth, send, steps] of rows) {
    it(`tls ${tls}, auth ${auth}, send ${send} → ${steps.join(',')}`, () => {
      expect(defaultSteps(tls, auth, send)).toEqual(steps);
    });
  }
});

describe('normalizeSteps', () => {
  const ok: { names: string[]; auth?: boolean; send?: boolean; steps: StepKind[] }[] = [
    { names: ['quit'], steps: ['banner', 'quit'] },
    { names: ['banner'], steps: ['banner'] },
    { names: [], steps: ['banner'] },
    { names: ['quit', 'noop', 'banner'], steps: ['banner', 'noop', 'quit'] },
    { names: ['noop', 'noop'], steps: ['banner', 'noop'] },
    { names: ['ehlo'], steps: ['banner', 'ehlo'] },
    { names: ['starttls'], steps: ['banner', 'ehlo', 'starttls'] },
    { names: ['auth'], auth: true, steps: ['banner', 'ehlo', 'auth'] },
    { names: ['send'], send: true, steps: ['banner', 'ehlo', 'send'] },
    { names: ['quit', 'send', 'auth', 'starttls'], auth: true, send: true, steps: ['banner', 'ehlo', 'starttls', 'auth', 'send', 'quit'] },
    { names: [...STEP_KINDS], auth: true, send: true, steps: [...STEP_KINDS] },
  ];
  for (const c of ok) {
    it(`[${c.names.join(',')}] → ${c.steps.join(',')}`, () => {
      expect(normalizeSteps(c.names, c.auth ?? false, c.send ?? false)).toEqual({ ok: true, steps: c.steps });
    });
  }

  const bad: { names: string[]; auth?: boolean; send?: boolean; message: string }[] = [
    { names: ['helo'], message: 'unknown step "helo" (steps: banner, ehlo, starttls, auth, send, noop, quit)' },
    { names: ['banner', 'rset'], message: 'unknown step "rset" (steps: banner, ehlo, starttls, auth, send, noop, quit)' },
    { names: ['EHLO'], message: 'unknown step "EHLO" (steps: banner, ehlo, starttls, auth, send, noop, quit)' },
    { names: ['auth'], send: true, message: 'the auth step needs credentials (auth: in the module, or --auth-user)' },
    { names: ['send'], auth: true, message: 'the send step needs recipients (send.to in the module, or --to)' },
    // An unknown name is reported before a missing credential.
    { names: ['auth', 'bogus'], message: 'unknown step "bogus" (steps: banner, ehlo, starttls, auth, send, noop, quit)' },
  ];
  for (const c of bad) {
    it(`[${c.names.join(',')}] → ${c.message}`, () => {
      expect(normalizeSteps(c.names, c.auth ?? false, c.send ?? false)).toEqual({ ok: false, message: c.message });
    });
  }
});
