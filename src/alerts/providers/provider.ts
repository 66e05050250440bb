import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { Notification } from '../types.js';

/** An HTTP request a receiver wants made: built by a pure function, sent by `sendRequest`. */
export interface PreparedRequest {
  url: string;
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  body: string;
  /** Which notifications this request carries (a grouped request carries several). */
  ids: readonly string[];
  /** Safe to log: the URL without secrets in path or query (Slack and PagerDuty URLs carry keys). */
  describe: string;
  /**
   * Secrets this request carries (a routing key, a secret URL or its path, a signing secret): `sendRequest`
   * scrubs them from every error it reports. Never log `url`, `headers` or `body` themselves; log `describe`.
   */
  redact?: readonly string[];
}

export interface BuildContext {
  /** Wall-clock ms: timestamps in payloads and signatures. */
  now: number;
  /** Where a person can look: the daemon's own `/` page, for generatorURL and links. */
  externalUrl: string;
}

export type SendOutcome =
  | { ok: true; status: number }
  | { ok: false; status: number | null; retryable: boolean; retryAfterMs: number | null; error: string };

export interface SendOptions {
  dispatcher: Dispatcher;
  signal?: AbortSignal;
  timeoutMs: number;
  /** Wall-clock ms, to turn an HTTP-date Retry-After into a delay. */
  now: number;
}

/**
 * One receiver type (STYLE.md rule 10): its options, a pure payload builder, and whether it wants a kind of
 * notification at all. Adding a receiver is one file and one line in providers/index.ts.
 */
export interface ReceiverModule<O> {
  type: string;
  options: z.ZodType<O>;
  /** Notification kinds this receiver is sent (e.g. only Alertmanager wants `refresh`). */
  accepts(kind: Notification['kind']): boolean;
  /** Most notifications one request may carry (1: never grouped). */
  maxBatch: number;
  /** Pure: the request(s) for a batch of notifications for this receiver. */
  build(batch: readonly Notification[], options: O, ctx: BuildContext): PreparedRequest[];
}
