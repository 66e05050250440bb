/**
 * The receiver registry (STYLE.md rule 10): type → module. Adding a receiver is one file and one line here.
 *
 * From config to something that sends:
 *   const bound = bindReceiver(config.alerts.receivers[i], secrets);   // at load: report `issues` at `key`
 *   if (bound.ok) for (const req of bound.receiver.build(batch, ctx)) await sendRequest(req, { ..., timeoutMs: bound.receiver.timeoutMs });
 * `secrets` holds the contents of the receiver's `*_file` keys, keyed by that key (`secret_file`, `url_file`,
 * `routing_key_file`), already read and with one trailing newline stripped (config/files.ts does both).
 */
import { parseDuration } from '../../core/duration.js';
import type { Notification } from '../types.js';
import { alertmanagerReceiver } from './alertmanager.js';
import { pagerdutyReceiver } from './pagerduty.js';
import type { BuildContext, PreparedRequest, ReceiverModule } from './provider.js';
import { slackReceiver } from './slack.js';
import { webhookReceiver } from './webhook.js';

export const RECEIVERS = {
  webhook: webhookReceiver,
  slack: slackReceiver,
  alertmanager: alertmanagerReceiver,
  pagerduty: pagerdutyReceiver,
} as const;

export type ReceiverType = keyof typeof RECEIVERS;
export type ReceiverOptions<T extends ReceiverType> = (typeof RECEIVERS)[T] extends ReceiverModule<infer O> ? O : never;

/** A receiver when no `timeout` is configured. */
export const DEFAULT_RECEIVER_TIMEOUT_MS = 10_000;

/**
 * One `alerts.receivers` entry as the config file has it (CONTRACT.md "Config"; src/config/schema.ts `receiver`),
 * declared here so alerts/ does not import config/. The schema's inferred type is assignable to it.
 */
export type ReceiverConfig =
  | { name: string; type: 'webhook'; url: string; secret?: string; secret_file?: string; headers?: Record<string, string>; timeout?: string }
  | { name: string; type: 'slack'; url?: string; url_file?: string; timeout?: string }
  | { name: string; type: 'alertmanager'; url: string; timeout?: string }
  | { name: string; type: 'pagerduty'; routing_key?: string; routing_key_file?: string; url?: string; timeout?: string };

/** Contents of a receiver's `*_file` keys, keyed by the key: `{ secret_file: "s3cret" }`. */
export type ReceiverSecrets = Readonly<Record<string, string>>;

/** A problem with one receiver entry, at one of its keys (for `file:line:col alerts.receivers[i].<key>`). */
export interface ReceiverIssue {
  key: string;
  message: string;
}

export type ReceiverOptionsResult =
  | { ok: true; type: ReceiverType; options: ReceiverOptions<ReceiverType>; timeoutMs: number }
  | { ok: false; issues: ReceiverIssue[] };

/** A receiver with its options bound: what the delivery queue holds. Type-erased, so one list holds them all. */
export interface BoundReceiver {
  name: string;
  type: ReceiverType;
  timeoutMs: number;
  maxBatch: number;
  accepts(kind: Notification['kind']): boolean;
  /** Pure: the requests for a batch (notifications of kinds it does not accept are left out; over-long batches split). */
  build(batch: readonly Notification[], ctx: BuildContext): PreparedRequest[];
}

export type BindResult = { ok: true; receiver: BoundReceiver } | { ok: false; issues: ReceiverIssue[] };

/** Inline value or the `*_file` contents; both given is an issue, neither is `undefined`. */
function pick(
  raw: Record<string, unknown>,
  key: string,
  secrets: ReceiverSecrets,
  issues: ReceiverIssue[],
): string | undefined {
  const fileKey = `${key}_file`;
  const inline = raw[key];
  const hasFile = typeof raw[fileKey] === 'string';
  if (inline !== undefined && hasFile) {
    issues.push({ key: fileKey, message: `give ${key} or ${fileKey}, not both` });
    return undefined;
  }
  if (hasFile) {
    const text = secrets[fileKey];
    if (text === undefined) issues.push({ key: fileKey, message: `${fileKey} was not read` });
    return text;
  }
  return typeof inline === 'string' ? inline : undefined;
}

/** The module options a config entry stands for, before validation; keys are the options' own (camelCase). */
function rawOptions(r: ReceiverConfig, secrets: ReceiverSecrets, issues: ReceiverIssue[]): Record<string, unknown> {
  const raw = r as unknown as Record<string, unknown>;
  switch (r.type) {
    case 'webhook':
      return { url: r.url, secret: pick(raw, 'secret', secrets, issues), headers: r.headers };
    case 'slack': {
      const url = pick(raw, 'url', secrets, issues);
      if (url === undefined && issues.length === 0) issues.push({ key: 'url', message: 'give url or url_file (the webhook URL is a secret)' });
      return { url: url?.trim() };
    }
    case 'alertmanager':
      return { url: r.url };
    case 'pagerduty': {
      const routingKey = pick(raw, 'routing_key', secrets, issues);
      if (routingKey === undefined && issues.length === 0) {
        issues.push({ key: 'routing_key_file', message: 'needs routing_key_file (or routing_key: ${ENV_VAR})' });
      }
      return { routingKey: routingKey?.trim(), url: r.url };
    }
  }
}

/** Where an option came from in the config entry, for issue paths. */
function configKey(r: ReceiverConfig, option: string): string {
  const snake = option.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return `${snake}_file` in r ? `${snake}_file` : snake;
}

/**
 * A config entry (with its `*_file` secrets already read) → the module's validated options and the timeout.
 * Every problem is returned, each at the config key it concerns; messages never contain a secret's value.
 */
export function receiverOptions(r: ReceiverConfig, secrets: ReceiverSecrets = {}): ReceiverOptionsResult {
  const module = RECEIVERS[r.type] as ReceiverModule<unknown> | undefined;
  if (!module) return { ok: false, issues: [{ key: 'type', message: `unknown receiver type "${String(r.type)}"` }] };
  const issues: ReceiverIssue[] = [];
  let timeoutMs = DEFAULT_RECEIVER_TIMEOUT_MS;
  if (r.timeout !== undefined) {
    const ms = parseDuration(r.timeout);
    if (typeof ms === 'string') issues.push({ key: 'timeout', message: ms });
    else timeoutMs = ms;
  }
  const raw = rawOptions(r, secrets, issues);
  for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
  if (issues.length > 0) return { ok: false, issues };
  const parsed = module.options.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((i) => {
        const option = String(i.path[0] ?? '');
        const key = option === '' ? 'type' : configKey(r, option);
        const where = i.path.length > 1 ? `${i.path.slice(1).join('.')}: ` : '';
        // zod messages name the rule, not the value: safe for secrets.
        return { key, message: `${where}${i.message}` };
      }),
    };
  }
  return { ok: true, type: r.type, options: parsed.data as ReceiverOptions<ReceiverType>, timeoutMs };
}

/** `receiverOptions` plus the module: a ready-to-use receiver. */
export function bindReceiver(r: ReceiverConfig, secrets: ReceiverSecrets = {}): BindResult {
  const res = receiverOptions(r, secrets);
  if (!res.ok) return res;
  const module = RECEIVERS[res.type] as ReceiverModule<unknown>;
  const options = res.options;
  return {
    ok: true,
    receiver: {
      name: r.name,
      type: res.type,
      timeoutMs: res.timeoutMs,
      maxBatch: module.maxBatch,
      accepts: (kind) => module.accepts(kind),
      build: (batch, ctx) => module.build(batch, options, ctx),
    },
  };
}
