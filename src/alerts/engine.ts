import { Gauge, type Registry } from 'prom-client';
import type { CheckResult, FailureReason } from '../core/result.js';
import { judgeResult, selects } from './rules.js';
import { initialState, nextAlertState } from './state.js';
import type { AlertRule, AlertState, Notification, NotificationKind, Verdict } from './types.js';

export interface AlertTarget {
  name: string;
  module: string;
  labels: Readonly<Record<string, string>>;
  intervalMs: number;
}

export interface Silence {
  targets: readonly string[] | null;
  modules: readonly string[] | null;
  startsMs: number;
  endsMs: number;
}

export interface AlertEngineOptions {
  rules: AlertRule[];
  silences: Silence[];
  /** Wall-clock ms. */
  now: () => number;
  /** Hand a notification to delivery; must not block (the durable queue). */
  notify: (n: Notification) => void;
  /** The alert states changed: persist them. */
  onChange?: () => void;
  registry?: Registry;
  /** States from the state file. */
  initial?: readonly AlertState[];
}

/** The probe's own alert when most targets fail at once (CONTRACT: one alert instead of thousands). */
export const ISOLATED_ALERT = 'smtp_probe_isolated';
/** Failure reasons that point at the network between the probe and the servers. */
const NETWORK_REASONS: ReadonlySet<FailureReason> = new Set(['dns', 'connect', 'timeout', 'closed']);
/** A storm needs this many targets with results, and starts/ends at these failing shares (hysteresis). */
const STORM_MIN_TARGETS = 4;
const STORM_ON = 0.5;
const STORM_OFF = 0.3;

const key = (rule: string, target: string): string => `${rule}\u0000${target}`;

/**
 * Applies the rules to every result: one state per (rule, target), advanced by the pure state machine; the
 * notifications it asks for go to the delivery queue, one per receiver. Detects failure storms.
 */
export class AlertEngine {
  private rules: AlertRule[];
  private silences: Silence[];
  private readonly states = new Map<string, AlertState>();
  /** Per target: did its last run fail for a network reason? (storm detection) */
  private readonly networkDown = new Map<string, boolean>();
  private storm = false;

  constructor(private readonly opts: AlertEngineOptions) {
    this.rules = opts.rules;
    this.silences = opts.silences;
    for (const s of opts.initial ?? []) this.states.set(key(s.rule, s.target), s);
    if (opts.registry) {
      const self = this;
      new Gauge({
        name: 'smtp_probe_alerts_firing',
        help: 'Alert instances (rule x target) firing now, by alert.',
        labelNames: ['alert'],
        registers: [opts.registry],
        collect() {
          this.reset();
          for (const [alert, n] of self.firingCounts()) this.set({ alert }, n);
        },
      });
    }
  }

  snapshot(): AlertState[] {
    return [...this.states.values()];
  }

  /** A reload: new rules and silences; alerts whose rule or target is gone are resolved, not forgotten. */
  replace(rules: AlertRule[], silences: Silence[], targets: readonly AlertTarget[]): void {
    this.rules = rules;
    this.silences = silences;
    const live = new Set(targets.flatMap((t) => rules.filter((r) => selects(r, t)).map((r) => key(r.name, t.name))));
    const byName = new Map(targets.map((t) => [t.name, t]));
    for (const [k, s] of this.states) {
      if (live.has(k) || s.rule === ISOLATED_ALERT) continue;
      this.states.delete(k);
      if (s.status === 'firing' && s.notified) {
        const rule = this.rules.find((r) => r.name === s.rule);
        const target = byName.get(s.target) ?? { name: s.target, module: '', labels: {}, intervalMs: 60_000 };
        if (rule?.sendResolved ?? true) this.emit(rule ?? this.orphan(s.rule), target, s, 'resolved', null, 'no longer monitored (config reloaded)');
      }
    }
    for (const t of [...this.networkDown.keys()]) if (!byName.has(t)) this.networkDown.delete(t);
    this.opts.onChange?.();
  }

  /**
   * One result of one target: every rule that selects it takes a step. `level`: for mx:// targets the engine sees
   * each MX host's result (`host`) and the domain's summary (`domain`); other targets are both at once.
   */
  observe(target: AlertTarget, result: CheckResult, level: 'host' | 'domain' | 'both' = 'both'): void {
    const now = this.opts.now();
    const silenced = this.silenced(target, now);
    this.networkDown.set(target.name, !result.ok && NETWORK_REASONS.has(result.failure!.reason));
    const stormChanged = this.updateStorm();
    let changed = false;
    for (const rule of this.rules) {
      if (!selects(rule, target) || (level !== 'both' && rule.scope !== level)) continue;
      const { verdict, summary } = judgeResult(rule, result);
      changed = this.step(rule, target, verdict, { now, silenced, suppressed: this.storm && rule.kind === 'down' }, result, summary) || changed;
    }
    if (stormChanged) changed = this.stepIsolated(now) || changed;
    if (changed) this.opts.onChange?.();
  }

