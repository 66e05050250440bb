import { parseDuration } from '../core/duration.js';
import type { CheckResult, Phase } from '../core/result.js';
import { checkRequirement } from '../smtp/ehlo.js';
import type { RawConfig } from '../config/schema.js';
import type { AlertRule, Verdict } from './types.js';

/** CONTRACT.md alerts.defaults. */
export const ALERT_DEFAULTS = { failureThreshold: 3, successThreshold: 2, reminderIntervalMs: 3_600_000, sendResolved: true };

type RawAlerts = NonNullable<RawConfig['alerts']>;
type RawRule = NonNullable<RawAlerts['rules']>[number];

/** Rules with defaults applied and durations parsed, once at load. */
export function resolveRules(alerts: RawAlerts): AlertRule[] {
  const d = alerts.defaults ?? {};
  const ms = (v: string | undefined, fallback: number): number => (v === undefined ? fallback : (parseDuration(v) as number));
  return (alerts.rules ?? []).map((r: RawRule): AlertRule => {
    const base: AlertRule = {
      name: r.name,
      kind: r.kind,
      receivers: r.receivers,
      targets: r.targets ?? null,
      modules: r.modules ?? null,
      failureThreshold: r.failure_threshold ?? d.failure_threshold ?? ALERT_DEFAULTS.failureThreshold,
      successThreshold: r.success_threshold ?? d.success_threshold ?? ALERT_DEFAULTS.successThreshold,
      reminderIntervalMs: ms(r.reminder_interval ?? d.reminder_interval, ALERT_DEFAULTS.reminderIntervalMs),
      sendResolved: r.send_resolved ?? d.send_resolved ?? ALERT_DEFAULTS.sendResolved,
      scope: r.scope ?? 'host',
    };
    switch (r.kind) {
      case 'slow':
        return { ...base, phase: r.phase as Phase, overMs: ms(r.over, 0), failureThreshold: r.consecutive ?? r.failure_threshold ?? base.failureThreshold };
      case 'certificate':
        // An expiring certificate does not flap: one run that sees it is enough unless the rule says otherwise.
        return { ...base, daysLeftUnder: r.days_left_under, failureThreshold: r.failure_threshold ?? 1 };
      case 'capability':
        return { ...base, require: r.require ?? [], authBeforeTls: r.auth_before_tls ?? false };
      default:
        return base;
    }
  });
}

/** Does the rule apply to this target? */
export function selects(rule: AlertRule, target: { name: string; module: string }): boolean {
  if (rule.targets === null && rule.modules === null) return true;
  return (rule.targets?.includes(target.name) ?? false) || (rule.modules?.includes(target.module) ?? false);
}

/** What the rule says of one result, and a one-line reason for the notification. */
export function judgeResult(rule: AlertRule, r: CheckResult): { verdict: Verdict; summary: string } {
  switch (rule.kind) {
    case 'down':
    case 'isolated': {
      if (r.ok) return { verdict: 'good', summary: `${r.url} answers` };
      const f = r.failure!;
      return { verdict: 'bad', summary: `${r.url} failed at ${f.phase} (${f.reason}${f.code ? ` ${f.code}` : ''}): ${f.message}` };
    }
    case 'slow': {
      const records = r.phases.filter((p) => p.phase === rule.phase);
      if (records.length === 0) return { verdict: 'unknown', summary: `${rule.phase} did not run` };
      const ms = records.reduce((n, p) => n + p.durationMs, 0);
      const over = ms > rule.overMs!;
      return { verdict: over ? 'bad' : 'good', summary: `${rule.phase} took ${fmt(ms)} (limit ${fmt(rule.overMs!)}) on ${r.url}` };
    }
    case 'certificate': {
      const days = r.tls?.daysLeft;
      if (days === null || days === undefined) return { verdict: 'unknown', summary: 'no certificate seen' };
      return {
        verdict: days < rule.daysLeftUnder! ? 'bad' : 'good',
        summary: `certificate of ${r.url} (${r.tls!.subject ?? '?'}) expires in ${days} days, on ${r.tls!.validTo?.slice(0, 10)}`,
      };
    }
    case 'capability':
      return judgeCapabilities(rule, r);
  }
}

function judgeCapabilities(rule: AlertRule, r: CheckResult): { verdict: Verdict; summary: string } {
  const plain = r.capabilitiesBeforeTls ?? r.capabilities;
  const final = r.capabilities;
  if (plain === null || final === null) return { verdict: 'unknown', summary: 'no EHLO reply seen' };
  const problems: string[] = [];
  for (const req of rule.require ?? []) {
    // STARTTLS lives in the plaintext EHLO; everything else is judged on the final (post-TLS) one.
    const problem = checkRequirement(req.trim().toUpperCase() === 'STARTTLS' ? plain : final, req);
    if (problem) problems.push(problem);
  }
  if (rule.authBeforeTls && Object.hasOwn(plain, 'AUTH') && (r.capabilitiesBeforeTls !== null || r.tls === null)) {
    problems.push('AUTH is offered before TLS');
  }
  return problems.length > 0
    ? { verdict: 'bad', summary: `${r.url}: ${problems.join('; ')}` }
    : { verdict: 'good', summary: `${r.url}: capabilities as required` };
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}
