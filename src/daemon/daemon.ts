import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import { deadline } from '../core/deadline.js';
import type { CheckResult } from '../core/result.js';
import { parseTargetUrl, type TargetUrl } from '../core/target.js';
import { formatIssue } from '../config/issues.js';
import { loadConfig } from '../config/load.js';
import type { ConfiguredTarget, LoadedConfig } from '../config/resolve.js';
import { buildPlan, type ModuleSettings } from '../plan/build.js';
import type { Logger } from '../log.js';
import { probeRegistry } from '../metrics/probe.js';
import { WorkerPool, poolSize, type PoolOptions } from '../pool/pool.js';
import { createRegistry } from '../metrics/registry.js';
import { RunMetrics } from '../metrics/run.js';
import { runTarget, withPlanDns } from '../runner/mx.js';
import { runCheck, type Lookup, type RunDeps } from '../runner/run.js';
import { RoundtripTracker } from '../runner/roundtrip.js';
import { Scheduler, ownOf, type Job, type Shard } from '../scheduler/scheduler.js';
import { createHttpServer, listen, text, type HttpHandlers, type HttpReply, type HttpServer } from '../server/http.js';
import { HistoryStore } from '../history/store.js';
import type { StatusSource } from '../history/view.js';
import { Alerting } from './alerting.js';
import { CapacityJobs } from './capacity.js';
import { PostureJobs, type PostureJobsOptions } from './posture.js';
import { HistoryFile } from './history-file.js';
import { statusSource } from './status.js';
import { indexReply, viewReply } from './views.js';

export interface DaemonOptions {
  configFile: string;
  env: NodeJS.ProcessEnv;
  shard: Shard | null;
  /** Overrides global.listen. */
  listen: { host: string; port: number } | null;
  clock: Clock;
  lookup: Lookup;
  logger: Logger;
  version: string;
  /** HTTP client for alert receivers (tests pass an undici MockAgent or a short-timeout Agent). */
  dispatcher?: Dispatcher;
  /** Called with every scheduled run's result, after metrics are recorded. */
  onResult?: (target: ConfiguredTarget, result: CheckResult) => void;
  /**
   * Worker threads, over global.workers. 1: runs in this thread with `clock` and `lookup`; more: runs in worker
   * threads, which use the system clock and resolver (`clock` still drives the scheduler and the watchdogs).
   */
  workers?: number;
  /** The pool's worker entry and limits (tests: the built dist/src/pool/worker.js). */
  pool?: Pick<PoolOptions, 'workerUrl' | 'watchdogMarginMs' | 'pingTimeoutMs' | 'testHooks'>;
  /** Tests: the posture runs' DNS client and MTA-STS fetch. */
  posture?: Pick<PostureJobsOptions, 'dns' | 'stsFetch'>;
}

/** blackbox_exporter's --timeout-offset: /probe answers this much before Prometheus gives up on the scrape. */
const PROBE_TIMEOUT_OFFSET_S = 0.5;
/** At stop, after aborting: how long aborted /probe runs get to answer, and open connections to end. */
const STOP_SETTLE_MS = 1000;

/**
 * The long-running monitor: the config's targets (this shard's share) on their schedule, each result recorded
 * as metrics; /probe runs one check on demand. Reload swaps the whole config or keeps the old one.
 */
export class Daemon {
  /** One listener per /probe in flight: as many as max_concurrent_probes allows, so no MaxListenersExceededWarning. */
  private static shutdownController(): AbortController {
    const c = new AbortController();
    setMaxListeners(0, c.signal);
    return c;
  }

  readonly registry: Registry;
  private readonly metrics: RunMetrics;
  private readonly scheduler: Scheduler;
  /** Capacity runs of the targets whose module has `capacity:`, on their own schedule. */
  private readonly capacity: CapacityJobs;
  /** Posture runs of the targets whose module has `posture:`, on their own schedule. */
  private readonly posture: PostureJobs;
  private readonly server: HttpServer;
  /** Every scheduled run's summary, the last records and failure per target, the alert events (`/`, `/api/v1/`). */
  private readonly history: HistoryStore;
  /** Where the history is kept across restarts (global.state_file set in the config); null: it is not. */
  private historyFile: HistoryFile | null = null;
  private readonly trackers = new Map<string, RoundtripTracker>();
  private config: LoadedConfig;
  private targets: ConfiguredTarget[] = [];
  private byName = new Map<string, ConfiguredTarget>();
  private stopping = false;
  /** Aborted at stop; every /probe in flight listens to it (bounded by global.web.max_concurrent_probes). */
  private readonly shutdown = Daemon.shutdownController();
  private alerting: Alerting | null = null;
  private externalUrl = '';
  /** Worker threads that run the checks; null: they run in this thread (workers: 1). Made at start, ended at stop. */
  private pool: WorkerPool | null = null;

