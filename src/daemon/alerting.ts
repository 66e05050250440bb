import { Agent, type Dispatcher } from 'undici';
import type { Registry } from 'prom-client';
import { AlertEngine, type AlertTarget } from '../alerts/engine.js';
import type { PostureFinding, PostureModuleSettings } from '../core/posture.js';
import { DeliveryQueue, createDeliveryMetrics, type DeliveryEvent, type DeliveryMetrics } from '../alerts/delivery/index.js';
import { sendRequest } from '../alerts/http.js';
import { severityOf } from '../alerts/providers/common.js';
import { StateStore, type StateSnapshot } from '../alerts/store.js';
import type { AlertEngineEvent } from '../alerts/types.js';
import type { Clock } from '../core/clock.js';
import type { CheckResult } from '../core/result.js';
import type { ConfiguredTarget, LoadedConfig } from '../config/resolve.js';
import type { AlertEvent, FiringAlert } from '../history/view.js';
import type { Logger } from '../log.js';
import { ownOf, type Shard } from '../scheduler/scheduler.js';

export interface AlertingOptions {
  clock: Clock;
  logger: Logger;
  registry: Registry;
  /** The daemon's own page, for links in notifications (generatorURL). */
  externalUrl: string;
  dispatcher?: Dispatcher | undefined;
  /** This replica's share of the targets (`--shard`): the ones whose results it sees. */
  shard?: Shard | null;
  /** Every alert event (fired, resolved, reminded, silenced, delivered, delivery_failed, dropped), also logged. */
  onEvent?: (e: AlertEvent) => void;
}

const EVENT_MESSAGES: Record<AlertEvent['event'], string> = {
  fired: 'alert fired',
  resolved: 'alert resolved',
  reminded: 'alert reminder',
  silenced: 'alert firing, not sent',
  delivered: 'alert notification delivered',
  delivery_failed: 'alert notification failed',
  dropped: 'alert notification dropped',
};

const toTarget = (t: ConfiguredTarget): AlertTarget => ({ name: t.name, module: t.module, labels: t.labels, intervalMs: t.intervalMs });

/**
 * Alerting inside the daemon: the rule engine fed with every result, its notifications in a durable per-receiver
 * queue, both persisted in global.state_file so a restart neither re-fires nor forgets a resolve. The engine and
 * the queue live as long as the daemon: a reload changes their rules and receivers in place, so alerts keep their
 * identity and receivers their delivery pacing across reloads.
 */
export class Alerting {
  private readonly store: StateStore;
  private readonly engine: AlertEngine;
  private readonly queue: DeliveryQueue;
  private readonly metrics: DeliveryMetrics;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly snapshot = (): StateSnapshot => ({ alerts: this.engine.snapshot(), pending: this.queue.pending() });

  constructor(
    private readonly opts: AlertingOptions,
    config: LoadedConfig,
  ) {
    this.store = new StateStore(config.global.stateFile, { clock: opts.clock, logger: opts.logger });
    const saved = this.store.load();
    this.ownsDispatcher = !opts.dispatcher;
    this.dispatcher = opts.dispatcher ?? new Agent({ connections: 16 });
    this.metrics = createDeliveryMetrics(opts.registry);
    this.queue = this.makeQueue(config);
    const restored = this.queue.restore(saved.pending);
    this.engine = new AlertEngine({
      rules: config.alertRules,
      silences: config.silences,
      now: () => opts.clock.wallNow(),
      notify: (n) => this.queue.enqueue(n),
      onChange: () => this.store.scheduleSave(this.snapshot),
      registry: opts.registry,
      initial: saved.alerts,
      isolated: config.isolated,
      targets: this.ownTargets(config),
      onEvent: (e) => this.engineEvent(e),
    });
    if (saved.alerts.length > 0 || restored > 0) {
      opts.logger.info({ alerts: saved.alerts.length, pending: restored, file: config.global.stateFile }, 'alert state restored');
      // The config may have changed while the daemon was stopped: a saved alert whose target or rule is gone is
      // resolved now, as a reload resolves it, instead of showing as firing until the next reload. Its resolve goes
      // to the receivers its rule names now; for a rule that is gone there are none (the state file does not keep
      // the receivers an alert was sent to), so only the event and the log say it.
      this.engine.replace(config.alertRules, config.silences, this.ownTargets(config), config.isolated, 'config changed while stopped');
    }
  }

