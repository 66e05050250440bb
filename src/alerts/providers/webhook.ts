/**
 * The generic webhook (docs/webhook-payload.schema.json): one JSON POST per notification, optionally signed with
 * HMAC-SHA256 over "timestamp.body" so the receiver can check origin and freshness.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Notification } from '../types.js';
import { acceptsOnly, endpoint, headerMap, httpUrl, mergeHeaders, USER_AGENT } from './common.js';
import type { BuildContext, ConfigurableReceiver, PreparedRequest } from './provider.js';

export const webhookOptions = z.strictObject({
  url: httpUrl,
  /** The HMAC key (config `secret` or the contents of `secret_file`). */
  secret: z.string().min(1).optional(),
  headers: headerMap.optional(),
});
export type WebhookOptions = z.infer<typeof webhookOptions>;

/** Its keys in `alerts.receivers` (headers are checked as options, so a bad one is reported at `headers`). */
const keys = {
  url: httpUrl.meta({ description: 'Where each notification is POSTed as JSON; userinfo becomes an Authorization header. Example: https://hooks.example.test/smtp' }),
  secret: z.string().optional().meta({ description: 'HMAC-SHA256 key that signs each request (X-Smtp-Probe-Signature), from ${ENV_VAR}; or secret_file' }),
  secret_file: z.string().optional().meta({ description: 'File holding the signing secret (one trailing newline stripped). Example: /run/secrets/hook_secret' }),
  headers: z.record(z.string(), z.string()).optional().meta({ description: 'Extra request headers; their values never appear in logs. Example: { X-Team: mail-ops }' }),
};

export const SIGNATURE_HEADER = 'X-Smtp-Probe-Signature';
export const TIMESTAMP_HEADER = 'X-Smtp-Probe-Timestamp';
/** The notification id, stable across retries: receivers may deduplicate on it. */
export const ID_HEADER = 'X-Smtp-Probe-Notification';

/** The body, key for key as in docs/webhook-payload.schema.json. The result record goes without its transcript. */
export function webhookPayload(n: Notification): Record<string, unknown> {
  let result: Record<string, unknown> | null = null;
  if (n.result) {
    const { transcript: _transcript, ...rest } = n.result;
    result = rest;
  }
  return {
    version: 1,
    status: n.status,
    alert: n.alert,
    target: n.target,
    labels: n.labels,
    startsAt: n.startsAt,
    endsAt: n.endsAt,
    summary: n.summary,
    failure: n.failure ? { phase: n.failure.phase, reason: n.failure.reason, code: n.failure.code } : null,
    result,
    ...(n.findings ? { findings: n.findings } : {}),
  };
}

/** `sha256=<hex HMAC-SHA256(secret, "timestamp.body")>`; receivers recompute it over the raw body bytes. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

function buildOne(n: Notification, o: WebhookOptions, ctx: BuildContext): PreparedRequest {
  const ep = endpoint(o.url);
  const body = JSON.stringify(webhookPayload(n));
  const signed: Record<string, string> = {};
  if (o.secret !== undefined) {
    const ts = Math.floor(ctx.now / 1000);
    signed[TIMESTAMP_HEADER] = String(ts);
    signed[SIGNATURE_HEADER] = webhookSignature(o.secret, ts, body);
  }
  const headers = mergeHeaders(
    { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT, [ID_HEADER]: n.id },
    ep.authorization ? { Authorization: ep.authorization } : undefined,
    o.headers,
    signed,
  );
  // Configured headers often carry tokens (Authorization: Bearer ...): scrub their values from errors too.
  const redact = [o.secret, ep.authorization, new URL(o.url).search, ...Object.values(o.headers ?? {})].filter(
    (s): s is string => s !== undefined && s !== null && s.length >= 6,
  );
  return { url: ep.url, method: 'POST', headers, body, ids: [n.id], describe: `webhook ${ep.shown}`, redact };
}

const accepts = acceptsOnly(['firing', 'reminder', 'resolved']);

export const webhookReceiver: ConfigurableReceiver<WebhookOptions, typeof keys> = {
  type: 'webhook',
  keys,
  secrets: ['secret'],
  options: webhookOptions,
  accepts,
  maxBatch: 1,
  build: (batch, options, ctx) => batch.filter((n) => accepts(n.kind)).map((n) => buildOne(n, options, ctx)),
};
