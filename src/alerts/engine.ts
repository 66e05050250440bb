import { Gauge, type Registry } from 'prom-client';
import type { CheckResult, FailureReason } from '../core/result.js';
import type { PostureFinding } from '../core/posture.js';
import { DEFAULT_ISOLATED, judgePosture, judgeResult, selects } from './rules.js';
import { initialState, nextAlertState, type StepContext } from './state.js';
import { StormTracker } from './storm.js';
import type { AlertEngineEvent, AlertRule, AlertState, FiringState, IsolatedSettings, Notification, NotificationKind, Verdict } from './types.js';

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
  /** The thresholds of the isolated alert (`alerts.isolated`). */
  isolated?: IsolatedSettings;
  /** The configured targets: the isolated alert is judged once each has reported (none given: at once). */
  targets?: readonly AlertTarget[];
  /** Told what happened to alerts: fired, reminded, resolved, silenced (the daemon's alert events and logs). */
  onEvent?: (e: AlertEngineEvent) => void;
}

export type { IsolatedSettings };

/** The probe's own alert when most targets fail at once (README "Alerting": one alert instead of one per target). */
export const ISOLATED_ALERT = 'smtp_probe_isolated';
/** Failure reasons that point at the network between the probe and the servers. */
const NETWORK_REASONS: ReadonlySet<FailureReason> = new Set(['dns', 'connect', 'timeout', 'closed']);
/** The isolated alert's own target. */
const PROBE_TARGET: AlertTarget = { name: 'smtp-probe', module: '', labels: {}, intervalMs: 60_000 };
const RELOADED = 'config reloaded';

const key = (rule: string, target: string): string => `${rule}\u0000${target}`;

/**
 * The configured target of an alert's target name: the same name, or for an MX host of an mx:// target
 * (`<target>/<host>`) the longest configured name it extends. Null when no configured target has it.
 */
function alertTarget(
  name: string,
  byName: ReadonlyMap<string, AlertTarget>,
): { configured: AlertTarget; alert: AlertTarget; host: boolean } | null {
  const exact = byName.get(name);
  if (exact) return { configured: exact, alert: exact, host: false };
  let best: AlertTarget | null = null;
  for (const t of byName.values()) if (name.startsWith(`${t.name}/`) && (!best || t.name.length > best.name.length)) best = t;
  return best ? { configured: best, alert: { ...best, name }, host: true } : null;
}

/**
 * Applies the rules to every result: one state per (rule, target), advanced by the pure state machine; the
 * notifications it asks for go to the delivery queue, one per receiver. Detects failure storms (storm.ts).
 *
 * An alert is a rule applied to a target, and keeps its identity (state, startsAt, notification ids) for as long
 * as both are configured, across reloads. See `replace` for what a reload does to alerts already sent.
 */
export class AlertEngine {
  private rules: AlertRule[];
  private silences: Silence[];
  private readonly states = new Map<string, AlertState>();
  /** The summary of each firing alert's last bad run (not persisted: after a restart, from its next run). */
  private readonly summaries = new Map<string, string>();
  private readonly storms: StormTracker;

