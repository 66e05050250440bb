import type { PostureCheckName, PostureFinding } from '../core/posture.js';
import type { CheckResult, FailureReason, Phase } from '../core/result.js';

/** Rule kinds (README "Alerting", config `alerts.rules`), plus the probe's own `isolated` alert for failure storms. */
export type AlertKind = 'down' | 'slow' | 'certificate' | 'capability' | 'posture' | 'isolated';

/** A rule with every default applied and every duration in milliseconds; built once at config load. */
export interface AlertRule {
  name: string;
  kind: AlertKind;
  receivers: readonly string[];
  /** null: every target (unless `modules` selects). */
  targets: readonly string[] | null;
  modules: readonly string[] | null;
  /** Consecutive bad runs before firing (`slow`: its `consecutive`). */
  failureThreshold: number;
  /** Consecutive good runs before resolving. */
  successThreshold: number;
  /** Repeat a firing notification this often while it lasts; 0: never. */
  reminderIntervalMs: number;
  sendResolved: boolean;
  /** mx:// targets: each MX host on its own (`host`), or the domain as a whole (`domain`: all MX hosts failing). */
  scope: 'host' | 'domain';
  phase?: Phase;
  overMs?: number;
  daysLeftUnder?: number;
  require?: readonly string[];
  authBeforeTls?: boolean;
  /** `posture`: the checks it watches (all when the rule names none)... */
  postureChecks?: readonly PostureCheckName[];
  /** ...and the verdict that counts as bad: fail only, or warn and fail. */
  postureOn?: 'fail' | 'warn';
}

/** `alerts.isolated`: the thresholds of the probe's own alert for failure storms (storm.ts). */
export interface IsolatedSettings {
  /** Runs in a row a target must fail for network reasons to count toward the storm that pages. */
  failureThreshold: number;
  /** Runs in a row a target must answer to count as back. */
  successThreshold: number;
}

/** One alert instance: a rule applied to one target. Persisted in the state file. */
export interface AlertState {
  rule: string;
  target: string;
  status: 'ok' | 'firing';
  /** Consecutive runs the rule judged bad / good. */
  badStreak: number;
  goodStreak: number;
  /** When the current streak of bad runs began (ISO); the alert's startsAt once it fires. */
  badSince: string | null;
  /** When the alert fired (ISO); null while ok. */
  firedAt: string | null;
  /** The firing notification was queued (not silenced): its resolve is owed. */
  notified: boolean;
  /** Last firing or reminder notification queued (ISO). */
  lastNotifiedAt: string | null;
}

export type NotificationKind = 'firing' | 'reminder' | 'resolved' | 'refresh';

/**
 * What the state machine asks to be delivered. Receivers turn it into their own payload (providers/*).
 * `refresh` is the Alertmanager re-post of a firing alert on every run, which other receivers ignore.
 */
export interface Notification {
  /** Unique and stable across restarts: the delivery queue deduplicates on it. */
  id: string;
  receiver: string;
  kind: NotificationKind;
  status: 'firing' | 'resolved';
  alert: string;
  alertKind: AlertKind;
  target: string;
  labels: Readonly<Record<string, string>>;
  startsAt: string;
  endsAt: string | null;
  summary: string;
  failure: { phase: Phase; reason: FailureReason; code: number | null } | null;
  /** The result record that caused it (null for `isolated`, which summarises many, and for `posture`). */
  result: CheckResult | null;
  /** `posture`: the findings of the run that the rule judged bad (its checks at its `on` level or worse); else absent. */
  findings?: readonly PostureFinding[];
  /** The target's interval: Alertmanager's endsAt for a firing alert is now + 3 intervals. */
  intervalMs: number;
  createdAt: string;
}

/** What a rule says of one result. `unknown`: the run did not get far enough to tell (streaks unchanged). */
export type Verdict = 'bad' | 'good' | 'unknown';

/**
 * What happened to an alert, as the engine reports it (`AlertEngineOptions.onEvent`): it fired (its firing was
 * sent), was reminded, resolved, or went firing while a silence or a failure storm held its notification back.
 */
export interface AlertEngineEvent {
  event: 'fired' | 'resolved' | 'reminded' | 'silenced';
  rule: string;
  target: string;
  /** Wall-clock ms. */
  at: number;
  /** The rule's summary of the result, or why nothing was sent. */
  detail: string | null;
}

/** An alert firing now (`AlertEngine.firing()`). */
export interface FiringState {
  rule: string;
  kind: AlertKind;
  target: string;
  /** When it fired (ISO): the first bad run of its streak. */
  since: string;
  /** The rule's summary of the last bad result; null until a run has been judged since a restart. */
  summary: string | null;
}