  /** A run's results: one, or one per MX host for mx:// targets (judged per host, and as a domain). */
  observe(target: ConfiguredTarget, results: readonly CheckResult[]): void {
    const t = toTarget(target);
    if (!target.plan.mx) {
      this.engine.observe(t, results[0]!);
      return;
    }
    for (const r of results) this.engine.observe({ ...t, name: r.mx ? `${t.name}/${r.mx.host}` : t.name }, r, 'host');
    // The domain is down when no MX host passes: its summary is a passing result if any, else the first failure.
    this.engine.observe(t, results.find((r) => r.ok) ?? results[0]!, 'domain');
  }

  /** A posture run's findings (the module's `posture:`), for the posture rules; its `every` stands for the interval. */
  observePosture(target: ConfiguredTarget, settings: PostureModuleSettings, domain: string, findings: readonly PostureFinding[]): void {
    this.engine.observePosture({ ...toTarget(target), intervalMs: settings.everyMs }, domain, findings);
  }

  /** The alerts firing now, oldest first. */
  firing(): FiringAlert[] {
    return this.engine.firing().map((f) => ({ rule: f.rule, target: f.target, since: f.since, severity: severityOf({ alertKind: f.kind }), summary: f.summary }));
  }

  /**
   * New rules, silences, receivers and targets, in place: receivers first (one that is gone keeps delivering what
   * it holds), then the rules (owed resolves go to the receivers that saw the firing), then gone receivers with
   * nothing left are dropped.
   */
  async reload(config: LoadedConfig): Promise<void> {
    this.queue.replace(config.receivers);
    this.engine.replace(config.alertRules, config.silences, this.ownTargets(config), config.isolated);
    this.queue.dropRetired();
    this.store.scheduleSave(this.snapshot);
  }

  /**
   * Try to deliver what is pending within `graceMs`, then save everything still owed. Never rejects: false when the
   * state file could not be written (logged; what it would have held is lost).
   */
  async stop(graceMs: number): Promise<boolean> {
    const left = await this.queue.flush(graceMs);
    await this.queue.stop();
    const snapshot = this.snapshot();
    let saved = true;
    try {
      await this.store.saveNow(snapshot);
    } catch (e) {
      saved = false;
      const lost = { file: this.store.path, alerts: snapshot.alerts.length, pending: snapshot.pending.length };
      this.opts.logger.error(
        { ...lost, err: e instanceof Error ? e.message : String(e) },
        'cannot write the state file at exit: a restart may fire these alerts again and will not send what is pending',
      );
    }
    this.store.close();
    if (saved && left > 0) this.opts.logger.warn({ pending: left }, 'notifications still undelivered at exit are kept in the state file');
    if (this.ownsDispatcher) await this.dispatcher.close().catch(() => undefined);
    return saved;
  }

  /** The targets this replica runs: their alerts are its own, and the isolated alert waits for their results. */
  private ownTargets(config: LoadedConfig): AlertTarget[] {
    return ownOf(config.targets, this.opts.shard).map(toTarget);
  }

  private makeQueue(config: LoadedConfig): DeliveryQueue {
    return new DeliveryQueue({
      clock: this.opts.clock,
      receivers: config.receivers,
      send: sendRequest,
      dispatcher: this.dispatcher,
      externalUrl: this.opts.externalUrl,
      metrics: this.metrics,
      logger: this.opts.logger,
      onChange: () => this.store.scheduleSave(this.snapshot),
      persist: () => this.store.saveSoon(this.snapshot),
      onEvent: (e) => this.deliveryEvent(e),
    });
  }

  private engineEvent(e: AlertEngineEvent): void {
    this.event({ at: new Date(e.at).toISOString(), event: e.event, rule: e.rule, target: e.target, receiver: null, detail: e.detail });
  }

  /** Alertmanager's per-run re-posts (`refresh`) are no event: only what a person is told. */
  private deliveryEvent(e: DeliveryEvent): void {
    const n = e.notification;
    if (n.kind === 'refresh') return;
    const at = new Date(this.opts.clock.wallNow()).toISOString();
    this.event({ at, event: e.event, rule: n.alert, target: n.target, receiver: n.receiver, detail: e.detail });
  }

  /**
   * One log object per event at info, with the rule, the target and the receiver (its configured name: a
   * receiver's URL, which may carry a key, is never logged), then to the daemon's event list.
   */
  private event(e: AlertEvent): void {
    this.opts.logger.info({ event: e.event, rule: e.rule, target: e.target, receiver: e.receiver, detail: e.detail }, EVENT_MESSAGES[e.event]);
    this.opts.onEvent?.(e);
  }
}