  constructor(
    private readonly opts: DaemonOptions,
    config: LoadedConfig,
  ) {
    this.config = config;
    this.registry = createRegistry();
    this.metrics = new RunMetrics(this.registry, { version: opts.version, staticLabelNames: config.staticLabelNames });
    this.history = new HistoryStore({ capacity: config.global.history, now: () => opts.clock.wallNow() });
    this.capacity = new CapacityJobs({ clock: opts.clock, lookup: opts.lookup, logger: opts.logger, metrics: this.metrics });
    this.posture = new PostureJobs({
      clock: opts.clock, logger: opts.logger, metrics: this.metrics, ...opts.posture,
      onRun: (t, settings, domain, findings) => this.alerting?.observePosture(t, settings, domain, findings),
    });
    this.scheduler = new Scheduler({
      clock: opts.clock,
      concurrency: config.global.concurrency,
      onSkipped: (key) => {
        const t = this.byName.get(key);
        if (t) this.metrics.skipped(t.meta);
        opts.logger.warn({ target: key }, 'run skipped: the previous run was still going or still waiting for a free slot');
      },
      onLag: (_key, seconds) => this.metrics.observeLag(seconds),
      onError: (key, e) => opts.logger.error({ target: key, err: e }, 'run failed unexpectedly'),
    });
    this.server = createHttpServer(this.handlers(), opts.logger, config.global.web, opts.clock);
  }

  /** Load the config and build a daemon; the issues when the file does not load. */
  static create(opts: DaemonOptions): Daemon | string[] {
    const r = loadConfig(opts.configFile, { env: opts.env });
    if (!r.ok) return r.issues.map(formatIssue);
    return new Daemon(opts, r.config);
  }

  async start(at?: { host: string; port: number }): Promise<AddressInfo> {
    const where = at ?? this.opts.listen ?? this.config.global.listen;
    const address = await listen(this.server, where.host, where.port);
    const shown = address.address === '::' || address.address === '0.0.0.0' ? 'localhost' : address.address;
    this.externalUrl = `http://${shown.includes(':') ? `[${shown}]` : shown}:${address.port}/`;
    this.restoreHistory(this.config);
    this.setUpAlerting(this.config);
    this.pool = this.startPool();
    this.apply(this.config);
    this.metrics.configReloaded(true, this.opts.clock.wallNow());
    this.opts.logger.info(
      { targets: this.targets.length, shard: this.opts.shard, listen: `${address.address}:${address.port}`, workers: this.pool?.size ?? 1 },
      'smtp-probe started',
    );
    return address;
  }

  /** Re-read the config file; a bad file is logged and the running config stays. */
  async reload(): Promise<{ ok: boolean; message: string }> {
    const r = loadConfig(this.opts.configFile, { env: this.opts.env });
    if (!r.ok) {
      const lines = r.issues.map(formatIssue);
      this.metrics.configReloaded(false, this.opts.clock.wallNow());
      this.opts.logger.error({ issues: lines }, 'config reload failed; the previous config keeps running');
      return { ok: false, message: `reload failed, previous config kept:\n${lines.join('\n')}` };
    }
    const removed = this.targets.filter((t) => !r.config.targets.some((n) => n.name === t.name));
    this.metrics.setStaticLabelNames(r.config.staticLabelNames);
    this.config = r.config;
    this.server.configure(r.config.global.web);
    if (this.alerting) await this.alerting.reload(r.config);
    else this.setUpAlerting(r.config);
    this.apply(r.config);
    for (const t of removed) {
      this.metrics.forget(t.name);
      this.trackers.delete(t.name);
    }
    this.pool?.forget(removed.map((t) => t.name));
    this.history.retain(this.targets.map((t) => t.name));
    this.history.setCapacity(r.config.global.history);
    this.metrics.configReloaded(true, this.opts.clock.wallNow());
    const message = `config reloaded: ${this.targets.length} targets${this.workersChange()}`;
    this.opts.logger.info({ targets: this.targets.length, removed: removed.length }, message);
    return { ok: true, message };
  }

  /**
   * Stop new runs and new /probe requests (503), let running ones (scheduled and /probe) finish within `graceMs`,
   * then abort the rest (a /probe cut short answers 503, not a failed check) and close the HTTP server. False when
   * the alert state could not be saved; the server is closed whatever happened before.
   */
  async stop(graceMs: number): Promise<boolean> {
    if (this.stopping) return true;
    this.stopping = true;
    this.opts.logger.info({ graceMs }, 'stopping');
    try {
      await Promise.all([this.capacity.stop(), this.posture.stop(), this.scheduler.stop(graceMs), this.server.drain(graceMs)]);
      this.shutdown.abort();
      await this.server.drain(STOP_SETTLE_MS);
      const alerts = (await this.alerting?.stop(Math.min(graceMs, 5000))) ?? true;
      return (await this.historyFile?.stop()) !== false && alerts;
    } finally {
      await this.server.shutdown(STOP_SETTLE_MS); // whatever failed above, the port is released
      await this.pool?.stop(STOP_SETTLE_MS); // runs are in (or cut short) by now; no thread is left behind
    }
  }

