/**
 * Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat...): `{ text, blocks }`. Several
 * notifications go out as one message ("3 alerts: 2 FIRING, 1 RESOLVED"), so a failure storm is one post, not
 * forty. `text` carries the whole message on its own, for services that ignore `blocks` and for the
 * notification preview. The webhook URL is the credential: only its origin is ever shown.
 */
import { z } from 'zod';
import type { Notification } from '../types.js';
import { acceptsOnly, chunk, endpoint, failureWords, httpUrl, truncate, USER_AGENT } from './common.js';
import type { BuildContext, ConfigurableReceiver, PreparedRequest } from './provider.js';

export const slackOptions = z.strictObject({
  /** The incoming-webhook URL (config `url` or the contents of `url_file`): a secret. */
  url: httpUrl,
});
export type SlackOptions = z.infer<typeof slackOptions>;

export const SLACK_MAX_BATCH = 20;
const MAX_SUMMARY = 500;

type Block = { type: 'section'; text: { type: 'mrkdwn'; text: string } } | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] };

/** Slack mrkdwn control characters; everything else is shown as written. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function statusWord(n: Notification): string {
  return n.status === 'resolved' ? 'RESOLVED' : 'FIRING';
}

/** One line per notification: "*FIRING* smtp_probe_down on mx1: auth reply 535. Summary". */
export function slackLine(n: Notification): string {
  const head = `*${statusWord(n)}*${n.kind === 'reminder' ? ` (still, since ${n.startsAt})` : ''}`;
  const words = n.status === 'firing' ? failureWords(n) : null;
  const what = `${escapeMrkdwn(n.alert)} on ${escapeMrkdwn(n.target)}${words ? `: ${escapeMrkdwn(words)}` : ''}`;
  const summary = n.summary.trim() === '' ? '' : ` ${escapeMrkdwn(truncate(n.summary.trim(), MAX_SUMMARY))}`;
  return `${head} ${what}.${summary}`;
}

function countsLine(batch: readonly Notification[]): string {
  const firing = batch.filter((n) => n.status === 'firing').length;
  const resolved = batch.length - firing;
  const parts = [firing > 0 ? `${firing} FIRING` : null, resolved > 0 ? `${resolved} RESOLVED` : null].filter((x) => x !== null);
  return `${batch.length} alerts: ${parts.join(', ')}`;
}

/** The message for one group of notifications (pure). */
export function slackPayload(batch: readonly Notification[], ctx: BuildContext): { text: string; blocks: Block[] } {
  const lines = batch.map(slackLine);
  const link = ctx.externalUrl ? `<${ctx.externalUrl}|smtp-probe>` : null;
  const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } });
  const blocks: Block[] = [];
  let text: string;
  if (batch.length === 1) {
    text = lines[0]!;
    blocks.push(section(text));
  } else {
    const head = countsLine(batch);
    text = [head, ...lines.map((l) => `• ${l}`)].join('\n');
    blocks.push(section(`*${head}*`), ...lines.map(section));
  }
  if (link) {
    text += `\n${link}`;
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: link }] });
  }
  return { text, blocks };
}

function buildOne(batch: readonly Notification[], o: SlackOptions, ctx: BuildContext): PreparedRequest {
  const ep = endpoint(o.url);
  const u = new URL(o.url);
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT };
  if (ep.authorization) headers.Authorization = ep.authorization;
  return {
    url: ep.url,
    method: 'POST',
    headers,
    body: JSON.stringify(slackPayload(batch, ctx)),
    ids: batch.map((n) => n.id),
    describe: `slack ${ep.origin}`,
    redact: [o.url, ep.url, u.pathname + u.search, u.pathname, u.search, ep.authorization].filter(
      (s): s is string => s !== null && s.length > 1,
    ),
  };
}

const accepts = acceptsOnly(['firing', 'reminder', 'resolved']);

const keys = {
  url: httpUrl.optional().meta({ description: 'The incoming-webhook URL (Slack, Mattermost, Rocket.Chat): a secret, so from ${SLACK_WEBHOOK_URL}; or url_file' }),
  url_file: z.string().optional().meta({ description: 'File holding the incoming-webhook URL (one trailing newline stripped). Example: /run/secrets/slack_url' }),
};

export const slackReceiver: ConfigurableReceiver<SlackOptions, typeof keys> = {
  type: 'slack',
  keys,
  secrets: ['url'],
  check: (e) => ((e.url === undefined) === (e.url_file === undefined) ? { key: 'url', message: 'give url or url_file (the webhook URL is a secret)' } : null),
  toOptions: (e) => ({ url: e.url?.trim() }),
  options: slackOptions,
  accepts,
  maxBatch: SLACK_MAX_BATCH,
  build: (batch, options, ctx) =>
    chunk(batch.filter((n) => accepts(n.kind)), SLACK_MAX_BATCH).map((group) => buildOne(group, options, ctx)),
};
