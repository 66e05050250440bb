import { z } from 'zod';
import { formatDuration, parseDuration } from '../core/duration.js';
import { POSTURE_CHECKS, VERDICT_RANK, findingPlace, type PostureFinding } from '../core/posture.js';
import { PHASES, type CheckResult } from '../core/result.js';
import { DEFAULTS } from '../plan/defaults.js';
import type { AlertRule, IsolatedSettings, Verdict } from './types.js';

/**
 * Alert rules: their config schema (alerts.rules, alerts.defaults: config/schema.ts takes it from here), their
 * resolution with every default applied, and what a rule says of one result record. Rules read the result
 * record and nothing else.
 */

/** `alerts.isolated` unset. */
export const DEFAULT_ISOLATED: IsolatedSettings = {
  failureThreshold: DEFAULTS.alerts.isolatedFailureThreshold,
  successThreshold: DEFAULTS.alerts.isolatedSuccessThreshold,
};

type Duration = z.ZodType<number, string>;

/** `reminder_interval`: a duration, or zero (`0s`) for never: state.ts sends no reminder at 0. */
const reminderInterval = z
  .string({ error: 'must be a duration string with a unit, like 500ms, 10s, 5m' })
  .transform((s, ctx): number => {
    const v = parseDuration(s, true);
    if (typeof v === 'number') return v;
    ctx.addIssue({ code: 'custom', message: v });
    return z.NEVER;
  })
  .meta({ description: 'Repeat a firing alert this often (1h); 0s: never' });

const thresholds = {
  failure_threshold: z.number().int().min(1).optional().meta({
    description: `Failed runs in a row before an alert fires (default ${DEFAULTS.alerts.failureThreshold}; a certificate rule ${DEFAULTS.alerts.certificateFailureThreshold})`,
  }),
  success_threshold: z.number().int().min(1).optional().meta({ description: `Passing runs in a row before a firing alert resolves (default ${DEFAULTS.alerts.successThreshold})` }),
  reminder_interval: reminderInterval.optional().meta({
    description: `Repeat a firing alert this often (default ${formatDuration(DEFAULTS.alerts.reminderIntervalMs)}); 0s: never. Example: 30m`,
  }),
  send_resolved: z.boolean().optional().meta({ description: `Also notify when an alert resolves (default ${DEFAULTS.alerts.sendResolved})` }),
};

/** `alerts.defaults`. */
export function alertDefaultsSchema() {
  return z.strictObject(thresholds);
}

/** The kinds a rule in `alerts.rules` may have (the schema below has one entry shape per kind). */
export const RULE_KINDS = ['down', 'slow', 'certificate', 'capability', 'posture'] as const;