  constructor(private readonly opts: AlertEngineOptions) {
    this.rules = opts.rules;
    this.silences = opts.silences;
    for (const s of opts.initial ?? []) this.states.set(key(s.rule, s.target), s);
    this.storms = new StormTracker(opts.isolated ?? DEFAULT_ISOLATED);
    if (opts.targets) this.storms.replace(new Set(opts.targets.map((t) => t.name)), opts.isolated ?? DEFAULT_ISOLATED);
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

  /** The alerts firing now, in the order they first went bad. */
  firing(): FiringState[] {
    const out: FiringState[] = [];
    for (const [k, s] of this.states) {
      if (s.status !== 'firing') continue;
      const kind = s.rule === ISOLATED_ALERT ? 'isolated' : (this.rules.find((r) => r.name === s.rule)?.kind ?? 'isolated');
      out.push({ rule: s.rule, kind, target: s.target, since: s.firedAt ?? s.badSince ?? '', summary: this.summaries.get(k) ?? null });
    }
    return out.sort((a, b) => a.since.localeCompare(b.since));
  }

  /**
   * A reload: new rules, silences, targets and isolated-alert thresholds. An alert whose rule still selects its
   * target goes on as it was (same state, startsAt and ids); if it was sent, receivers the rule no longer names get
   * its resolve now and receivers it newly names get its firing, so its end reaches the rule's receivers as they
   * are now. An alert whose rule or target is gone is resolved, not forgotten: its resolve goes to the receivers
   * the old rule had (the delivery queue keeps a removed receiver until it has delivered what it holds).
   */
  replace(rules: AlertRule[], silences: Silence[], targets: readonly AlertTarget[], isolated?: IsolatedSettings, why = RELOADED): void {
    const before = this.rules;
    this.rules = rules;
    this.silences = silences;
    const byName = new Map(targets.map((t) => [t.name, t]));
    for (const [k, s] of this.states) {
      if (s.rule === ISOLATED_ALERT) continue;
      const old = before.find((r) => r.name === s.rule);
      const rule = rules.find((r) => r.name === s.rule);
      const target = alertTarget(s.target, byName);
      if (rule && target && selects(rule, target.configured) && (target.host ? rule.scope === 'host' : true)) {
        this.reroute(old, rule, target.alert, s);
        continue;
      }
      this.states.delete(k);
      this.summaries.delete(k);
      const was = old ?? rule ?? this.orphan(s.rule);
      const summary = `no longer monitored (${why})`;
      if (s.status === 'firing' && s.notified && was.sendResolved) {
        this.emit(was, target?.alert ?? { ...PROBE_TARGET, name: s.target }, s, 'resolved', null, summary);
      }
      if (s.status === 'firing') this.event('resolved', s.rule, s.target, summary);
    }
    this.storms.replace(new Set(byName.keys()), isolated ?? DEFAULT_ISOLATED);
    this.opts.onChange?.();
  }

  /** A sent alert whose rule's receivers changed in a reload: resolve where it no longer goes, fire where it now does. */
  private reroute(old: AlertRule | undefined, rule: AlertRule, target: AlertTarget, s: AlertState): void {
    if (s.status !== 'firing' || !s.notified || !old) return;
    const gone = old.receivers.filter((r) => !rule.receivers.includes(r));
    const added = rule.receivers.filter((r) => !old.receivers.includes(r));
    if (gone.length > 0 && old.sendResolved) {
      this.emit(old, target, s, 'resolved', null, `no longer sent to this receiver (${RELOADED}); the alert goes on elsewhere`, gone);
    }
    if (added.length > 0) {
      this.emit(rule, target, s, 'firing', null, `${rule.name} has been firing for ${target.name} since ${s.firedAt ?? s.badSince} (this receiver was added by a ${RELOADED})`, added);
    }
  }

  /**
   * One result of one target: every rule that selects it takes a step. `level`: for mx:// targets the engine sees
   * each MX host's result (`host`) and the domain's summary (`domain`); other targets are both at once.
   */
  observe(target: AlertTarget, result: CheckResult, level: 'host' | 'domain' | 'both' = 'both'): void {
    const now = this.opts.now();
    const silenced = this.silenced(target, now);
    this.storms.record(target.name, silenced ? null : !result.ok && NETWORK_REASONS.has(result.failure!.reason));
    let changed = false;
    for (const rule of this.rules) {
      if (rule.kind === 'posture' || !selects(rule, target) || (level !== 'both' && rule.scope !== level)) continue;
      const { verdict, summary } = judgeResult(rule, result);
      const suppressed = this.storms.storm && rule.kind === 'down';
      changed = this.step(rule, target, verdict, { now, silenced, suppressed }, result, summary) || changed;
    }
    changed = this.stepIsolated(now) || changed;
    if (changed) this.opts.onChange?.();
  }

  /**
   * One posture run of a target (its module's `posture:`): every `posture` rule that selects it takes a step. A
   * posture run feeds no failure storm and no other kind of rule.
   */
  observePosture(target: AlertTarget, domain: string, findings: readonly PostureFinding[]): void {
    const now = this.opts.now();
    const silenced = this.silenced(target, now);
    let changed = false;
    for (const rule of this.rules) {
      if (rule.kind !== 'posture' || !selects(rule, target)) continue;
      const { verdict, summary, bad } = judgePosture(rule, domain, findings);
      changed = this.step(rule, target, verdict, { now, silenced, suppressed: false }, null, summary, bad) || changed;
    }
    if (changed) this.opts.onChange?.();
  }

  private step(
    rule: AlertRule,
    target: AlertTarget,
    verdict: Verdict,
    ctx: { now: number; silenced: boolean; suppressed: boolean },
    result: CheckResult | null,
    summary: string,
    findings?: readonly PostureFinding[],
  ): boolean {
    const k = key(rule.name, target.name);
    const prev = this.states.get(k) ?? initialState(rule.name, target.name);
    const { state, emit } = nextAlertState(prev, verdict, { ...ctx, rule });
    if (state.status === 'ok' && state.badStreak === 0 && emit.length === 0) this.states.delete(k);
    else this.states.set(k, state);
    if (state.status === 'firing' && verdict === 'bad') this.summaries.set(k, summary);
    else if (state.status === 'ok') this.summaries.delete(k);
    for (const kind of emit) this.emit(rule, target, kind === 'resolved' ? prev : state, kind, result, summary, rule.receivers, findings);
    this.report(prev, state, emit, { rule, target: target.name, summary, ...ctx });
    return emit.some((k2) => k2 !== 'refresh') || prev.status !== state.status || prev.notified !== state.notified;
  }

  /** The events of one step: what was sent (fired, reminded, resolved), and what went firing or ended unsent. */
  private report(
    prev: AlertState,
    state: AlertState,
    emit: readonly NotificationKind[],
    c: Pick<StepContext, 'silenced' | 'rule'> & { target: string; summary: string },
  ): void {
    const { rule, target, summary } = c;
    if (emit.includes('firing')) this.event('fired', rule.name, target, summary);
    if (emit.includes('reminder')) this.event('reminded', rule.name, target, summary);
    if (prev.status === 'ok' && state.status === 'firing' && !state.notified) {
      const why = c.silenced ? 'a silence covers this target' : `a failure storm is reported as ${ISOLATED_ALERT}`;
      this.event('silenced', rule.name, target, `${summary} (not sent: ${why})`);
    }
    if (prev.status === 'firing' && state.status === 'ok') {
      const unsent = !prev.notified ? 'its firing was never sent' : !rule.sendResolved ? 'send_resolved is off' : null;
      this.event('resolved', rule.name, target, unsent ? `${summary} (not sent: ${unsent})` : summary);
    }
  }

  private event(event: AlertEngineEvent['event'], rule: string, target: string, detail: string | null): void {
    this.opts.onEvent?.({ event, rule, target, at: this.opts.now(), detail });
  }

  private emit(
    rule: AlertRule,
    target: AlertTarget,
    s: AlertState,
    kind: NotificationKind,
    result: CheckResult | null,
    summary: string,
    receivers: readonly string[] = rule.receivers,
    findings?: readonly PostureFinding[],
  ): void {
    const now = this.opts.now();
    const at = new Date(now).toISOString();
    const startsAt = s.firedAt ?? s.badSince ?? at;
    const once = kind === 'firing' || kind === 'resolved';
    const f = result?.failure ?? null;
    const { transcript: _t, ...record } = result ?? ({} as CheckResult);
    for (const receiver of receivers) {
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
        ...(findings ? { findings } : {}),
        intervalMs: target.intervalMs,
        createdAt: at,
      });
    }
  }

  /** The isolated alert moves when the storm tracker's verdict calls for it (its thresholds are counted there). */
  private stepIsolated(now: number): boolean {
    const verdict = this.storms.verdict();
    const firing = this.states.get(key(ISOLATED_ALERT, PROBE_TARGET.name))?.status === 'firing';
    if (!(verdict === 'bad' ? !firing : verdict === 'good' && firing)) return false;
    const receivers = [...new Set(this.rules.filter((r) => r.kind === 'down').flatMap((r) => r.receivers))];
    if (receivers.length === 0) return false;
    const { down, watched } = this.storms.failing;
    const rule: AlertRule = { ...this.orphan(ISOLATED_ALERT), receivers };
    const summary =
      verdict === 'bad'
        ? `${down} of ${watched} targets fail at once (connect, DNS, timeout): the probe's own network is the likelier culprit; per-target down alerts are held back`
        : `targets answer again (${down} of ${watched} failing)`;
    return this.step(rule, PROBE_TARGET, verdict, { now, silenced: false, suppressed: false }, null, summary);
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
