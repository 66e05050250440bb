import { setMaxListeners } from 'node:events';
import {
  CAPACITY_PHASES, CAPACITY_RESULTS, type CapacityPhase, type CapacityPhaseStats, type CapacityPlan, type CapacityProblem,
  type CapacityReport, type CapacityResult, type CapacityStop,
} from '../core/capacity.js';
import type { Clock } from '../core/clock.js';
import { nearestRank } from '../core/quantile.js';
import { deadline, sleep } from '../core/deadline.js';
import { DEFAULTS } from '../plan/defaults.js';
import { round } from '../smtp/trace.js';
import { runSession, type SessionOutcome, type SessionWatch } from './session.js';

/** Time and timers, and the interrupt (Ctrl-C, the daemon's shutdown or reload): sessions then end at once. */
export interface CapacityDeps extends Clock {
  signal?: AbortSignal;
}

/** Where the sessions go: one address (the capacity of one server), and whether it is this machine. */
export interface CapacityTarget {
  address: string;
  loopback: boolean;
}

/**
 * One capacity run: `sessions` slots, each running sessions one after another until `durationMs` has passed.
 * The first sessions start staggered (at the rate, or `staggerMs` apart without one), and no more than
 * `ratePerSecond` start per second over all slots. The first 421 stops every slot from starting another (the
 * sessions going finish). The run is bounded by `durationMs` plus one session's timeout; sessions still going
 * then end as timeouts. An interrupt ends every session at once and closes its socket.
 */
export async function runCapacity(plan: CapacityPlan, target: CapacityTarget, deps: CapacityDeps): Promise<CapacityReport> {
  const tally = new Tally(deps);
  const run = deadline(plan.durationMs + plan.sessionTimeoutMs, [deps.signal], deps);
  const halt = deadline(null, [run.signal, tally.stopped.signal], deps);
  // Every session's deadline listens to `run`, every slot's wait to `halt`: one listener per session at most.
  setMaxListeners(plan.sessions + 10, run.signal, halt.signal);
  const pacer = new Pacer(tally.start, plan.ratePerSecond === null ? null : 1000 / plan.ratePerSecond, DEFAULTS.capacity.staggerMs);
  const slot = async (i: number): Promise<void> => {
    for (let first = true; ; first = false) {
      const at = pacer.reserve(i, first, deps.now());
      if (at - tally.start >= plan.durationMs) return;
      const wait = at - deps.now();
      if (wait > 0) await sleep(wait, halt.signal, deps);
      if (halt.signal.aborted) return;
      tally.started += 1;
      tally.record(await runSession(plan, target.address, deps, run.signal, tally), deps.signal?.aborted ?? false);
    }
  };
  try {
    await Promise.all(Array.from({ length: plan.sessions }, (_, i) => slot(i)));
  } finally {
    halt.dispose();
    run.dispose();
  }
  return tally.report(plan, target, deps.signal?.aborted ?? false);
}

/** A report for a run that could not start: the name did not resolve. */
export function failedCapacity(plan: CapacityPlan, message: string, wallNow: number): CapacityReport {
  return {
    ...settingsOf(plan), address: null, loopback: false, startedAt: new Date(wallNow).toISOString(), elapsedMs: 0, ok: false,
    started: 0, results: emptyResults(), maxConcurrentOk: 0, phases: {}, stoppedBy421: null, problems: [], interrupted: false,
    failure: message,
  };
}

/** When each slot may start its next session: the first ones staggered, none sooner than the rate allows. */
class Pacer {
  private next: number;

  constructor(
    private readonly start: number,
    private readonly intervalMs: number | null,
    private readonly staggerMs: number,
  ) {
    this.next = start;
  }

  reserve(slot: number, first: boolean, now: number): number {
    if (this.intervalMs === null) return first ? Math.max(now, this.start + slot * this.staggerMs) : now;
    const at = Math.max(now, this.next);
    this.next = at + this.intervalMs;
    return at;
  }
}

