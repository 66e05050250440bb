/** Rules applied to result records: each kind, selection, silences, storms, reload, restart. */
import { describe, expect, test } from 'vitest';
import { AlertEngine, ISOLATED_ALERT, type AlertTarget, type IsolatedSettings, type Silence } from '../../src/alerts/engine.js';
import type { z } from 'zod';
import { resolveIsolated, resolveRules } from '../../src/alerts/rules.js';
import { alertsSchema } from '../../src/config/schema.js';
import type { AlertRule, Notification } from '../../src/alerts/types.js';
import type { CheckResult } from '../../src/core/result.js';
import { capabilityFacts } from '../../src/smtp/ehlo.js';
import { authFailure, connectTimeout, fullSuccess, tlsInfo } from '../metrics/fixtures.js';

const T0 = Date.UTC(2026, 10, 26, 3, 0, 0);

function setup(
  rules: AlertRule[],
  silences: Silence[] = [],
  initial = [] as ReturnType<AlertEngine['snapshot']>,
  isolated?: IsolatedSettings,
) {
  let now = T0;
  const sent: Notification[] = [];
  const engine = new AlertEngine({ rules, silences, now: () => now, notify: (n) => sent.push(n), initial, ...(isolated ? { isolated } : {}) });
  const tick = (ms = 60_000): void => void (now += ms);
  return { engine, sent, tick, kinds: () => sent.map((n) => `${n.kind}:${n.alert}:${n.target}:${n.receiver}`) };
}

const target = (name: string, module = 'mx', labels: Record<string, string> = { env: 'prod' }): AlertTarget => ({ name, module, labels, intervalMs: 60_000 });

/** Rules as a config file writes them, through the config schema (durations become milliseconds there). */
function rules(yamlRules: z.input<typeof alertsSchema>['rules'], defaults = {}): AlertRule[] {
  return resolveRules(alertsSchema.parse({ rules: yamlRules, defaults }));
}

const down = rules([{ name: 'smtp_probe_down', kind: 'down', receivers: ['ops', 'am'] }]);

describe('down', () => {
  test('three failures fire once per receiver; two successes resolve once per receiver', () => {
    const { engine, tick, kinds, sent } = setup(down);
    const t = target('mx1');
    for (let i = 0; i < 3; i += 1, tick()) engine.observe(t, authFailure('mx1'));
    expect(kinds()).toEqual(['firing:smtp_probe_down:mx1:ops', 'firing:smtp_probe_down:mx1:am']);
    expect(sent[0]).toMatchObject({
      status: 'firing', labels: { env: 'prod' }, startsAt: new Date(T0).toISOString(), endsAt: null,
      failure: { phase: 'auth', reason: 'reply', code: 535 },
    });
    expect(sent[0]!.summary).toMatch(/failed at auth \(reply 535\)/);
    sent.length = 0;
    engine.observe(t, fullSuccess('mx1'));
    tick();
    engine.observe(t, fullSuccess('mx1'));
    expect(kinds()).toEqual([
      'refresh:smtp_probe_down:mx1:ops', 'refresh:smtp_probe_down:mx1:am', 'resolved:smtp_probe_down:mx1:ops', 'resolved:smtp_probe_down:mx1:am',
    ]);
    expect(sent.at(-1)).toMatchObject({ status: 'resolved', startsAt: new Date(T0).toISOString(), endsAt: new Date(T0 + 4 * 60_000).toISOString() });
  });

  test('notification ids are stable for firing and resolved (the queue deduplicates on them)', () => {
    const a = setup(down);
    const b = setup(down);
    for (const s of [a, b]) for (let i = 0; i < 3; i += 1, s.tick()) s.engine.observe(target('mx1'), authFailure('mx1'));
    expect(a.sent.map((n) => n.id)).toEqual(b.sent.map((n) => n.id));
  });

  test('the transcript never travels in a notification', () => {
    const { engine, sent, tick } = setup(rules([{ name: 'd', kind: 'down', receivers: ['ops'], failure_threshold: 1 }]));
    engine.observe(target('mx1'), authFailure('mx1', { transcript: [{ t: 1, dir: 'C', line: 'AUTH PLAIN ***' }] }));
    tick();
    expect(sent[0]!.result).not.toHaveProperty('transcript');
  });
});