  private step(
    rule: AlertRule,
    target: AlertTarget,
    verdict: Verdict,
    ctx: { now: number; silenced: boolean; suppressed: boolean },
    result: CheckResult | null,
    summary: string,
  ): boolean {
    const k = key(rule.name, target.name);
    const prev = this.states.get(k) ?? initialState(rule.name, target.name);
    const { state, emit } = nextAlertState(prev, verdict, { ...ctx, rule });
    if (state.status === 'ok' && state.badStreak === 0 && emit.length === 0) this.states.delete(k);
    else this.states.set(k, state);
    for (const kind of emit) this.emit(rule, target, kind === 'resolved' ? prev : state, kind, result, summary);
    return emit.some((k2) => k2 !== 'refresh') || prev.status !== state.status || prev.notified !== state.notified;
  }

  private emit(rule: AlertRule, target: AlertTarget, s: AlertState, kind: NotificationKind, result: CheckResult | null, summary: string): void {
    const now = this.opts.now();
    const at = new Date(now).toISOString();
    const startsAt = s.firedAt ?? s.badSince ?? at;
    const once = kind === 'firing' || kind === 'resolved';
    const f = result?.failure ?? null;
    const { transcript: _t, ...record } = result ?? ({} as CheckResult);
    for (const receiver of rule.receivers) {
      this.opts.notify({
        id: `${rule.name}|${target.name}|${startsAt}|${kind}${once ? '' : `|${at}`}|${receiver}`,
        receiver,
        kind,
        status: kind === 'resolved' ? 'resolved' : 'firing',
        alert: rule.name,
        alertKind: rule.kind,
        target: target.name,
        labels: target.labels,
        startsAt,
        endsAt: kind === 'resolved' ? at : null,
        summary,
        failure: f ? { phase: f.phase, reason: f.reason, code: f.code } : null,
        result: result ? (record as CheckResult) : null,
        intervalMs: target.intervalMs,
        createdAt: at,
      });
    }
  }

  /** Storm on when at least half the targets with results fail for network reasons; off under 30 %. */
  private updateStorm(): boolean {
    const known = this.networkDown.size;
    let down = 0;
    for (const v of this.networkDown.values()) if (v) down += 1;
    const share = known === 0 ? 0 : down / known;
    const next = this.storm ? share >= STORM_OFF : known >= STORM_MIN_TARGETS && share >= STORM_ON;
    const changed = next !== this.storm;
    this.storm = next;
    return changed;
  }

  private stepIsolated(now: number): boolean {
    const receivers = [...new Set(this.rules.filter((r) => r.kind === 'down').flatMap((r) => r.receivers))];
    if (receivers.length === 0) return false;
    const down = [...this.networkDown.values()].filter(Boolean).length;
    const rule: AlertRule = { ...this.orphan(ISOLATED_ALERT), receivers };
    const summary = this.storm
      ? `${down} of ${this.networkDown.size} targets fail at once (connect, DNS, timeout): the probe's own network is the likelier culprit; per-target down alerts are held back`
      : `targets answer again (${down} of ${this.networkDown.size} failing)`;
    const probe: AlertTarget = { name: 'smtp-probe', module: '', labels: {}, intervalMs: 60_000 };
    return this.step(rule, probe, this.storm ? 'bad' : 'good', { now, silenced: false, suppressed: false }, null, summary);
  }

  private orphan(name: string): AlertRule {
    return {
      name, kind: 'isolated', receivers: [], targets: null, modules: null, failureThreshold: 1, successThreshold: 1,
      reminderIntervalMs: 0, sendResolved: true, scope: 'host',
    };
  }

  private silenced(t: AlertTarget, now: number): boolean {
    return this.silences.some(
      (s) =>
        now >= s.startsMs &&
        now < s.endsMs &&
        ((s.targets === null && s.modules === null) || (s.targets?.includes(t.name) ?? false) || (s.modules?.includes(t.module) ?? false)),
    );
  }

  private firingCounts(): Map<string, number> {
    const counts = new Map<string, number>(this.rules.map((r) => [r.name, 0]));
    for (const s of this.states.values()) if (s.status === 'firing') counts.set(s.rule, (counts.get(s.rule) ?? 0) + 1);
    return counts;
  }
}
