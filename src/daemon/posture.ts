import type { Clock } from '../core/clock.js';
import { deadline } from '../core/deadline.js';
import {
  VERDICT_RANK, findingPlace, postureChanges, type PostureChange, type PostureFinding, type PostureModuleSettings, type PostureSnapshot,
} from '../core/posture.js';
import type { ConfiguredTarget } from '../config/resolve.js';
import { createSecureDns, memoizeSecureDns, type SecureDns } from '../dns/secure.js';
import type { Logger } from '../log.js';
import type { RunMetrics } from '../metrics/run.js';
import type { ModuleSettings } from '../plan/build.js';
import { DEFAULTS } from '../plan/defaults.js';
import { postureRequestOf } from '../posture/request.js';
import { runPosture, type PostureDeps, type PostureRequest, type PostureRun } from '../posture/run.js';
import { Scheduler, type Job } from '../scheduler/scheduler.js';

export interface PostureJobsOptions {
  clock: Clock;
  logger: Logger;
  metrics: RunMetrics;
  /** A finished run of a target, for the posture alert rules. */
  onRun: (target: ConfiguredTarget, settings: PostureModuleSettings, domain: string, findings: readonly PostureFinding[]) => void;
  /** Tests: the DNS client of a run (default: the module's dns_server, else the system's resolver, with the AD bit read). */
  dns?: (settings: PostureModuleSettings, signal: AbortSignal) => SecureDns;
  /** Tests: the MTA-STS HTTPS fetch. */
  stsFetch?: PostureDeps['stsFetch'];
}

interface Entry {
  target: ConfiguredTarget;
  settings: PostureModuleSettings;
  /** The run's request, made once from the target and its settings. */
  req: PostureRequest;
  fingerprint: string;
  /** The run going, if any: aborted when the target or its settings change or go, and at stop. */
  controller: AbortController | null;
}

/**
 * The daemon's posture runs: each target whose module has `posture:` gets one at most once per `every`, on hashed
 * fixed-rate slots of a scheduler of their own (the first within one `every` of the start, spread by the target's
 * name; never two at once per target). A run's findings replace the target's smtp_probe_posture_* series and go to
 * the posture alert rules. Runs in the main thread: DNS questions and a few short sessions, I/O bound. A reload
 * cancels the run of a target that went or whose settings changed; stop cancels every run at once.
 */
export class PostureJobs {
  private readonly scheduler: Scheduler;
  private entries = new Map<string, Entry>();
  /** Each target's last posture run (what the API and the target page show); gone with the target or its posture:. */
  private readonly last = new Map<string, PostureSnapshot>();

  constructor(private readonly opts: PostureJobsOptions) {
    this.scheduler = new Scheduler({
      clock: opts.clock,
      concurrency: Infinity,
      onError: (key, e) => opts.logger.error({ target: key, err: e }, 'posture run failed unexpectedly'),
    });
  }

  /** The targets the daemon runs now (its shard's) under their modules: posture jobs added, changed, removed. */
  apply(targets: readonly ConfiguredTarget[], modules: Readonly<Record<string, ModuleSettings>>): void {
    const next = new Map<string, Entry>();
    for (const target of targets) {
      const settings = modules[target.module]?.posture;
      if (!settings) continue;
      const req = postureRequestOf(target.plan, settings);
      const fingerprint = JSON.stringify([req, settings, target.plan.dnsServers, target.meta]);
      const old = this.entries.get(target.name);
      next.set(target.name, old?.fingerprint === fingerprint ? old : { target, settings, req, fingerprint, controller: null });
    }
    for (const [name, old] of this.entries) {
      if (next.get(name) === old) continue;
      old.controller?.abort();
      if (!next.has(name)) {
        this.opts.metrics.forgetPosture(name);
        this.last.delete(name);
      }
    }
    this.entries = next;
    this.scheduler.replace([...next.values()].map((e): Job => ({ key: e.target.name, intervalMs: e.settings.everyMs, run: (signal) => this.runOnce(e, signal) })));
  }

  /** The target's last posture run; null before its first (or when its module has no posture:). */
  snapshot(name: string): PostureSnapshot | null {
    return this.last.get(name) ?? null;
  }