describe('slow, certificate, capability', () => {
  const slowResult = (ms: number): CheckResult => {
    const r = fullSuccess('mx1');
    return { ...r, phases: r.phases.map((p) => (p.phase === 'message' ? { ...p, durationMs: ms } : p)) };
  };

  test('slow: a phase over the limit for `consecutive` runs', () => {
    const { engine, kinds, tick } = setup(rules([{ name: 'slow_accept', kind: 'slow', phase: 'message', over: '2s', consecutive: 3, receivers: ['ops'] }]));
    for (const ms of [2500, 2600, 100, 2500, 2600, 2700]) {
      engine.observe(target('mx1'), slowResult(ms));
      tick();
    }
    expect(kinds()).toEqual(['firing:slow_accept:mx1:ops']);
  });

  test('slow: a run that never reached the phase changes nothing', () => {
    const { engine, kinds } = setup(rules([{ name: 's', kind: 'slow', phase: 'message', over: '2s', consecutive: 1, receivers: ['ops'] }]));
    engine.observe(target('mx1'), connectTimeout('mx1'));
    expect(kinds()).toEqual([]);
  });

  test('certificate: days left under the threshold fires on the first run', () => {
    const { engine, sent } = setup(rules([{ name: 'cert', kind: 'certificate', days_left_under: 14, receivers: ['ops'] }]));
    engine.observe(target('mx1'), fullSuccess('mx1', { tls: tlsInfo({ daysLeft: 9 }) }));
    expect(sent.map((n) => n.kind)).toEqual(['firing']);
    expect(sent[0]!.summary).toMatch(/expires in 9 days/);
  });

  test('capability: STARTTLS disappearing from the plaintext EHLO fires; AUTH before TLS fires', () => {
    const { engine, kinds, tick } = setup(
      rules([
        { name: 'tls_dropped', kind: 'capability', require: ['STARTTLS'], receivers: ['ops'], failure_threshold: 1 },
        { name: 'auth_plain', kind: 'capability', auth_before_tls: true, receivers: ['ops'], failure_threshold: 1 },
      ]),
    );
    // The runner records the capability facts of each run (what the rules watch); the rules read only those.
    const withFacts = (r: CheckResult): CheckResult => ({
      ...r,
      ...capabilityFacts(r.capabilitiesBeforeTls ?? r.capabilities, r.capabilities, ['STARTTLS'], r.capabilitiesBeforeTls === null && r.tls !== null),
    });
    engine.observe(target('mx1'), withFacts(fullSuccess('mx1')));
    tick();
    engine.observe(target('mx1'), withFacts(fullSuccess('mx1', { capabilitiesBeforeTls: { PIPELINING: '', AUTH: 'PLAIN' }, tls: null })));
    expect(kinds()).toEqual(['firing:tls_dropped:mx1:ops', 'firing:auth_plain:mx1:ops']);
  });
});

