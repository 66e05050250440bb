import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { DNS_SERVER_PATTERN } from '../dns/mx.js';
import { httpUrl } from '../alerts/providers/common.js';
import { EXPECTABLE_PHASES, parseExpectation } from '../core/expect.js';
import { STEP_KINDS } from '../core/plan.js';
import { parseTargetUrl } from '../core/target.js';
import { SASL_MECHANISMS } from '../core/sasl.js';
import { TLS_MODES } from '../core/tls.js';

/**
 * The config file's schema (CONTRACT.md "Config"). Strict everywhere: an unknown key is an error. Values are
 * checked here as far as one value allows; what needs the whole file (module names, duplicate targets, the
 * interval against the timeout) is checked in load.ts. Types are inferred from this schema.
 */

const duration = z
  .string({ error: 'must be a duration string with a unit, like 500ms, 10s, 5m' })
  .superRefine((s, ctx) => {
    const ms = parseDuration(s);
    if (typeof ms === 'string') ctx.addIssue({ code: 'custom', message: ms });
  })
  .meta({ description: 'A duration with units: 500ms, 10s, 5m, 1h' });

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'must be HOST:PORT or :PORT')
  .superRefine((s, ctx) => {
    const port = Number(/:(\d+)$/.exec(s)?.[1]);
    if (port > 65535) ctx.addIssue({ code: 'custom', message: `port ${port} is out of range` });
  });

const targetUrl = z.string().superRefine((s, ctx) => {
  const t = parseTargetUrl(s, 'config');
  if (typeof t === 'string') ctx.addIssue({ code: 'custom', message: t });
});

const mailAddress = z.string().regex(/^$|^[^@\s<>]+@[^@\s<>]+$/, 'must be a mail address (local@domain)');

const noNewline = (what: string) => z.string().regex(/^[^\r\n]*$/, `${what} must be one line`);

const codes = z
  .array(z.union([z.string(), z.number().int()]))
  .min(1)
  .superRefine((list, ctx) => {
    list.forEach((c, i) => {
      const e = parseExpectation(String(c));
      if (typeof e === 'string') ctx.addIssue({ code: 'custom', message: e, path: [i] });
    });
  });

const tlsConfig = z
  .strictObject({
    ca_file: z.string().optional(),
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    server_name: noNewline('server_name').optional(),
    insecure_skip_verify: z.boolean().optional(),
    min_version: z.enum(['TLS10', 'TLS11', 'TLS12', 'TLS13']).optional(),
  })
  .meta({ description: "TLS settings, with blackbox_exporter's key names" });

const auth = z.strictObject({
  mechanism: z.enum(SASL_MECHANISMS).optional(),
  username: noNewline('username'),
  password: z.string().optional().meta({ description: 'Use ${ENV_VAR} expansion; never write a password inline' }),
  password_file: z.string().optional(),
  allow_plaintext: z.boolean().optional(),
});

const send = z.strictObject({
  from: mailAddress.optional(),
  to: z.array(mailAddress.refine((s) => s !== '', 'a recipient cannot be empty')).min(1),
  deliver: z.boolean().optional(),
  subject: z.string().optional(),
  body: z.string().optional(),
  headers: z.record(z.string().regex(/^[!-9;-~]+$/, 'must be a header field name'), z.string()).optional(),
  size: z.number().int().positive().max(100 * 1024 * 1024).optional(),
});

const expect = z.partialRecord(z.enum(EXPECTABLE_PHASES as [string, ...string[]]), codes);

const roundtrip = z.strictObject({
  mailbox: z.string().regex(/^(pop3s?|imaps?):\/\/[^@\s]+$/i, 'must be pop3s://host[:port], pop3://, imaps:// or imap:// (no credentials)'),
  username: noNewline('username'),
  password: z.string().optional().meta({ description: 'Use ${ENV_VAR} expansion; never write a password inline' }),
  password_file: z.string().optional(),
  ca_file: z.string().optional(),
  server_name: noNewline('server_name').optional(),
  insecure_skip_verify: z.boolean().optional(),
  allow_plaintext: z.boolean().optional(),
  timeout: duration.optional(),
  poll_interval: duration.optional(),
  folders: z.array(z.string()).min(1).optional(),
});

