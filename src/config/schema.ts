import { z } from 'zod';
import { checkOptionShape } from '../../checks/index.js';
import type { SchemaKit } from '../../checks/step.js';
import { parseDuration } from '../core/duration.js';
import { EXPECTABLE_PHASES, parseExpectation } from '../core/expect.js';
import { parseListenAddress } from '../core/listen.js';
import { STEP_KINDS } from '../core/plan.js';
import { parseTargetUrl } from '../core/target.js';
import { DNS_SERVER_PATTERN } from '../dns/mx.js';
import { receiverConfigSchema } from '../alerts/providers/index.js';
import { alertDefaultsSchema, isolatedSchema, ruleSchema } from '../alerts/rules.js';
import { parseMailboxUrl } from '../mailbox/url.js';

/**
 * The config file's schema (README "Config"). Strict everywhere: an unknown key is an error. Values are checked
 * and converted here, once: durations become milliseconds, URLs parsed targets, reply codes expectations, so
 * nothing downstream parses again. What needs the whole file (module names, duplicate targets, the interval
 * against the timeout) is checked in resolve.ts. A module's keys come from the check registry (checks/index.ts):
 * each check owns its own. Types are inferred from this schema.
 */

/** A string turned into a value by a parser that answers a message when it cannot. */
function parsedString<T extends object | number>(parse: (s: string) => T | string) {
  return z.string().transform((s, ctx): T => {
    const v = parse(s);
    if (typeof v === 'string') {
      ctx.addIssue({ code: 'custom', message: v });
      return z.NEVER;
    }
    return v;
  });
}

const duration = z
  .string({ error: 'must be a duration string with a unit, like 500ms, 10s, 5m' })
  .pipe(parsedString(parseDuration))
  .meta({ description: 'A duration with units: 500ms, 10s, 5m, 1h' });

/** A duration over zero (where zero would turn a limit off). */
const positiveDuration = duration.refine((ms) => ms > 0, 'must be longer than 0');

/** A duration kept as written: receivers take their `timeout` as text (alerts/providers/index.ts reads it). */
const durationText = z
  .string({ error: 'must be a duration string with a unit, like 500ms, 10s, 5m' })
  .refine((s) => typeof parseDuration(s) === 'number', { error: (i) => String(parseDuration(String(i.input))) })
  .meta({ description: 'A duration with units: 500ms, 10s, 5m, 1h' });

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'must be HOST:PORT or :PORT')
  .pipe(parsedString((s) => parseListenAddress(s) ?? `port ${/:(\d+)$/.exec(s)?.[1]} is out of range`));

const targetUrl = parsedString((s) => parseTargetUrl(s, 'config'));

const mailAddress = z.string().regex(/^$|^[^@\s<>]+@[^@\s<>]+$/, 'must be a mail address (local@domain)');

const oneLine = (what: string) => z.string().regex(/^[^\r\n]*$/, `${what} must be one line`);

/** What the checks build their options from (checks/step.ts SchemaKit). */
const kit: SchemaKit = { z, oneLine, mailAddress, file: z.string() };

const codes = z
  .array(z.union([z.string(), z.number().int()]))
  .min(1)
  .superRefine((list, ctx) => {
    list.forEach((c, i) => {
      const e = parseExpectation(String(c));
      if (typeof e === 'string') ctx.addIssue({ code: 'custom', message: e, path: [i] });
    });
  })
  .pipe(z.array(z.union([z.string(), z.number()])).transform((list) => list.map(String).join(',')))
  .pipe(parsedString(parseExpectation));

const expect = z.partialRecord(z.enum(EXPECTABLE_PHASES as [string, ...string[]]), codes);

const roundtrip = z.strictObject({
  mailbox: z
    .string()
    .regex(/^(pop3s?|imaps?):\/\/[^@\s]+$/i, 'must be pop3s://host[:port], pop3://, imaps:// or imap:// (no credentials)')
    .pipe(parsedString(parseMailboxUrl)),
  username: oneLine('username'),
  password: z.string().optional().meta({ description: 'Use ${ENV_VAR} expansion; never write a password inline' }),
  password_file: z.string().optional(),
  ca_file: z.string().optional(),
  server_name: oneLine('server_name').optional(),
  insecure_skip_verify: z.boolean().optional(),
  allow_plaintext: z.boolean().optional(),
  timeout: duration.optional(),
  poll_interval: duration.optional(),
  folders: z.array(z.string()).min(1).optional(),
  max_messages: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .optional()
    .meta({ description: 'Messages looked at per mailbox (folder), the newest first (default 5000): a huge mailbox costs no more' }),
});

