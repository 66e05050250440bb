/** What the engine tells of its alerts (the daemon's alert events): fired, reminded, resolved, silenced; what fires now. */
import { describe, expect, test } from 'vitest';
import type { z } from 'zod';
import { AlertEngine, ISOLATED_ALERT, type AlertTarget, type Silence } from '../../src/alerts/engine.js';
import { resolveRules } from '../../src/alerts/rules.js';
import type { AlertEngineEvent, AlertRule } from '../../src/alerts/types.js';
import { alertsSchema } from '../../src/config/schema.js';
import { authFailure, connectTimeout, fullSuccess } from '../metrics/fixtures.js';

const T0 = Date.UTC(2026, 10, 26, 3, 0, 0);
const target = (name: string): AlertTarget => ({ name, module: 'mx', labels: {}, intervalMs: 60_000 });
const rules = (r: z.input<typeof alertsSchema>['rules']): AlertRule[] => resolveRules(alertsSchema.parse({ rules: r }));

function setup(ruleList: AlertRule[], silences: Silence[] = [], targets?: AlertTarget[]) {
  let now = T0;
  const events: AlertEngineEvent[] = [];
  const engine = new AlertEngine({
    rules: ruleList, silences, now: () => now, notify: () => undefined, onEvent: (e) => events.push(e), ...(targets ? { targets } : {}),
  });
  const run = (t: AlertTarget, ok: boolean, n = 1): void => {
    for (let i = 0; i < n; i += 1, now += 60_000) engine.observe(t, ok ? fullSuccess(t.name) : authFailure(t.name));
  };
  const said = (): string[] => events.map((e) => `${e.event}:${e.rule}:${e.target}`);
  return { engine, events, run, said, at: () => now };
}

describe('alert events', () => {
  test('fired once at the threshold, reminded, resolved once; none for runs that change nothing', () => {
    const { run, said, events, engine } = setup(rules([{ name: 'down', kind: 'down', receivers: ['ops'], failure_threshold: 2, reminder_interval: '2m' }]));
    const mx1 = target('mx1');
    run(mx1, false);
    expect(said()).toEqual([]);
    expect(engine.firing()).toEqual([]);
    run(mx1, false);
    expect(said()).toEqual(['fired:down:mx1']);
    expect(events[0]).toMatchObject({ at: T0 + 60_000, detail: expect.stringMatching(/failed at auth \(reply 535\)/) });
    expect(engine.firing()).toEqual([
      { rule: 'down', kind: 'down', target: 'mx1', since: new Date(T0).toISOString(), summary: expect.stringMatching(/auth/) },
    ]);
    run(mx1, false, 2);
    expect(said()).toEqual(['fired:down:mx1', 'reminded:down:mx1']);
    run(mx1, true, 2); // success_threshold 2 (the default)
    expect(said()).toEqual(['fired:down:mx1', 'reminded:down:mx1', 'resolved:down:mx1']);
    expect(events.at(-1)!.detail).not.toMatch(/not sent/);
    expect(engine.firing()).toEqual([]);
  });

  test('an alert that fires under a silence is `silenced` (not `fired`); its resolve says it was never sent', () => {
    const silence: Silence = { targets: ['mx1'], modules: null, startsMs: T0 - 1, endsMs: T0 + 3_600_000 };
    const { run, said, events, engine } = setup(rules([{ name: 'down', kind: 'down', receivers: ['ops'], failure_threshold: 1 }]), [silence]);
    run(target('mx1'), false, 3);
    expect(said()).toEqual(['silenced:down:mx1']);
    expect(events[0]!.detail).toMatch(/not sent: a silence covers this target/);
    expect(engine.firing().map((f) => f.target)).toEqual(['mx1']);
    run(target('mx1'), true, 2);
    expect(said()).toEqual(['silenced:down:mx1', 'resolved:down:mx1']);
    expect(events[1]!.detail).toMatch(/not sent: its firing was never sent/);
  });

  test('a storm holds per-target down alerts back (`silenced`) and fires the isolated alert', () => {
    const fleet = ['a', 'b', 'c', 'd'].map(target);
    const { engine, events } = setup(rules([{ name: 'down', kind: 'down', receivers: ['ops'], failure_threshold: 1 }]), [], fleet);
    for (let i = 0; i < 4; i += 1) for (const t of fleet) engine.observe(t, connectTimeout(t.name));
    const isolated = events.filter((e) => e.rule === ISOLATED_ALERT);
    expect(isolated.map((e) => e.event)).toEqual(['fired']);
    expect(isolated[0]!.target).toBe('smtp-probe');
    expect(events.some((e) => e.event === 'silenced' && /failure storm/.test(e.detail ?? ''))).toBe(true);
    expect(engine.firing().find((f) => f.rule === ISOLATED_ALERT)).toMatchObject({ kind: 'isolated', target: 'smtp-probe' });
  });

  test('a reload that removes a firing alert\'s rule resolves it: an event saying why', () => {
    const down = rules([{ name: 'down', kind: 'down', receivers: ['ops'], failure_threshold: 1 }]);
    const { run, said, events, engine } = setup(down);
    run(target('mx1'), false);
    engine.replace([], [], [target('mx1')]);
    expect(said()).toEqual(['fired:down:mx1', 'resolved:down:mx1']);
    expect(events[1]!.detail).toBe('no longer monitored (config reloaded)');
    expect(engine.firing()).toEqual([]);
  });
});
