import type { AlertRule, AlertState, NotificationKind, Verdict } from './types.js';

export interface StepContext {
  /** Wall-clock ms. */
  now: number;
  rule: AlertRule;
  /** A silence covers this target now: firing and reminders are held back (a resolve owed is still sent). */
  silenced: boolean;
  /** A failure storm is being reported as one `isolated` alert: new firing notifications are held back. */
  suppressed: boolean;
}

export interface StepResult {
  state: AlertState;
  /** What to deliver, in order; the engine turns each into one notification per receiver. */
  emit: NotificationKind[];
}

export function initialState(rule: string, target: string): AlertState {
  return { rule, target, status: 'ok', badStreak: 0, goodStreak: 0, badSince: null, firedAt: null, notified: false, lastNotifiedAt: null };
}

/**
 * The alert state machine, a pure function: previous state + one verdict → next state + what
 * to notify. It never waits on delivery: a notification asked for is owed from then on (the delivery queue is
 * durable), so `notified` is set when it is emitted.
 *
 * - bad runs in a row reach `failureThreshold` → firing (startsAt = the first bad run of the streak);
 * - while firing: a reminder every `reminderIntervalMs`, and a `refresh` every run (Alertmanager's re-post);
 * - good runs in a row reach `successThreshold` → ok, and a `resolved` if the firing was sent and the rule wants it;
 * - `unknown` (the run did not get far enough to tell) changes no streak;
 * - silenced or suppressed: firing and reminders wait; the firing is sent when the silence ends if still firing;
 *   an alert already sent keeps its per-run refresh.
 */
export function nextAlertState(prev: AlertState, verdict: Verdict, ctx: StepContext): StepResult {
  const { rule, now } = ctx;
  const at = new Date(now).toISOString();
  const s: AlertState = { ...prev };
  const emit: NotificationKind[] = [];
  const quiet = ctx.silenced || ctx.suppressed;

  if (verdict === 'bad') {
    s.badStreak += 1;
    s.goodStreak = 0;
    s.badSince ??= at;
    if (s.status === 'ok' && s.badStreak >= rule.failureThreshold) {
      s.status = 'firing';
      s.firedAt = s.badSince;
    }
  } else if (verdict === 'good') {
    s.goodStreak += 1;
    s.badStreak = 0;
    s.badSince = null;
    if (s.status === 'firing' && s.goodStreak >= rule.successThreshold) {
      if (s.notified && rule.sendResolved) emit.push('resolved');
      return { state: { ...s, status: 'ok', firedAt: null, notified: false, lastNotifiedAt: null }, emit };
    }
  }

  if (s.status === 'firing') {
    const reminderDue =
      rule.reminderIntervalMs > 0 && s.lastNotifiedAt !== null && now - Date.parse(s.lastNotifiedAt) >= rule.reminderIntervalMs;
    if (!s.notified) {
      // Held back (silence, storm): sent at the next bad run, never on the way to recovery.
      if (!quiet && verdict === 'bad') {
        emit.push('firing');
        s.notified = true;
        s.lastNotifiedAt = at;
      }
    } else if (reminderDue && !quiet) {
      emit.push('reminder');
      s.lastNotifiedAt = at;
    } else {
      // Alertmanager gets the alert re-posted every run (even when silenced here: it has its own silences).
      emit.push('refresh');
    }
  }
  return { state: s, emit };
}
