/**
 * Alertmanager API v2: `POST {url}/api/v2/alerts` with an array of alerts. Like Prometheus, smtp-probe re-posts
 * every firing alert on each run (`refresh`) with `endsAt` three intervals ahead, so Alertmanager keeps it
 * active while runs continue and lets it expire if the probe dies; a resolve posts the real end time.
 */
import { z } from 'zod';
import type { Notification } from '../types.js';
import { acceptsOnly, chunk, endpoint, failureDetail, httpUrl, severityOf, USER_AGENT } from './common.js';
import type { BuildContext, ConfigurableReceiver, PreparedRequest } from './provider.js';

export const alertmanagerOptions = z.strictObject({
  /** Alertmanager's base URL (with its route prefix, if any); `/api/v2/alerts` is appended. */
  url: httpUrl,
});
export type AlertmanagerOptions = z.infer<typeof alertmanagerOptions>;

export const ALERTMANAGER_MAX_BATCH = 100;
/** How many target intervals a firing alert stays valid without a re-post (Prometheus: 4 × max(interval, resend delay)). */
export const ENDS_AT_INTERVALS = 3;

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** One alert of the array (pure). Static labels first; `alertname` and `target` always win, `severity` may be overridden. */
export function postableAlert(n: Notification, ctx: BuildContext): PostableAlert {
  const labels: Record<string, string> = { severity: severityOf(n), ...n.labels, alertname: n.alert, target: n.target };
  const endsAt = n.status === 'resolved' ? (n.endsAt ?? new Date(ctx.now).toISOString()) : new Date(ctx.now + ENDS_AT_INTERVALS * n.intervalMs).toISOString();
  const annotations: Record<string, string> = { summary: n.summary, description: failureDetail(n) ?? n.summary };
  const alert: PostableAlert = { labels, annotations, startsAt: n.startsAt, endsAt };
  if (ctx.externalUrl) alert.generatorURL = ctx.externalUrl;
  return alert;
}

function buildOne(batch: readonly Notification[], o: AlertmanagerOptions, ctx: BuildContext): PreparedRequest {
  const ep = endpoint(o.url, '/api/v2/alerts');
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT };
  if (ep.authorization) headers.Authorization = ep.authorization;
  return {
    url: ep.url,
    method: 'POST',
    headers,
    body: JSON.stringify(batch.map((n) => postableAlert(n, ctx))),
    ids: batch.map((n) => n.id),
    describe: `alertmanager ${ep.shown}`,
    redact: [ep.authorization, new URL(o.url).search].filter((s): s is string => s !== null && s.length > 1),
  };
}

const accepts = acceptsOnly(['firing', 'reminder', 'resolved', 'refresh']);

const keys = {
  url: httpUrl.meta({ description: "Alertmanager's base URL with its route prefix, if any; /api/v2/alerts is appended. Example: http://alertmanager:9093" }),
};

export const alertmanagerReceiver: ConfigurableReceiver<AlertmanagerOptions, typeof keys> = {
  type: 'alertmanager',
  keys,
  options: alertmanagerOptions,
  accepts,
  maxBatch: ALERTMANAGER_MAX_BATCH,
  build: (batch, options, ctx) =>
    chunk(batch.filter((n) => accepts(n.kind)), ALERTMANAGER_MAX_BATCH).map((group) => buildOne(group, options, ctx)),
};