/** Module keys the runner reads itself; the checks add theirs (checks/*.ts `options`). */
const runnerKeys = {
  ip_protocol: z.union([z.literal(4), z.literal(6)], { error: 'must be 4 or 6 (omit it for either)' }).optional(),
  source_ip_address: z.ipv4().or(z.ipv6()).optional(),
  timeout: duration.optional(),
  phase_timeout: duration.optional(),
  expect: expect.optional(),
  steps: z.array(z.enum(STEP_KINDS)).min(1).optional(),
  probe_targets: z.array(targetUrl).optional(),
  phase_histograms: z.boolean().optional(),
  roundtrip: roundtrip.optional(),
};

export const moduleSchema = z.strictObject({ ...checkOptionShape(kit), ...runnerKeys });

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name');
const RESERVED_LABELS = ['target', 'phase', 'reason', 'result', 'version', 'mx_host', 'mx_preference', 'alert', 'receiver', 'module', 'le'];

/** A DNS server as node:dns takes it: "127.0.0.1", "127.0.0.1:5353", "[::1]:53". */
const dnsServer = z.string().regex(DNS_SERVER_PATTERN, 'must be an IP address with an optional port, e.g. 127.0.0.1:5353 or [::1]:53');

const target = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.:@/-]{1,128}$/, 'must be 1-128 characters of letters, digits and _.:@/-'),
  url: targetUrl,
  module: z.string().optional(),
  interval: duration.optional(),
  dns_servers: z.array(dnsServer).min(1).optional(),
  max_mx: z
    .number().int().min(1).max(50).optional()
    .meta({ description: 'mx:// targets: probe the first N MX hosts by preference (default 10; 1-50), however many the DNS answer lists' }),
  labels: z
    .record(labelName.refine((l) => !RESERVED_LABELS.includes(l) && !l.startsWith('__'), 'is a label smtp-probe sets itself'), z.string())
    .optional(),
});

const global = z.strictObject({
  interval: duration.optional(),
  timeout: duration.optional(),
  phase_timeout: duration.optional(),
  concurrency: z.number().int().min(1).max(10_000).optional(),
  listen: listen.optional(),
  phase_histograms: z.boolean().optional(),
  state_file: z.string().optional(),
  ehlo: oneLine('ehlo').optional(),
  dns_servers: z.array(dnsServer).min(1).optional(),
  web: z
    .strictObject({
      max_connections: z.number().int().min(1).max(1_000_000).optional(),
      max_concurrent_probes: z.number().int().min(1).max(10_000).optional(),
      header_timeout: positiveDuration.optional(),
      request_timeout: positiveDuration.optional(),
      keep_alive_timeout: positiveDuration.optional(),
      reload: z.boolean().optional(),
    })
    .optional()
    .meta({ description: 'Limits of the HTTP server (connections, /probe runs at once, request timeouts) and POST /-/reload' }),
});

/** An `alerts.receivers` entry: each receiver module owns its keys (alerts/providers/index.ts assembles them). */
const receiver = receiverConfigSchema({ timeout: durationText.optional() });

export const alertsSchema = z.strictObject({
  defaults: alertDefaultsSchema().optional(),
  rules: z.array(ruleSchema(duration, labelName)).optional(),
  silences: z
    .array(
      z.strictObject({
        targets: z.array(z.string()).optional(),
        modules: z.array(z.string()).optional(),
        starts: z.iso.datetime({ offset: true }),
        ends: z.iso.datetime({ offset: true }),
        comment: z.string().optional(),
      }),
    )
    .optional(),
  receivers: z.array(receiver).optional(),
  isolated: isolatedSchema().optional(),
});

export const configSchema = z.strictObject({
  global: global.optional(),
  modules: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'module names are letters, digits, _ and -'), moduleSchema).optional(),
  targets: z.array(target).optional(),
  alerts: alertsSchema.optional(),
});

/** The config as the schema gives it: durations in milliseconds, URLs and reply codes parsed. */
export type RawConfig = z.output<typeof configSchema>;
/** The config as the file writes it (what passed the schema, before conversion). */
export type WrittenConfig = z.input<typeof configSchema>;
export type RawModule = z.infer<typeof moduleSchema>;
export type RawTarget = NonNullable<RawConfig['targets']>[number];

/** The JSON Schema for editors (`# yaml-language-server: $schema=...`). */
export function configJsonSchema(): unknown {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...(allowEnvReferences(schema) as Record<string, unknown>), title: 'smtp-probe configuration' };
}

/** Any string may be a `${VAR}` reference the loader expands, so a pattern must not flag one in an editor. */
function allowEnvReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowEnvReferences);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'pattern' && typeof v === 'string' ? `(?:${v})|\\$\\{` : allowEnvReferences(v);
  return out;
}
