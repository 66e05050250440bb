import { allLoopback } from '../capacity/limits.js';
import { capacityPlan, resolveAddresses } from '../capacity/plan.js';
import { runCapacity } from '../capacity/run.js';
import type { CapacityModuleSettings, CapacityReport } from '../core/capacity.js';
import type { Clock } from '../core/clock.js';
import { bounded, deadline } from '../core/deadline.js';
import type { ConfiguredTarget } from '../config/resolve.js';
import type { Logger } from '../log.js';
import type { RunMetrics } from '../metrics/run.js';
import type { ModuleSettings } from '../plan/build.js';
import { withPlanDns } from '../runner/mx.js';
import type { Lookup } from '../runner/run.js';
import { Scheduler, type Job } from '../scheduler/scheduler.js';

export interface CapacityJobsOptions {
  clock: Clock;
  lookup: Lookup;
  logger: Logger;
  metrics: RunMetrics;
}

/** A target whose module has `capacity:`, and what its runs are made from (to tell a reload that changes them). */
interface Entry {
  target: ConfiguredTarget;
  settings: CapacityModuleSettings;
  fingerprint: string;
  /** The run going, if any: aborted when the target or its settings change or go, and at stop. */
  controller: AbortController | null;
}

/**
 * The daemon's capacity runs: each target whose module has `capacity:` gets one at most once per `every`, on
 * hashed fixed-rate slots of a scheduler of their own (the first within one `every` of the start, spread by the
 * target's name; never two at once per target). A capacity run and the target's own check never overlap: each
 * waits for the other (`guard`), so a check does not meet the load (or the 421s) of our own capacity run, nor a
 * capacity run the check's connection. Runs in the main thread: they are I/O bound, a handful of sockets each.
 * A reload cancels the run of a target that went or whose settings changed; stop cancels every run at once.
 */
export class CapacityJobs {
  private readonly scheduler: Scheduler;
  private entries = new Map<string, Entry>();
  /** Per target, the tail of the chain of runs (check or capacity) that hold it, one after another. */
  private readonly locks = new Map<string, Promise<void>>();

  constructor(private readonly opts: CapacityJobsOptions) {
    this.scheduler = new Scheduler({
      clock: opts.clock,
      concurrency: Infinity,
      onError: (key, e) => opts.logger.error({ target: key, err: e }, 'capacity run failed unexpectedly'),
    });
  }

  /** The targets the daemon runs now (its shard's) under their modules: capacity jobs added, changed, removed. */
  apply(targets: readonly ConfiguredTarget[], modules: Readonly<Record<string, ModuleSettings>>): void {
    const next = new Map<string, Entry>();
    for (const target of targets) {
      const settings = modules[target.module]?.capacity;
      if (!settings) continue; // (config refuses capacity: on an mx:// target)
      const fingerprint = fingerprintOf(target, settings);
      const old = this.entries.get(target.name);
      if (old?.fingerprint !== fingerprint) {
        next.set(target.name, { target, settings, fingerprint, controller: null });
        continue;
      }
      // The run going goes on; the next one takes the target as reloaded (a rotated CA, new dns_servers).
      Object.assign(old, { target, settings });
      next.set(target.name, old);
    }
    for (const [name, old] of this.entries) {
      if (next.get(name) === old) continue;
      old.controller?.abort();
      if (!next.has(name)) this.opts.metrics.forgetCapacity(name);
    }
    this.entries = next;
    this.scheduler.replace([...next.values()].map((e) => this.job(e)));
  }

  /** A target's own check job, made to wait while the target's capacity run holds it (and to hold it meanwhile). */
  guard(job: Job): Job {
    if (!this.entries.has(job.key)) return job;
    return { key: job.key, intervalMs: job.intervalMs, run: (signal) => this.exclusive(job.key, signal, () => job.run(signal)) };
  }

  /** No more runs; the ones going are cut short at once (their sockets closed). */
  async stop(): Promise<void> {
    for (const e of this.entries.values()) e.controller?.abort();
    await this.scheduler.stop(0);
  }

  private job(e: Entry): Job {
    return { key: e.target.name, intervalMs: e.settings.everyMs, run: (signal) => this.runOnce(e, signal) };
  }

  private async runOnce(e: Entry, signal: AbortSignal): Promise<void> {
    const controller = new AbortController();
    e.controller = controller;
    const bound = deadline(null, [signal, controller.signal], this.opts.clock);
    try {
      await this.exclusive(e.target.name, bound.signal, async () => {
        const report = await this.measure(e, bound.signal);
        if (report) this.record(e.target, report);
      });
    } finally {
      bound.dispose();
      if (e.controller === controller) e.controller = null;
    }
  }

  /** One capacity run of the target; null when it could not start (logged). */
  private async measure(e: Entry, signal: AbortSignal): Promise<CapacityReport | null> {
    const { clock, logger } = this.opts;
    const plan = capacityPlan(e.target.plan, e.settings);
    const deps = { now: () => clock.now(), wallNow: () => clock.wallNow(), setTimer: clock.setTimer.bind(clock), signal };
    const lookup = withPlanDns(e.target.plan, { ...deps, lookup: this.opts.lookup }).lookup;
    const addresses = await resolveAddresses(plan, lookup, clock, signal);
    if (typeof addresses === 'string') {
      if (!signal.aborted) logger.warn({ target: e.target.name, message: addresses }, 'capacity run could not start');
      return null;
    }
    return runCapacity(plan, { address: addresses[0]!, loopback: allLoopback(addresses) }, deps);
  }

  private record(t: ConfiguredTarget, r: CapacityReport): void {
    const line = {
      target: t.name, ok: r.ok, started: r.started, accepted: r.results.accepted, maxConcurrentOk: r.maxConcurrentOk,
      elapsedMs: r.elapsedMs, ...(r.stoppedBy421 ? { stoppedBy421: r.stoppedBy421.reply } : {}),
    };
    if (r.interrupted) {
      this.opts.logger.info(line, 'capacity run cut short (stop or reload); its figures are not recorded');
      return;
    }
    this.opts.metrics.recordCapacity(t.meta, r, this.opts.clock.wallNow());
    if (r.ok) this.opts.logger.info(line, 'capacity run finished');
    else this.opts.logger.warn({ ...line, problems: r.problems.map((p) => `${p.result} in ${p.phase} (${p.count}x): ${p.message}`) }, 'capacity run finished with failures');
  }

  /**
   * `fn` once every earlier holder of the target is done (in the order they asked); skipped when `signal` aborts
   * while waiting. Holders after this one wait for it in turn.
   */
  private async exclusive(name: string, signal: AbortSignal, fn: () => Promise<void>): Promise<void> {
    const before = this.locks.get(name) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    try {
      await bounded(before, null, signal, this.opts.clock, () => undefined);
      if (!signal.aborted) await fn();
    } finally {
      release();
    }
  }
}

/** What a capacity run of the target is made of, as text (the CA and client key left out: a reload keeps runs going). */
function fingerprintOf(t: ConfiguredTarget, s: CapacityModuleSettings): string {
  const { tlsParams, ...plan } = capacityPlan(t.plan, s);
  return JSON.stringify([plan, tlsParams.servername, tlsParams.insecure, tlsParams.minVersion ?? null, t.meta]);
}