describe('selection and silences', () => {
  test('rules select targets or modules', () => {
    const { engine, kinds } = setup(
      rules([
        { name: 'by_target', kind: 'down', targets: ['mx2'], receivers: ['ops'], failure_threshold: 1 },
        { name: 'by_module', kind: 'down', modules: ['submission'], receivers: ['ops'], failure_threshold: 1 },
      ]),
    );
    engine.observe(target('mx1', 'mx'), authFailure('mx1'));
    engine.observe(target('mx2', 'mx'), authFailure('mx2'));
    engine.observe(target('sub', 'submission'), authFailure('sub'));
    expect(kinds()).toEqual(['firing:by_target:mx2:ops', 'firing:by_module:sub:ops']);
  });

  test('a maintenance window holds the firing back; it goes out when the window ends if still down', () => {
    const silence: Silence = { targets: ['mx1'], modules: null, startsMs: T0, endsMs: T0 + 10 * 60_000 };
    const { engine, kinds, tick } = setup(rules([{ name: 'd', kind: 'down', receivers: ['ops'], failure_threshold: 1 }]), [silence]);
    for (let i = 0; i < 10; i += 1, tick()) engine.observe(target('mx1'), authFailure('mx1'));
    expect(kinds()).toEqual([]);
    engine.observe(target('mx1'), authFailure('mx1'));
    expect(kinds()).toEqual(['firing:d:mx1:ops']);
  });
});

describe('storms', () => {
  test('most targets failing at once: one isolated alert, per-target down alerts held back, then released', () => {
    const { engine, sent, tick } = setup(rules([{ name: 'down', kind: 'down', receivers: ['ops'], failure_threshold: 2 }]));
    const targets = Array.from({ length: 100 }, (_, i) => target(`mx${i}`));
    for (const t of targets) engine.observe(t, fullSuccess(t.name));
    tick();
    for (let round = 0; round < 3; round += 1, tick()) for (const t of targets) engine.observe(t, connectTimeout(t.name));
    const firing = sent.filter((n) => n.kind === 'firing');
    expect(firing.filter((n) => n.alert === ISOLATED_ALERT)).toHaveLength(1);
    // Before the storm was detected (half the targets), the first targets' alerts could not yet fire (threshold 2).
    expect(firing.filter((n) => n.alert === 'down')).toHaveLength(0);
    sent.length = 0;
    for (const t of targets.slice(0, 90)) engine.observe(t, fullSuccess(t.name));
    tick();
    for (const t of targets.slice(90)) engine.observe(t, connectTimeout(t.name));
    expect(sent.filter((n) => n.alert === ISOLATED_ALERT).map((n) => n.kind)).toEqual(['resolved']);
    // The ten still down are real outages now: their down alerts go out.
    expect(sent.filter((n) => n.alert === 'down' && n.kind === 'firing').map((n) => n.target)).toEqual(targets.slice(90).map((t) => t.name));
  });
});

