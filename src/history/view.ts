/**
 * What the daemon shows of its targets and alerts: the JSON of `/api/v1/` and the data the status pages and badges
 * are drawn from. Plain data, built by the history room from the kept runs and read by `src/web/` and the API.
 */
import type { PostureSnapshot } from '../core/posture.js';
import type { CheckResult } from '../core/result.js';

export type TargetStatus = 'ok' | 'failing' | 'pending';

/** One kept run: when, whether it passed, how long, and why not (`describeFailure` text, secrets masked). */
export interface RunSummary {
  startedAt: string;
  ok: boolean;
  durationMs: number;
  /** e.g. `rcpt (reply): 550 5.1.1 <x@y>: Recipient address rejected`; null when ok. */
  failure: string | null;
}

/** One target on the status page and in `GET /api/v1/targets`. */
export interface TargetView {
  name: string;
  url: string;
  module: string;
  labels: Record<string, string>;
  status: TargetStatus;
  /** startedAt of the last run, null before the first. */
  lastRun: string | null;
  /** Share of passing runs, 0..1; null when no run fell in the window. */
  uptime: { '1h': number | null; '24h': number | null };
  /** Over the kept history's passing runs; null when there is none. */
  latencyMs: { p50: number | null; p95: number | null };
  /** From the last run that reached TLS; null when none did. */
  certDaysLeft: number | null;
  /** Names of the alert rules firing for this target (for mx:// targets also per host: `rule (host)`). */
  firingAlerts: string[];
}

/** `GET /api/v1/targets/{name}` and the page `/targets/{name}`. */
export interface TargetDetail extends TargetView {
  /** Oldest first, at most global.history. */
  history: RunSummary[];
  /**
   * Full records, transcript included (secrets masked as in `--transcript`). mx://: the worst host's record.
   */
  lastResult: CheckResult | null;
  /** The last failed record, with its transcript; null when no kept run failed. */
  lastFailure: CheckResult | null;
  /**
   * The record of the last run that passed (mx://: its slowest host's), transcript included: the good run to read
   * beside a failure. The same record as lastResult while the target passes; null when no kept run passed.
   */
  lastSuccess: CheckResult | null;
  /** mx:// targets: the last run's record of every MX host; [] for other targets. */
  lastResults: CheckResult[];
  /** The last posture run (a module with `posture:`) and what moved since the one before; null before the first. */
  posture: PostureSnapshot | null;
}

export const ALERT_EVENTS = ['fired', 'resolved', 'reminded', 'silenced', 'delivered', 'delivery_failed', 'dropped'] as const;
export type AlertEventKind = (typeof ALERT_EVENTS)[number];

/** One alert event, newest last in `AlertsView.events` (the last 50 kept). */
export interface AlertEvent {
  at: string;
  event: AlertEventKind;
  rule: string;
  target: string;
  /** The receiver of a delivered / failed / dropped notification; null for the others. */
  receiver: string | null;
  /** Why: the delivery error, the silence, ...; null when there is nothing to say. */
  detail: string | null;
}

export interface FiringAlert {
  rule: string;
  target: string;
  /** When it fired (ISO). */
  since: string;
  severity: string | null;
  summary: string | null;
}

/** `GET /api/v1/alerts`. */
export interface AlertsView {
  firing: FiringAlert[];
  events: AlertEvent[];
}

/** What `src/web/` and the API read from the running daemon. */
export interface StatusSource {
  version: string;
  targets(): TargetView[];
  /** Every target with its history (only those of one status, when given): the status page's rows in one pass. */
  details(only?: TargetStatus): TargetDetail[];
  target(name: string): TargetDetail | null;
  alerts(): AlertsView;
}