  /** The worker pool, null when runs are in this thread (workers: 1). */
  get workerPool(): WorkerPool | null {
    return this.pool;
  }

  /** global.workers (or the workers option) over 1: runs go to worker threads; 1: they run in this thread. */
  private startPool(): WorkerPool | null {
    const size = this.opts.workers ?? poolSize(this.config.global.workers);
    if (size <= 1) return null;
    return new WorkerPool({ ...this.opts.pool, size, clock: this.opts.clock, logger: this.opts.logger });
  }

  /** The pool keeps its size until a restart: a reload that changes global.workers says so. */
  private workersChange(): string {
    const running = this.pool?.size ?? 1;
    const wanted = poolSize(this.config.global.workers);
    if (this.opts.workers !== undefined || wanted === running) return '';
    return `; global.workers ${wanted} takes effect at the next restart (running ${running})`;
  }

  /** The longest a run (scheduled, or /probe under any module) can take: the grace period for a clean stop. */
  longestRunMs(): number {
    const probes = Object.values(this.config.modules).map((m) => m.timeoutMs ?? this.config.global.timeoutMs);
    return Math.max(1000, ...this.targets.map((t) => t.plan.timeoutMs), ...probes);
  }

  /** Alerting exists once a config has rules; its state file is read once, at that point. */
  private setUpAlerting(config: LoadedConfig): void {
    if (this.alerting || config.alertRules.length === 0) return;
    this.alerting = new Alerting(
      {
        clock: this.opts.clock, logger: this.opts.logger, registry: this.registry, externalUrl: this.externalUrl,
        dispatcher: this.opts.dispatcher, shard: this.opts.shard, onEvent: (e) => this.history.addEvent(e),
      },
      config,
    );
  }

  private apply(config: LoadedConfig): void {
    this.targets = ownOf(config.targets, this.opts.shard);
    this.byName = new Map(this.targets.map((t) => [t.name, t]));
    this.capacity.apply(this.targets, config.modules);
    this.posture.apply(this.targets, config.modules);
    this.scheduler.replace(this.targets.map((t) => this.capacity.guard(this.job(t, this.pool ? undefined : this.trackerFor(t)))));
  }

  private job(t: ConfiguredTarget, tracker: RoundtripTracker | undefined): Job {
    const log = this.opts.logger;
    // Every run records its transcript (AUTH masked), so a failure's is there to see: about 2 % (0.1 ms) more CPU
    // a STARTTLS + AUTH + send run (bench/history.mjs); the history keeps it in the last record and the last failure.
    const plan = { ...t.plan, transcript: true };
    return {
      key: t.name,
      intervalMs: t.intervalMs,
      run: async (signal) => {
        // Under the pool, the target's worker keeps its tracker and sends its counts back with the results.
        const { results, totals } = this.pool
          ? await this.pool.runTarget(t.name, plan, signal)
          : { results: await runTarget(plan, { ...this.deps(signal), roundtripTracker: tracker }), totals: tracker?.totals() };
        this.metrics.recordRun(t.meta, results, totals);
        this.history.record(t.name, results);
        for (const r of results) {
          logResult(log, r);
          this.opts.onResult?.(t, r);
        }
        this.alerting?.observe(t, results);
      },
    };
  }

  /** A target that reads its message back keeps one tracker (late and never-delivered messages) while it is configured. */
  private trackerFor(t: ConfiguredTarget): RoundtripTracker | undefined {
    if (!t.plan.roundtrip) return undefined;
    let tracker = this.trackers.get(t.name);
    if (!tracker) this.trackers.set(t.name, (tracker = new RoundtripTracker()));
    return tracker;
  }

  private deps(signal: AbortSignal): RunDeps {
    const { clock, lookup } = this.opts;
    return { now: () => clock.now(), wallNow: () => clock.wallNow(), setTimer: (ms, fn) => clock.setTimer(ms, fn), lookup, signal };
  }

  private handlers(): HttpHandlers {
    return {
      metrics: async () => ({ contentType: this.registry.contentType, body: await this.registry.metrics() }),
      probe: (q, scrapeTimeout, signal) => this.probe(q, scrapeTimeout, signal),
      healthy: () => !this.stopping,
      index: (query) => indexReply(this.status, query, this.opts.clock.wallNow()),
      view: (path, query) => viewReply(this.status, path, query, this.opts.clock.wallNow()),
      reload: () => this.reload(),
    };
  }