describe('the isolated alert', () => {
  const downRule = rules([{ name: 'down', kind: 'down', receivers: ['ops'], failure_threshold: 2 }]);
  const fleet = Array.from({ length: 100 }, (_, i) => target(`mx${i}`, i < 60 ? 'maint' : 'mx'));
  /** One round: every target reports once; `failing` of them time out. */
  const round = (s: ReturnType<typeof setup>, failing: (t: AlertTarget) => boolean): void => {
    for (const t of fleet) s.engine.observe(t, failing(t) ? connectTimeout(t.name) : fullSuccess(t.name));
    s.tick();
  };
  const isolated = (s: ReturnType<typeof setup>): string[] => s.sent.filter((n) => n.alert === ISOLATED_ALERT).map((n) => n.kind);

  test('a silence over the targets whose failures make the storm silences it (planned maintenance)', () => {
    const silence: Silence = { targets: null, modules: ['maint'], startsMs: T0, endsMs: T0 + 60 * 60_000 };
    const s = setup(downRule, [silence]);
    round(s, () => false);
    for (let i = 0; i < 5; i += 1) round(s, (t) => t.module === 'maint');
    expect(isolated(s)).toEqual([]);
    expect(s.sent.filter((n) => n.kind === 'firing')).toEqual([]); // the per-target alerts are silenced too
  });

  test('one round of storm (a burst, a /probe flood) does not page; it fires when the storm holds for its threshold', () => {
    const s = setup(downRule);
    round(s, () => false);
    round(s, () => true);
    round(s, () => false);
    round(s, () => false);
    expect(isolated(s)).toEqual([]);
    round(s, () => true);
    expect(isolated(s)).toEqual([]);
    round(s, () => true);
    expect(isolated(s)).toEqual(['firing']);
  });

  test('after a restart it is judged once every configured target has reported, not on the first few results', () => {
    const first = setup(downRule);
    round(first, () => false);
    round(first, () => true);
    round(first, () => true);
    expect(isolated(first)).toEqual(['firing']);
    const sent: Notification[] = [];
    const engine = new AlertEngine({
      rules: downRule, silences: [], now: () => T0, notify: (n) => sent.push(n), initial: first.engine.snapshot(), targets: fleet,
    });
    for (const t of fleet.slice(0, 99)) engine.observe(t, fullSuccess(t.name));
    expect(sent.filter((n) => n.alert === ISOLATED_ALERT)).toEqual([]);
    engine.observe(fleet[99]!, fullSuccess('mx99'));
    expect(sent.filter((n) => n.alert === ISOLATED_ALERT).map((n) => n.kind)).toEqual(['resolved']);
  });

  test('its thresholds come from alerts.isolated', () => {
    const config = alertsSchema.parse({ isolated: { failure_threshold: 3, success_threshold: 2 } });
    const s = setup(downRule, [], [], resolveIsolated(config.isolated));
    expect(resolveIsolated(undefined)).toEqual({ failureThreshold: 2, successThreshold: 1 });
    round(s, () => false);
    for (let i = 0; i < 2; i += 1) round(s, () => true);
    expect(isolated(s)).toEqual([]);
    round(s, () => true);
    expect(isolated(s)).toEqual(['firing']);
    round(s, () => false);
    expect(isolated(s)).toEqual(['firing']);
    round(s, () => false);
    expect(isolated(s)).toEqual(['firing', 'resolved']);
  });
});