/** One entry of `alerts.rules`, by `kind`. */
export function ruleSchema(duration: Duration, labelName: z.ZodString) {
  const select = {
    name: labelName.meta({ description: 'The alert name (a Prometheus label name), alertname in notifications. Example: smtp_probe_down' }),
    targets: z.array(z.string()).optional().meta({ description: 'Targets the rule judges, by name (default: all; with modules, either matches). Example: [mx1]' }),
    modules: z.array(z.string()).optional().meta({ description: 'Modules whose targets the rule judges. Example: [submission]' }),
    receivers: z.array(z.string()).min(1).meta({ description: 'Names of alerts.receivers to notify. Example: [ops, pager]' }),
    ...thresholds,
    /** mx:// targets: judge each MX host (host, the default) or the domain as a whole (domain: every MX failing). */
    scope: z.enum(['host', 'domain']).optional().meta({ description: 'mx:// targets: host judges each MX host (default); domain fires only when every MX host fails' }),
  };
  const kind = <K extends string>(k: K, what: string) => z.literal(k).meta({ description: `${k}: ${what}. Write it out: it decides the other keys` });
  return z.discriminatedUnion('kind', [
    z.strictObject({ kind: kind('down', 'fires when failure_threshold runs in a row fail'), ...select }),
    z.strictObject({
      kind: kind('slow', 'fires when a phase takes longer than over'),
      phase: z.enum(PHASES).meta({ description: 'The phase a slow rule times: connect, banner, tls_upgrade, auth, message, roundtrip, ... Example: message' }),
      over: duration.meta({ description: 'A slow rule fires when the phase takes longer than this. Example: 2s' }),
      consecutive: z.number().int().min(1).optional().meta({ description: 'Slow runs in a row before a slow rule fires (default: failure_threshold). Example: 3' }),
      ...select,
    }),
    z.strictObject({
      kind: kind('certificate', 'fires when the certificate has fewer than days_left_under days left'),
      days_left_under: z.number().int().min(1).meta({ description: 'Fire when the certificate has fewer days left than this. Example: 14' }),
      ...select,
    }),
    z.strictObject({
      kind: kind('capability', 'fires when a required EHLO capability goes missing, or AUTH comes before TLS'),
      require: z.array(z.string()).optional().meta({ description: 'EHLO capabilities that must stay offered (STARTTLS judged before TLS). Example: [STARTTLS, PIPELINING]' }),
      auth_before_tls: z.boolean().optional().meta({ description: 'Fire when AUTH is offered before STARTTLS: credentials over plaintext (default false)' }),
      ...select,
    }),
    z.strictObject({
      kind: kind('posture', "fires when a posture run (the module's posture:) finds a watched check failing (or warning, with on: warn)"),
      checks: z.array(z.enum(POSTURE_CHECKS)).min(1).optional().meta({ description: 'The posture checks the rule watches (default: every one the run does). Example: [dane, mta_sts, open_relay]' }),
      on: z.enum(['fail', 'warn']).optional().meta({ description: 'fail (default): a fail is bad; warn: a warn or a fail is bad' }),
      ...select,
    }),
  ]);
}

/** `alerts.isolated`: the probe's own alert for failure storms (README "Alerting"). */
export function isolatedSchema() {
  return z.strictObject({
    /** Runs in a row that most targets must fail for network reasons before it fires. */
    failure_threshold: z.number().int().min(1).optional().meta({
      description: `Runs in a row in which most targets fail for network reasons (connect, DNS, timeout) before smtp_probe_isolated fires (default ${DEFAULT_ISOLATED.failureThreshold})`,
    }),
    /** Runs in a row that most targets must answer before it resolves. */
    success_threshold: z.number().int().min(1).optional().meta({
      description: `Runs in a row in which most targets answer before smtp_probe_isolated resolves (default ${DEFAULT_ISOLATED.successThreshold})`,
    }),
  });
}

export function resolveIsolated(isolated: z.output<ReturnType<typeof isolatedSchema>> | undefined): IsolatedSettings {
  return {
    failureThreshold: isolated?.failure_threshold ?? DEFAULT_ISOLATED.failureThreshold,
    successThreshold: isolated?.success_threshold ?? DEFAULT_ISOLATED.successThreshold,
  };
}

export type RuleConfig = z.output<ReturnType<typeof ruleSchema>>;
export type AlertDefaultsConfig = z.output<ReturnType<typeof alertDefaultsSchema>>;

