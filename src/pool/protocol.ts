import type { CheckPlan } from '../core/plan.js';
import type { CheckResult } from '../core/result.js';

/**
 * What the main thread and a worker thread say to each other: plain data only (structured clone). A plan holds
 * secrets in memory: it crosses to the worker and is never logged, on either side.
 */

/** A round-trip target's late and never-delivered messages so far (its tracker's counts). */
export interface TrackerTotals {
  late: number;
  never: number;
}

/** Main → worker. */
export type ToWorker =
  /**
   * One scheduled run of a configured target: `runTarget` (MX fan-out, round trip). `plan` is sent when this worker
   * has not got plan `planId` of the target yet (first run, or a reload changed it), else null: the worker keeps
   * the last plan of each target.
   */
  | { type: 'target'; id: number; target: string; planId: number; plan: CheckPlan | null }
  /** One /probe run: `runCheck` of a plan built for this request. */
  | { type: 'check'; id: number; plan: CheckPlan }
  /** The run's signal aborted (scheduler, deadline, shutdown): it ends with its normal aborted result. */
  | { type: 'abort'; id: number }
  /** Targets no longer configured: their plans and trackers (and mailbox clients) go. */
  | { type: 'forget'; targets: string[] }
  /** Are you there (after a run's watchdog fired)? */
  | { type: 'ping'; id: number }
  /** Tests only (a pool made with testHooks): end the thread the hard way, or hold its event loop. */
  | { type: 'test'; action: 'throw' | 'exit' | 'hang'; ms: number };

/** Worker → main. */
export type FromWorker =
  /** Loaded and listening. */
  | { type: 'ready' }
  /** A run's results (one, or one per MX host) and, for a round-trip target, its tracker's counts. */
  | { type: 'done'; id: number; results: CheckResult[]; totals: TrackerTotals | null }
  /** A run that threw instead of returning a result (a bug): it ends as an `internal` failure. */
  | { type: 'failed'; id: number; message: string }
  | { type: 'pong'; id: number };

/** The worker's `workerData`. */
export interface WorkerSetup {
  /** Index of the worker in the pool, for its messages. */
  index: number;
  /** Honour `test` messages. */
  testHooks: boolean;
}
