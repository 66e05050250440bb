import type { Dispatcher } from 'undici';
import type { Clock } from '../../core/clock.js';
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
  /** Timers (the request timeout); the system clock when not given. */
  clock?: Clock;
}

/**
 * One receiver type (docs/receivers.md): its options, a pure payload builder, and whether it wants a kind of
 * notification at all. This is what the delivery queue runs; a receiver written in the config file is a
 * `ConfigurableReceiver` (below), which adds its config keys. Adding one is one file and one line in
 * providers/index.ts (docs/receivers.md).
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

/** A problem with one receiver entry, at one of its keys (for `file:line:col alerts.receivers[i].<key>`). */
export interface ReceiverIssue {
  key: string;
  message: string;
}

/** A receiver's own keys of a config entry, as the schema outputs them (`*_file` keys included). */
export type ReceiverEntry<K extends z.core.$ZodShape> = z.output<z.ZodObject<K, z.core.$strict>>;

/** The keys that have a `*_file` variant among `K`: the ones `secrets` may name. */
export type SecretKey<K> = { [P in keyof K & string]: `${P}_file` extends keyof K ? P : never }[keyof K & string];

/**
 * A receiver type that can be written in the config file: a ReceiverModule that also owns its entry in
 * `alerts.receivers`. The registry (providers/index.ts) assembles the config schema, the entry type and the
 * type names from these; `name`, `type` and `timeout` are common to every entry and not listed in `keys`.
 */
export interface ConfigurableReceiver<O, K extends z.core.$ZodShape = z.core.$ZodShape> extends ReceiverModule<O> {
  /** Its keys as written in YAML (snake_case), the `*_file` variant of each secret included. */
  keys: K;
  /** Keys given inline (`secret: ${ENV}`) or as a file (`secret_file`), one of the two; never logged. */
  secrets?: readonly SecretKey<K>[];
  /** A rule across keys (e.g. "url or url_file"): enforced by the config schema, and again before binding. */
  check?(entry: ReceiverEntry<K>): ReceiverIssue | null;
  /**
   * The entry, each secret under its plain key (inline value or file contents; no `*_file` keys) → the options
   * to validate with `options`. Default: the entry's keys in camelCase (`routing_key` → `routingKey`).
   */
  toOptions?(entry: ReceiverEntry<K>): Record<string, unknown>;
}
