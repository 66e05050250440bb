/**
 * What the delivery tests share: notifications, a fake receiver module, a recording send function, a captured
 * logger, and `setup()`, a DeliveryQueue for one receiver `ops` on a ManualClock.
 */
import { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import {
  DeliveryQueue,
  type AlertsLogger,
  type DeliveryQueueOptions,
  type DeliveryReceiver,
  type SendFn,
} from '../../../src/alerts/delivery/index.js';
import type { ReceiverModule, SendOptions, SendOutcome } from '../../../src/alerts/providers/provider.js';
import type { Notification, NotificationKind } from '../../../src/alerts/types.js';
import { ManualClock } from '../../helpers/manual-clock.js';

export const dispatcher = {} as Dispatcher;
const ALL_KINDS: readonly NotificationKind[] = ['firing', 'reminder', 'resolved', 'refresh'];
export const SECRET = 's3cret-token-in-header';

export function note(id: string, over: Partial<Notification> = {}): Notification {
  const kind = over.kind ?? 'firing';
  return {
    id,
    receiver: 'ops',
    kind,
    status: kind === 'resolved' ? 'resolved' : 'firing',
    alert: 'smtp_probe_down',
    alertKind: 'down',
    target: 'mx1',
    labels: { env: 'test' },
    startsAt: '2026-01-01T00:00:00.000Z',
    endsAt: kind === 'resolved' ? '2026-01-01T00:10:00.000Z' : null,
    summary: `summary of ${id}`,
    failure: null,
    result: null,
    intervalMs: 60_000,
    createdAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** A receiver module that puts up to maxBatch notifications in one request, in order. */
export function fakeModule(
  opts: { maxBatch?: number; accepts?: readonly NotificationKind[]; build?: (batch: readonly Notification[]) => void } = {},
): ReceiverModule<{ url: string }> {
  const maxBatch = opts.maxBatch ?? 1;
  const kinds = opts.accepts ?? ALL_KINDS;
  return {
    type: 'fake',
    options: z.object({ url: z.string() }),
    accepts: (k) => kinds.includes(k),
    maxBatch,
    build(batch, o) {
      opts.build?.(batch);
      return chunks(batch, maxBatch).map((group) => ({
        url: o.url,
        method: 'POST',
        headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
        body: JSON.stringify(group.map((n) => n.id)),
        ids: group.map((n) => n.id),
        describe: `POST ${o.url}`,
      }));
    },
  };
}

export const ok = (status = 200): SendOutcome => ({ ok: true, status });
/** What sendRequest answers: null status = no HTTP answer (connection refused, reset, timeout). */
export const fail = (status: number | null, retryAfterMs: number | null = null): Extract<SendOutcome, { ok: false }> => ({
  ok: false,
  status,
  retryable: status === null || status === 408 || status === 429 || status >= 500,
  retryAfterMs,
  error: status === null ? 'connect ECONNREFUSED 127.0.0.1:9' : `HTTP ${status}`,
});

export interface Call {
  at: number;
  receiver: string;
  ids: string[];
  opts: SendOptions;
  outcome?: SendOutcome;
}

export type Respond = (call: Call, index: number) => SendOutcome | Promise<SendOutcome>;

/** A send function that records every request; `respond` decides the outcome (default: 200). */
export function fakeSend(respond: Respond = () => ok()) {
  const calls: Call[] = [];
  const send: SendFn = async (req, opts) => {
    const call: Call = { at: NaN, receiver: new URL(req.url).pathname.slice(1), ids: [...req.ids], opts };
    calls.push(call);
    call.outcome = await respond(call, calls.length - 1);
    return call.outcome;
  };
  /** Ids in successful requests, in order. */
  const delivered = (receiver?: string): string[] =>
    calls.filter((c) => c.outcome?.ok && (receiver === undefined || c.receiver === receiver)).flatMap((c) => c.ids);
  return { send, calls, delivered };
}

export interface LogLine {
  level: string;
  obj: object;
  msg: string;
}

export function captureLogger(): { logger: AlertsLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, obj, msg });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

export const receiver = (name: string, module: ReceiverModule<{ url: string }>, timeoutMs = 5000): DeliveryReceiver => ({
  name,
  module,
  options: { url: `https://hooks.example.test/${name}` },
  timeoutMs,
});

export interface SetupOptions extends Partial<DeliveryQueueOptions> {
  module?: ReceiverModule<{ url: string }>;
  respond?: Respond;
}

export function setup(o: SetupOptions = {}) {
  const clock = new ManualClock();
  const registry = new Registry();
  const { logger, lines } = captureLogger();
  const fake = fakeSend(async (call, i) => {
    call.at = clock.now();
    return (o.respond ?? (() => ok()))(call, i);
  });
  let changes = 0;
  const { module, respond: _respond, ...rest } = o;
  const q = new DeliveryQueue({
    clock,
    receivers: [receiver('ops', module ?? fakeModule())],
    send: fake.send,
    dispatcher,
    externalUrl: 'http://probe.example.test:9469/',
    registry,
    logger,
    random: () => 0.5,
    onChange: () => changes++,
    ...rest,
  });
  return { clock, q, registry, lines, ...fake, changes: () => changes };
}

/** smtp_probe_notifications_total values for one receiver, by result. */
export async function counts(registry: Registry, receiverName = 'ops'): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('smtp_probe_notifications_total');
  const data = await metric!.get();
  const out: Record<string, number> = {};
  for (const v of data.values) if (v.labels.receiver === receiverName) out[String(v.labels.result)] = v.value;
  return out;
}

export const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);