/** Rules with defaults applied, once at load (`alerts:` as the config schema gave it). */
export function resolveRules(alerts: { rules?: readonly RuleConfig[] | undefined; defaults?: AlertDefaultsConfig | undefined }): AlertRule[] {
  const d = alerts.defaults ?? {};
  return (alerts.rules ?? []).map((r): AlertRule => {
    const base: AlertRule = {
      name: r.name,
      kind: r.kind,
      receivers: r.receivers,
      targets: r.targets ?? null,
      modules: r.modules ?? null,
      failureThreshold: r.failure_threshold ?? d.failure_threshold ?? DEFAULTS.alerts.failureThreshold,
      successThreshold: r.success_threshold ?? d.success_threshold ?? DEFAULTS.alerts.successThreshold,
      reminderIntervalMs: r.reminder_interval ?? d.reminder_interval ?? DEFAULTS.alerts.reminderIntervalMs,
      sendResolved: r.send_resolved ?? d.send_resolved ?? DEFAULTS.alerts.sendResolved,
      scope: r.scope ?? 'host',
    };
    switch (r.kind) {
      case 'slow':
        return { ...base, phase: r.phase, overMs: r.over, failureThreshold: r.consecutive ?? r.failure_threshold ?? base.failureThreshold };
      case 'certificate':
        return { ...base, daysLeftUnder: r.days_left_under, failureThreshold: r.failure_threshold ?? DEFAULTS.alerts.certificateFailureThreshold };
      case 'capability':
        return { ...base, require: r.require ?? [], authBeforeTls: r.auth_before_tls ?? false };
      case 'posture':
        return {
          ...base,
          postureChecks: r.checks ?? [...POSTURE_CHECKS],
          postureOn: r.on ?? 'fail',
          failureThreshold: r.failure_threshold ?? DEFAULTS.alerts.postureFailureThreshold,
          successThreshold: r.success_threshold ?? DEFAULTS.alerts.postureSuccessThreshold,
        };
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
    case 'posture':
      return { verdict: 'unknown', summary: 'a posture rule judges posture runs, not check runs' };
  }
}

/**
 * What a `posture` rule says of one posture run of a target: bad when a watched check has a finding at the rule's
 * level (`on`) or worse, naming them; good when watched checks answered and none is; unknown when the run has no
 * finding of a watched check (it could not reach the domain: the streaks stay as they were). `bad` lists what made
 * it so, for the notification.
 */
export function judgePosture(
  rule: AlertRule,
  domain: string,
  findings: readonly PostureFinding[],
): { verdict: Verdict; summary: string; bad: PostureFinding[] } {
  const watched = findings.filter((f) => rule.postureChecks?.includes(f.check) ?? true);
  if (watched.length === 0) return { verdict: 'unknown', summary: `no posture finding of ${domain} for ${rule.name}'s checks`, bad: [] };
  const level = VERDICT_RANK[rule.postureOn ?? 'fail'];
  const bad = watched.filter((f) => VERDICT_RANK[f.result] >= level);
  if (bad.length === 0) return { verdict: 'good', summary: `posture of ${domain}: ${[...new Set(watched.map((f) => f.check))].join(', ')} without a ${rule.postureOn ?? 'fail'}`, bad };
  const shown = bad.slice(0, 5).map((f) => `${f.check} ${f.result} at ${findingPlace(f, domain)}${f.reason ? ` (${f.reason})` : ''}: ${f.detail}`);
  const more = bad.length > shown.length ? `; and ${bad.length - shown.length} more` : '';
  return { verdict: 'bad', summary: `posture of ${domain}: ${shown.join('; ')}${more}`, bad };
}

/** Reads the run's capability facts (the runner judged what this rule requires: plan.watchCapabilities). */
function judgeCapabilities(rule: AlertRule, r: CheckResult): { verdict: Verdict; summary: string } {
  const verdict = r.requiredCapabilities;
  if (!verdict) return { verdict: 'unknown', summary: 'no EHLO reply seen' };
  const problems: string[] = [];
  for (const req of rule.require ?? []) {
    const found = verdict.missing.find((m) => m.requirement === req);
    if (found) problems.push(found.problem);
    else if (!verdict.checked.includes(req)) return { verdict: 'unknown', summary: `${req} was not judged on this run` };
  }
  if (rule.authBeforeTls && r.authBeforeTls) problems.push('AUTH is offered before TLS');
  return problems.length > 0
    ? { verdict: 'bad', summary: `${r.url}: ${problems.join('; ')}` }
    : { verdict: 'good', summary: `${r.url}: capabilities as required` };
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}
