/** The alert state machine, table-driven: sequences of verdicts → states and notifications. */
import { describe, expect, test } from 'vitest';
import { initialState, nextAlertState } from '../../src/alerts/state.js';
import type { AlertRule, AlertState, NotificationKind, Verdict } from '../../src/alerts/types.js';

const MIN = 60_000;
const rule = (over: Partial<AlertRule> = {}): AlertRule => ({
  name: 'smtp_probe_down', kind: 'down', receivers: ['ops'], targets: null, modules: null,
  failureThreshold: 3, successThreshold: 2, reminderIntervalMs: 60 * MIN, sendResolved: true, scope: 'host', ...over,
});

interface Step {
  v: Verdict;
  /** Minutes since the start. */
  at?: number;
  silenced?: boolean;
  suppressed?: boolean;
}

/** Run a sequence; return what each step emitted and the final state. */
function play(steps: (Verdict | Step)[], r: AlertRule = rule(), start: AlertState = initialState(r.name, 't1')) {
  let state = start;
  const emitted: NotificationKind[][] = [];
  steps.forEach((raw, i) => {
    const st = typeof raw === 'string' ? { v: raw } : raw;
    const out = nextAlertState(state, st.v, {
      now: Date.UTC(2026, 10, 26) + (st.at ?? i) * MIN, rule: r, silenced: st.silenced ?? false, suppressed: st.suppressed ?? false,
    });
    state = out.state;
    emitted.push(out.emit);
  });
  return { state, emitted, flat: emitted.flat() };
}

describe('down: thresholds', () => {
  test.each<[string, (Verdict | Step)[], NotificationKind[], AlertState['status']]>([
    ['below the failure threshold: nothing', ['bad', 'bad'], [], 'ok'],
    ['at the threshold: one firing', ['bad', 'bad', 'bad'], ['firing'], 'firing'],
    ['a good run resets the bad streak', ['bad', 'bad', 'good', 'bad', 'bad'], [], 'ok'],
    ['unknown keeps the streak', ['bad', 'unknown', 'bad', 'bad'], ['firing'], 'firing'],
    ['firing then bad: refresh each run, no second firing', ['bad', 'bad', 'bad', 'bad', 'bad'], ['firing', 'refresh', 'refresh'], 'firing'],
    ['one good run is not enough to resolve', ['bad', 'bad', 'bad', 'good'], ['firing', 'refresh'], 'firing'],
    ['success threshold resolves once', ['bad', 'bad', 'bad', 'good', 'good', 'good'], ['firing', 'refresh', 'resolved'], 'ok'],
    ['good, bad, good does not resolve', ['bad', 'bad', 'bad', 'good', 'bad', 'good'], ['firing', 'refresh', 'refresh', 'refresh'], 'firing'],
    ['flapping never fires', ['bad', 'good', 'bad', 'good', 'bad', 'good', 'bad'], [], 'ok'],
  ])('%s', (_name, steps, expected, status) => {
    const { flat, state } = play(steps);
    expect(flat).toEqual(expected);
    expect(state.status).toBe(status);
  });

  test('startsAt is the first bad run of the streak', () => {
    const { state } = play(['good', 'bad', 'bad', 'bad']);
    expect(state.firedAt).toBe(new Date(Date.UTC(2026, 10, 26) + 1 * MIN).toISOString());
  });

  test('send_resolved: false resolves silently', () => {
    expect(play(['bad', 'bad', 'bad', 'good', 'good'], rule({ sendResolved: false })).flat).toEqual(['firing', 'refresh']);
  });

  test('thresholds of one: fire and resolve at once', () => {
    expect(play(['bad', 'good'], rule({ failureThreshold: 1, successThreshold: 1 })).flat).toEqual(['firing', 'resolved']);
  });
});

describe('reminders', () => {
  test.each<[string, number, number[], NotificationKind[]]>([
    ['every reminder interval while firing', 10, [0, 1, 2, 5, 12, 13, 25], ['firing', 'refresh', 'reminder', 'refresh', 'reminder']],
    ['reminder_interval 0: never', 0, [0, 1, 2, 100, 200], ['firing', 'refresh', 'refresh']],
  ])('%s', (_name, reminderMin, minutes, expected) => {
    const steps = minutes.map((at) => ({ v: 'bad' as const, at }));
    const { flat } = play(steps, rule({ failureThreshold: 3, reminderIntervalMs: reminderMin * MIN }));
    expect(flat).toEqual(expected);
  });
});

describe('silences and storms', () => {
  test('a silence holds the firing back; it is sent when the silence ends', () => {
    const { emitted } = play([
      { v: 'bad', silenced: true }, { v: 'bad', silenced: true }, { v: 'bad', silenced: true }, { v: 'bad', silenced: true }, { v: 'bad' },
    ]);
    expect(emitted).toEqual([[], [], [], [], ['firing']]);
  });
  test('resolved inside a silence without ever notifying: nothing at all', () => {
    const s = (v: Verdict): Step => ({ v, silenced: true });
    expect(play([s('bad'), s('bad'), s('bad'), s('good'), s('good')]).flat).toEqual([]);
  });
  test('a resolve owed is sent even during a silence', () => {
    expect(play(['bad', 'bad', 'bad', { v: 'good', silenced: true }, { v: 'good', silenced: true }]).flat).toEqual(['firing', 'refresh', 'resolved']);
  });
  test('a silence holds reminders but keeps the per-run refresh', () => {
    const steps: Step[] = [{ v: 'bad', at: 0 }, { v: 'bad', at: 1 }, { v: 'bad', at: 2 }, { v: 'bad', at: 70, silenced: true }, { v: 'bad', at: 71 }];
    expect(play(steps).emitted).toEqual([[], [], ['firing'], ['refresh'], ['reminder']]);
  });
  test('suppressed by a storm: no firing until the storm is over', () => {
    const x = (v: Verdict): Step => ({ v, suppressed: true });
    expect(play([x('bad'), x('bad'), x('bad'), x('bad'), 'bad']).emitted).toEqual([[], [], [], [], ['firing']]);
  });
});

describe('restart', () => {
  test('a state restored mid-incident does not fire again and still resolves', () => {
    const first = play(['bad', 'bad', 'bad']);
    const restored = JSON.parse(JSON.stringify(first.state)) as AlertState;
    const after = play(['bad', 'good', 'good'], rule(), restored);
    expect(after.flat).toEqual(['refresh', 'refresh', 'resolved']);
  });
  test('the function is pure: the previous state is not modified', () => {
    const s = initialState('r', 't');
    const copy = { ...s };
    nextAlertState(s, 'bad', { now: 0, rule: rule({ failureThreshold: 1 }), silenced: false, suppressed: false });
    expect(s).toEqual(copy);
  });
});

describe('held-back alerts on the way to recovery', () => {
  test('a firing held back by a silence is not sent when the next run is already good', () => {
    const { flat } = play([{ v: 'bad', silenced: true }, { v: 'bad', silenced: true }, { v: 'bad', silenced: true }, 'good', 'good']);
    expect(flat).toEqual([]);
  });
});