  /** What the pages, badges and the JSON API read: the history, the targets as configured, the alerts firing. */
  get status(): StatusSource {
    return statusSource({
      version: this.opts.version,
      targets: () => this.targets,
      target: (name) => this.byName.get(name),
      history: this.history,
      firing: () => this.alerting?.firing() ?? [],
      posture: (name) => this.posture.snapshot(name),
    });
  }

  /**
   * With global.state_file set in the config, the history of the targets this replica runs is read from
   * `<state_file>.history` (before the first run) and kept there; the file is chosen once, at start.
   */
  private restoreHistory(config: LoadedConfig): void {
    const file = config.global.historyFile;
    if (!file) return;
    this.historyFile = new HistoryFile(file, this.history, { clock: this.opts.clock, logger: this.opts.logger });
    this.historyFile.start(ownOf(config.targets, this.opts.shard).map((t) => t.name));
  }

  /** One run on demand, blackbox_exporter style (`/probe?target=URL&module=NAME[&debug=true]`). */
  private async probe(q: URLSearchParams, scrapeTimeout: number | null, signal: AbortSignal): Promise<HttpReply> {
    const moduleName = q.get('module') ?? 'default';
    const mod = Object.hasOwn(this.config.modules, moduleName) ? this.config.modules[moduleName] : undefined;
    if (!mod) return text(400, `unknown module "${moduleName}" (modules: ${Object.keys(this.config.modules).join(', ')})`);
    const raw = q.get('target');
    if (!raw) return text(400, 'target parameter is missing (e.g. /probe?target=smtp://mx.example.test:25&module=default)');
    const url = parseTargetUrl(/^[a-z]+:\/\//i.test(raw) ? raw : `smtp://${raw}`);
    if (typeof url === 'string') return text(400, url);
    if (url.scheme === 'mx') return text(400, 'mx:// targets answer through the configured targets (/metrics), one result per MX host; /probe takes one host');
    if (mod.hasCredentials && !(mod.probeTargets ?? []).includes(url.url)) {
      return text(403, `module "${moduleName}" holds credentials, a client certificate or a source address and only probes its probe_targets; ${url.url} is not one of them`);
    }
    const plan = this.probePlan(url, mod, scrapeTimeout, q.get('debug') === 'true');
    const bound = deadline(null, [signal, this.shutdown.signal], this.opts.clock);
    const run = this.pool ? this.pool.runCheck(plan, bound.signal) : runCheck(plan, withPlanDns(plan, this.deps(bound.signal)));
    const result = await run.finally(() => bound.dispose());
    // cut short by stop(), not by the server: no result to report (a probe_success 0 would be a false alarm)
    if (!result.ok && this.shutdown.signal.aborted) return text(503, 'smtp-probe stopped before the check finished');
    logResult(this.opts.logger, result);
    const registry = probeRegistry(result, { timeoutSeconds: plan.timeoutMs / 1000 });
    const metrics = await registry.metrics();
    if (q.get('debug') === 'true') {
      const { transcript, ...record } = result;
      const lines = (transcript ?? []).map((l) => `${l.t.toFixed(1).padStart(8)} ms ${l.dir}: ${l.line}`);
      const body = `Transcript:\n${lines.join('\n')}\n\nResult:\n${JSON.stringify(record, null, 2)}\n\nMetrics:\n${metrics}`;
      return { status: 200, contentType: 'text/plain; charset=utf-8', body };
    }
    return { status: 200, contentType: registry.contentType, body: metrics };
  }

  private probePlan(url: TargetUrl, mod: ModuleSettings, scrapeTimeout: number | null, debug: boolean) {
    const base = buildPlan(url.url, url, mod, this.config.global);
    const limit = scrapeTimeout === null ? base.timeoutMs : Math.max(100, (scrapeTimeout - PROBE_TIMEOUT_OFFSET_S) * 1000);
    const timeoutMs = Math.min(base.timeoutMs, limit);
    return { ...base, timeoutMs, phaseTimeoutMs: Math.min(base.phaseTimeoutMs, timeoutMs), transcript: debug };
  }
}

function logResult(log: Logger, r: CheckResult): void {
  const f = r.failure;
  const line = { target: r.target, ok: r.ok, durationMs: r.durationMs, ...(f ? { phase: f.phase, reason: f.reason, code: f.code } : {}) };
  if (r.ok) log.info(line, 'run finished');
  else if (f?.reason === 'internal') log.error({ ...line, message: f.message }, 'run failed');
  else log.warn({ ...line, message: f?.message }, 'run failed');
  if (r.transcript && log.isLevelEnabled('debug')) {
    log.debug({ target: r.target, transcript: r.transcript.map((l) => `${l.t} ${l.dir}: ${l.line}`) }, 'transcript');
  }
}