export const moduleSchema = z.strictObject({
  tls: z.enum(TLS_MODES as [string, ...string[]]).optional(),
  tls_config: tlsConfig.optional(),
  ehlo: noNewline('ehlo').optional(),
  ip_protocol: z.union([z.literal(4), z.literal(6)], { error: 'must be 4 or 6 (omit it for either)' }).optional(),
  source_ip_address: z.ipv4().or(z.ipv6()).optional(),
  timeout: duration.optional(),
  phase_timeout: duration.optional(),
  auth: auth.optional(),
  send: send.optional(),
  expect: expect.optional(),
  require_capabilities: z.array(z.string().regex(/^[A-Za-z0-9-]+((>=\d+)|(=\S+))?$/, 'must be NAME, NAME>=N or NAME=WORD')).optional(),
  banner_pattern: z.string().optional(),
  min_cert_days: z.number().int().nonnegative().optional(),
  steps: z.array(z.enum(STEP_KINDS)).min(1).optional(),
  probe_targets: z.array(targetUrl).optional(),
  phase_histograms: z.boolean().optional(),
  roundtrip: roundtrip.optional(),
});

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
  max_mx: z.number().int().min(1).max(50).optional(),
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
  ehlo: noNewline('ehlo').optional(),
  dns_servers: z.array(dnsServer).min(1).optional(),
});

const alertSelect = {
  targets: z.array(z.string()).optional(),
  modules: z.array(z.string()).optional(),
  receivers: z.array(z.string()).min(1),
  failure_threshold: z.number().int().min(1).optional(),
  success_threshold: z.number().int().min(1).optional(),
  reminder_interval: duration.optional(),
  send_resolved: z.boolean().optional(),
  /** mx:// targets: judge each MX host (host, the default) or the domain as a whole (domain: every MX failing). */
  scope: z.enum(['host', 'domain']).optional(),
};

const rule = z.discriminatedUnion('kind', [
  z.strictObject({ name: labelName, kind: z.literal('down'), ...alertSelect }),
  z.strictObject({
    name: labelName,
    kind: z.literal('slow'),
    phase: z.enum(['dns', 'connect', 'tls', 'banner', 'ehlo', 'helo', 'starttls', 'tls_upgrade', 'ehlo_tls', 'auth', 'mail', 'rcpt', 'data', 'message', 'noop', 'rset', 'quit', 'roundtrip']),
    over: duration,
    consecutive: z.number().int().min(1).optional(),
    ...alertSelect,
  }),
  z.strictObject({ name: labelName, kind: z.literal('certificate'), days_left_under: z.number().int().min(1), ...alertSelect }),
  z.strictObject({
    name: labelName,
    kind: z.literal('capability'),
    require: z.array(z.string()).optional(),
    auth_before_tls: z.boolean().optional(),
    ...alertSelect,
  }),
]);

const receiver = z.discriminatedUnion('type', [
  z.strictObject({
    name: z.string(),
    type: z.literal('webhook'),
    url: httpUrl,
    secret: z.string().optional(),
    secret_file: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    timeout: duration.optional(),
  }),
  z
    .strictObject({ name: z.string(), type: z.literal('slack'), url: httpUrl.optional(), url_file: z.string().optional(), timeout: duration.optional() })
    .refine((r) => (r.url === undefined) !== (r.url_file === undefined), { message: 'give url or url_file (the webhook URL is a secret)', path: ['url'] }),
  z.strictObject({ name: z.string(), type: z.literal('alertmanager'), url: httpUrl, timeout: duration.optional() }),
  z.strictObject({
    name: z.string(),
    type: z.literal('pagerduty'),
    routing_key: z.string().optional(),
    routing_key_file: z.string().optional(),
    url: httpUrl.optional(),
    timeout: duration.optional(),
  }),
]);

const alerts = z.strictObject({
  defaults: z
    .strictObject({
      failure_threshold: z.number().int().min(1).optional(),
      success_threshold: z.number().int().min(1).optional(),
      reminder_interval: duration.optional(),
      send_resolved: z.boolean().optional(),
    })
    .optional(),
  rules: z.array(rule).optional(),
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
});

export const configSchema = z.strictObject({
  global: global.optional(),
  modules: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'module names are letters, digits, _ and -'), moduleSchema).optional(),
  targets: z.array(target).optional(),
  alerts: alerts.optional(),
});

export type RawConfig = z.infer<typeof configSchema>;
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