/** The run's counts and samples as sessions report in; the watch of every session. */
class Tally implements SessionWatch {
  readonly start: number;
  readonly startedAt: string;
  /** Aborted at the first 421. */
  readonly stopped = new AbortController();
  started = 0;
  private open = 0;
  private healthy = 0;
  private maxHealthy = 0;
  private stop: CapacityStop | null = null;
  private readonly results = emptyResults();
  private readonly samples = new Map<CapacityPhase, number[]>(CAPACITY_PHASES.map((p) => [p, []]));
  private readonly problems = new Map<string, CapacityProblem>();

  constructor(private readonly clock: Clock) {
    this.start = clock.now();
    this.startedAt = new Date(clock.wallNow()).toISOString();
  }

  connected(): void {
    this.open += 1;
  }

  greeted(): void {
    this.healthy += 1;
    this.maxHealthy = Math.max(this.maxHealthy, this.healthy);
  }

  closed(greeted: boolean): void {
    this.open -= 1;
    if (greeted) this.healthy -= 1;
  }

  limited(phase: CapacityPhase, reply: string, greeted: boolean): void {
    if (this.stop) return;
    // The session refused is connected, and past its greeting when the 421 answers a command: not counted.
    const okSessions = this.healthy - (greeted ? 1 : 0);
    this.stop = { phase, reply, openSessions: this.open - 1, okSessions, atMs: round(this.clock.now() - this.start) };
    this.stopped.abort();
  }

  /** A session's outcome; one cut short by the interrupt is in no result and no sample. */
  record(o: SessionOutcome, interrupted: boolean): void {
    if (interrupted && o.result !== 'accepted') return;
    this.results[o.result] += 1;
    for (const [phase, ms] of Object.entries(o.timings) as [CapacityPhase, number][]) this.samples.get(phase)!.push(ms);
    if (!o.failure || o.result === 'accepted') return;
    const key = `${o.result}\n${o.failure.phase}\n${o.failure.message}`;
    const seen = this.problems.get(key);
    if (seen) seen.count += 1;
    else if (this.problems.size < DEFAULTS.capacity.maxProblems) this.problems.set(key, { result: o.result, ...o.failure, count: 1 });
  }

  report(plan: CapacityPlan, target: CapacityTarget, interrupted: boolean): CapacityReport {
    const phases: CapacityReport['phases'] = {};
    for (const [phase, list] of this.samples) if (list.length > 0) phases[phase] = summarize(list);
    const failed = CAPACITY_RESULTS.some((r) => r !== 'accepted' && this.results[r] > 0);
    return {
      ...settingsOf(plan), address: target.address, loopback: target.loopback, startedAt: this.startedAt,
      elapsedMs: round(this.clock.now() - this.start),
      ok: !interrupted && !failed && this.results.accepted > 0,
      started: this.started, results: { ...this.results }, maxConcurrentOk: this.maxHealthy, phases,
      stoppedBy421: this.stop, problems: [...this.problems.values()], interrupted, failure: null,
    };
  }
}

function settingsOf(plan: CapacityPlan): Pick<CapacityReport, 'url' | 'sessions' | 'until' | 'durationMs' | 'ratePerSecond'> {
  return { url: plan.url, sessions: plan.sessions, until: plan.until, durationMs: plan.durationMs, ratePerSecond: plan.ratePerSecond };
}

function emptyResults(): Record<CapacityResult, number> {
  return Object.fromEntries(CAPACITY_RESULTS.map((r) => [r, 0])) as Record<CapacityResult, number>;
}

/** p50 and p95 by nearest rank (a value some session really took), the max and the mean. */
export function summarize(samples: readonly number[]): CapacityPhaseStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length;
  return { count: sorted.length, meanMs: round(mean), p50Ms: round(nearestRank(sorted, 0.5)), p95Ms: round(nearestRank(sorted, 0.95)), maxMs: round(sorted[sorted.length - 1]!) };
}