  /** No more runs; the ones going are cut short at once. */
  async stop(): Promise<void> {
    for (const e of this.entries.values()) e.controller?.abort();
    await this.scheduler.stop(0);
  }

  private async runOnce(e: Entry, signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.opts;
    const controller = new AbortController();
    e.controller = controller;
    // A run never outlasts its every: the next one is due then.
    const bound = deadline(e.settings.everyMs, [signal, controller.signal], clock);
    try {
      const dns = this.dnsOf(e, bound.signal);
      if (!dns) return;
      const { req } = e;
      const deps: PostureDeps = { dns: memoizeSecureDns(dns), clock, signal: bound.signal, ...(this.opts.stsFetch ? { stsFetch: this.opts.stsFetch } : {}) };
      const run = await runPosture(req, deps);
      if (bound.signal.aborted) {
        logger.info({ target: e.target.name }, 'posture run cut short (stop, reload or its every); its findings are not recorded');
        return;
      }
      this.opts.metrics.recordPosture(e.target.meta, run.findings, clock.wallNow());
      this.log(e.target, req.domain, run);
      this.keep(e.target.name, req.domain, run);
      this.opts.onRun(e.target, e.settings, req.domain, run.findings);
    } finally {
      bound.dispose();
      if (e.controller === controller) e.controller = null;
    }
  }

  private dnsOf(e: Entry, signal: AbortSignal): SecureDns | null {
    if (this.opts.dns) return this.opts.dns(e.settings, signal);
    const server = e.settings.dnsServer ?? e.target.plan.dnsServers?.[0] ?? null;
    try {
      return createSecureDns({ server, timeoutMs: DEFAULTS.posture.dnsTimeoutMs, clock: this.opts.clock, signal });
    } catch (err) {
      this.opts.logger.warn({ target: e.target.name, message: err instanceof Error ? err.message : String(err) }, 'posture run could not start');
      return null;
    }
  }

  /** The run becomes the target's last; what moved since the one before is logged (warn when anything got worse). */
  private keep(name: string, domain: string, run: PostureRun): void {
    const before = this.last.get(name);
    const changes = before ? postureChanges(before.findings, run.findings) : [];
    const mx = run.mx.map((m) => ({ host: m.host, preference: m.preference, addresses: [...m.addresses] }));
    const at = new Date(this.opts.clock.wallNow()).toISOString();
    const lastChange = changes.length > 0 ? { at, previousAt: before!.at, changes } : (before?.lastChange ?? null);
    this.last.set(name, { at, domain, mx, findings: run.findings, problems: run.problems, previousAt: before?.at ?? null, lastChange });
    if (changes.length === 0) return;
    const rank = (v: PostureChange['from']): number => (v === null ? 0 : VERDICT_RANK[v]);
    const worse = changes.some((c) => rank(c.to) > rank(c.from) && c.to !== 'pass');
    const lines = changes.map((c) => `${c.check} at ${findingPlace(c, domain)}: ${c.from ?? 'new'} → ${c.to ?? 'gone'}${c.reason ? ` (${c.reason})` : ''}`);
    const line = { target: name, domain, since: before!.at, changes: lines };
    if (worse) this.opts.logger.warn(line, 'posture changed for the worse');
    else this.opts.logger.info(line, 'posture changed');
  }

  private log(t: ConfiguredTarget, domain: string, run: PostureRun): void {
    const count = (v: string): number => run.findings.filter((f) => f.result === v).length;
    const line = {
      target: t.name, domain, mxHosts: run.mx.length, pass: count('pass'), warn: count('warn'), fail: count('fail'), na: count('n/a'),
      ...(run.problems.length > 0 ? { problems: run.problems } : {}),
    };
    const failing = run.findings.filter((f) => f.result === 'fail');
    if (failing.length === 0 && run.problems.length === 0) {
      this.opts.logger.info(line, 'posture run finished');
      return;
    }
    this.opts.logger.warn({ ...line, failing: failing.map((f) => `${f.check} at ${findingPlace(f, domain)}: ${f.reason ?? ''} ${f.detail}`.trim()) }, 'posture run finished with failures');
  }
}