describe('reload and restart', () => {
  test('a firing alert keeps its identity across a reload: no new firing, the resolve carries its id and startsAt', () => {
    const r = rules([{ name: 'd', kind: 'down', receivers: ['ops'], failure_threshold: 1, success_threshold: 1 }]);
    const { engine, sent, tick } = setup(r);
    engine.observe(target('mx1'), authFailure('mx1'));
    tick();
    engine.replace(rules([{ name: 'd', kind: 'down', receivers: ['ops'], failure_threshold: 2, success_threshold: 1 }]), [], [target('mx1'), target('mx2')]);
    engine.observe(target('mx1'), authFailure('mx1'));
    tick();
    engine.observe(target('mx1'), fullSuccess('mx1'));
    const [firing, resolved, ...more] = sent.filter((n) => n.kind !== 'refresh');
    expect([firing!.kind, resolved!.kind, more]).toEqual(['firing', 'resolved', []]);
    expect(resolved!.id).toBe(firing!.id.replace('|firing|', '|resolved|'));
    expect(resolved!.startsAt).toBe(firing!.startsAt);
  });

  test("an MX host's alert (mx:// target, scope host) keeps its identity across a reload", () => {
    const r = rules([{ name: 'h', kind: 'down', receivers: ['ops'], failure_threshold: 1, scope: 'host' }]);
    const { engine, kinds } = setup(r);
    const host = target('example.test/mx1.example.test');
    engine.observe(host, authFailure('example.test'), 'host');
    engine.replace(r, [], [target('example.test')]);
    engine.observe(host, authFailure('example.test'), 'host');
    expect(kinds()).toEqual(['firing:h:example.test/mx1.example.test:ops', 'refresh:h:example.test/mx1.example.test:ops']);
  });

  test('a rule removed by a reload: its owed resolve goes to the receivers the rule had', () => {
    const { engine, kinds, tick } = setup(rules([{ name: 'd', kind: 'down', receivers: ['ops', 'am'], failure_threshold: 1 }]));
    engine.observe(target('mx1'), authFailure('mx1'));
    tick();
    engine.replace([], [], [target('mx1')]);
    expect(kinds()).toEqual(['firing:d:mx1:ops', 'firing:d:mx1:am', 'resolved:d:mx1:ops', 'resolved:d:mx1:am']);
  });

  test("the rule's receivers change: a receiver taken off gets the resolve now, one put on gets the firing; the end goes to the new ones", () => {
    const { engine, sent, kinds, tick } = setup(rules([{ name: 'd', kind: 'down', receivers: ['ops', 'am'], failure_threshold: 1, success_threshold: 1 }]));
    engine.observe(target('mx1'), authFailure('mx1'));
    tick();
    sent.length = 0;
    engine.replace(rules([{ name: 'd', kind: 'down', receivers: ['am', 'pager'], failure_threshold: 1, success_threshold: 1 }]), [], [target('mx1')]);
    expect(kinds()).toEqual(['resolved:d:mx1:ops', 'firing:d:mx1:pager']);
    expect(sent[0]!.summary).toMatch(/config reloaded/);
    expect(new Set(sent.map((n) => n.startsAt))).toEqual(new Set([new Date(T0).toISOString()]));
    sent.length = 0;
    tick();
    engine.observe(target('mx1'), fullSuccess('mx1'));
    expect(kinds()).toEqual(['resolved:d:mx1:am', 'resolved:d:mx1:pager']);
  });


  test('a firing alert whose target leaves the config is resolved, not forgotten', () => {
    const { engine, kinds, tick } = setup(rules([{ name: 'd', kind: 'down', receivers: ['ops'], failure_threshold: 1 }]));
    engine.observe(target('mx1'), authFailure('mx1'));
    tick();
    engine.replace(rules([{ name: 'd', kind: 'down', receivers: ['ops'], failure_threshold: 1 }]), [], [target('mx2')]);
    expect(kinds()).toEqual(['firing:d:mx1:ops', 'resolved:d:mx1:ops']);
  });

  test('restarted with the saved states mid-incident: no second firing, the resolve still comes', () => {
    const r = rules([{ name: 'd', kind: 'down', receivers: ['ops'] }]);
    const first = setup(r);
    for (let i = 0; i < 3; i += 1, first.tick()) first.engine.observe(target('mx1'), authFailure('mx1'));
    const saved = JSON.parse(JSON.stringify(first.engine.snapshot()));
    const second = setup(r, [], saved);
    second.engine.observe(target('mx1'), authFailure('mx1'));
    second.engine.observe(target('mx1'), fullSuccess('mx1'));
    second.engine.observe(target('mx1'), fullSuccess('mx1'));
    expect(second.kinds()).toEqual(['refresh:d:mx1:ops', 'refresh:d:mx1:ops', 'resolved:d:mx1:ops']);
  });
});

describe('mx:// scope', () => {
  test('host rules see each MX host; domain rules only the domain summary', () => {
    const { engine, kinds } = setup(
      rules([
        { name: 'mx_host_down', kind: 'down', receivers: ['ops'], failure_threshold: 1, scope: 'host' },
        { name: 'domain_down', kind: 'down', receivers: ['ops'], failure_threshold: 1, scope: 'domain' },
      ]),
    );
    // One MX of two fails: a degraded domain. The host rule fires for that host; the domain rule does not.
    engine.observe(target('example.test/mx2.example.test'), authFailure('example.test'), 'host');
    engine.observe(target('example.test/mx1.example.test'), fullSuccess('example.test'), 'host');
    engine.observe(target('example.test'), fullSuccess('example.test'), 'domain');
    expect(kinds()).toEqual(['firing:mx_host_down:example.test/mx2.example.test:ops']);
    // Both fail: the domain is down.
    engine.observe(target('example.test'), authFailure('example.test'), 'domain');
    expect(kinds()).toContain('firing:domain_down:example.test:ops');
  });
});
