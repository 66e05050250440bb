/**
 * PagerDuty Events API v2: `trigger` when an alert fires, `resolve` when it ends, both with the same
 * `dedup_key`, so PagerDuty opens and closes one incident per alert and target. Reminders are not sent: the
 * incident stays open on PagerDuty's side, and a second trigger would only be deduplicated. The routing key
 * travels in the body and is never shown.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Notification } from '../types.js';
import { acceptsOnly, endpoint, httpUrl, severityOf, truncate, USER_AGENT } from './common.js';
import type { BuildContext, ConfigurableReceiver, PreparedRequest } from './provider.js';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
/** The Events API v2 path, on any PagerDuty host (US or EU): public, safe to log. */
const EVENTS_PATH = '/v2/enqueue';

export const pagerdutyOptions = z.strictObject({
  /** The integration's routing key (config `routing_key` or the contents of `routing_key_file`): a secret. */
  routingKey: z.string().min(1).regex(/^[^\r\n]*$/, 'must be one line'),
  /** Another Events API v2 endpoint (a proxy, the EU service region); default PagerDuty's. */
  url: httpUrl.optional(),
});
export type PagerdutyOptions = z.infer<typeof pagerdutyOptions>;

const MAX_DEDUP_KEY = 255;
const MAX_SUMMARY = 1024;

/** `smtp-probe/<alert>/<target>`: the same for the trigger and the resolve of one alert; hashed if over 255 chars. */
export function dedupKey(alert: string, target: string): string {
  const key = `smtp-probe/${alert}/${target}`;
  if (key.length <= MAX_DEDUP_KEY) return key;
  return `smtp-probe/sha256:${createHash('sha256').update(`${alert}\0${target}`).digest('hex')}`;
}

/** The event for one notification (pure). */
export function pagerdutyEvent(n: Notification, o: PagerdutyOptions, ctx: BuildContext): Record<string, unknown> {
  const base = { routing_key: o.routingKey, dedup_key: dedupKey(n.alert, n.target) };
  if (n.status === 'resolved') return { ...base, event_action: 'resolve' };
  const event: Record<string, unknown> = {
    ...base,
    event_action: 'trigger',
    payload: {
      summary: truncate(`${n.alert} on ${n.target}: ${n.summary}`, MAX_SUMMARY),
      source: n.target,
      severity: severityOf(n),
      timestamp: n.startsAt,
      component: n.failure?.phase ?? 'smtp',
      group: n.alert,
      class: n.failure?.reason ?? n.alertKind,
      custom_details: {
        alert: n.alert,
        kind: n.alertKind,
        target: n.target,
        url: n.result?.url ?? null,
        labels: n.labels,
        startsAt: n.startsAt,
        failure: n.result?.failure ?? n.failure,
        summary: n.summary,
      },
    },
    client: 'smtp-probe',
  };
  if (ctx.externalUrl) event.client_url = ctx.externalUrl;
  return event;
}

function buildOne(n: Notification, o: PagerdutyOptions, ctx: BuildContext): PreparedRequest {
  const ep = endpoint(o.url ?? PAGERDUTY_EVENTS_URL);
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT };
  if (ep.authorization) headers.Authorization = ep.authorization;
  const search = o.url ? new URL(o.url).search : '';
  return {
    url: ep.url,
    method: 'POST',
    headers,
    body: JSON.stringify(pagerdutyEvent(n, o, ctx)),
    ids: [n.id],
    // The Events API path is public (the routing key travels in the body); any other configured path is hidden.
    describe: `pagerduty ${new URL(ep.url).pathname === EVENTS_PATH ? ep.originAndPath : ep.shown}`,
    redact: [o.routingKey, ep.authorization, search].filter((s): s is string => s !== null && s.length > 1),
  };
}

const accepts = acceptsOnly(['firing', 'resolved']);

const keys = {
  routing_key: z.string().optional().meta({ description: "The Events API v2 integration's routing key, from ${ENV_VAR}; or routing_key_file" }),
  routing_key_file: z.string().optional().meta({ description: 'File holding the routing key (one trailing newline stripped). Example: /run/secrets/pagerduty_routing_key' }),
  url: httpUrl.optional().meta({ description: `Another Events API v2 endpoint: the EU region, a proxy (default ${PAGERDUTY_EVENTS_URL})` }),
};

export const pagerdutyReceiver: ConfigurableReceiver<PagerdutyOptions, typeof keys> = {
  type: 'pagerduty',
  keys,
  secrets: ['routing_key'],
  check: (e) =>
    e.routing_key === undefined && e.routing_key_file === undefined
      ? { key: 'routing_key_file', message: 'needs routing_key_file (or routing_key: ${ENV_VAR})' }
      : null,
  toOptions: (e) => ({ routingKey: e.routing_key?.trim(), url: e.url }),
  options: pagerdutyOptions,
  accepts,
  maxBatch: 1,
  build: (batch, options, ctx) => batch.filter((n) => accepts(n.kind)).map((n) => buildOne(n, options, ctx)),
};
