import { z } from 'zod';
import { checkOptionShape } from '../../checks/index.js';
import { POSTURE_OPTIONS } from '../../checks/posture/index.js';
import { parseConnectTo } from '../../checks/posture/mta-sts-fetch.js';
import type { SchemaKit } from '../../checks/step.js';
import { CAPACITY_UNTIL } from '../core/capacity.js';
import { formatDuration as d, parseDuration } from '../core/duration.js';
import { EXPECTABLE_PHASES, parseExpectation } from '../core/expect.js';
import { parseListenAddress } from '../core/listen.js';
import { STEP_KINDS } from '../core/plan.js';
import { POSTURE_CHECKS, type ConnectTo } from '../core/posture.js';
import { parseTargetUrl } from '../core/target.js';
import { PHASE_HISTOGRAMS } from '../core/target-meta.js';
import { DNS_SERVER_PATTERN, MAX_MX_HOSTS } from '../dns/mx.js';
import { receiverConfigSchema } from '../alerts/providers/index.js';
import { alertDefaultsSchema, isolatedSchema, ruleSchema } from '../alerts/rules.js';
import { DEFAULTS } from '../plan/defaults.js';
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
    .pipe(parsedString(parseMailboxUrl))
    .meta({ description: 'The mailbox to read from: pop3s://host[:port], pop3:// (STLS), imaps://host[:port] or imap:// (STARTTLS); no credentials in the URL. Example: imaps://imap.example.test' }),
  username: oneLine('username').meta({ description: 'Mailbox login name. Example: probe@example.test' }),
  password: z.string().optional().meta({ description: 'Mailbox password from ${ENV_VAR} (a literal is warned about); or password_file. One of the two is required' }),
  password_file: z.string().optional().meta({ description: 'File holding the mailbox password (relative to the config file; one trailing newline stripped). Example: /run/secrets/mailbox_password' }),
  ca_file: z.string().optional().meta({ description: "PEM file of the CAs to trust for the mailbox server instead of the system's" }),
  server_name: oneLine('server_name').optional().meta({ description: "Name the mailbox server's certificate must carry, also sent as SNI (default: the mailbox URL's host)" }),
  insecure_skip_verify: z.boolean().optional().meta({ description: "Do not verify the mailbox server's certificate (default false; for a lab only)" }),
  allow_plaintext: z.boolean().optional().meta({ description: 'Allow the mailbox login over a connection without TLS (default false)' }),
  timeout: duration.optional().meta({ description: `How long to wait for the message to arrive: its own deadline, after the SMTP run (default ${d(DEFAULTS.roundtrip.timeoutMs)})` }),
  poll_interval: duration.optional().meta({ description: `Between mailbox polls while waiting (default ${d(DEFAULTS.roundtrip.pollMs)}); IMAP IDLE wakes sooner. Example: 2s` }),
  folders: z.array(z.string()).min(1).optional().meta({ description: 'IMAP folders to look in, in order (default INBOX, then the Junk folder); the result says where the message landed. Example: [INBOX, Junk]' }),
  max_messages: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .optional()
    .meta({ description: 'Messages looked at per mailbox (folder), the newest first (default 5000): a huge mailbox costs no more' }),
});

/** A module's `capacity:` (docs/capacity.md): a capacity run of each of its targets at most once per `every`. */
const cap = DEFAULTS.capacity;
const capacity = z.strictObject({
  sessions: z.number().int().min(1).max(cap.maxSessions).optional().meta({ description: `Sessions open at once (default ${cap.sessions}; 1-${cap.maxSessions})` }),
  until: z.enum(CAPACITY_UNTIL).optional().meta({ description: `How far each session goes before QUIT: banner, ehlo (default) or starttls (STARTTLS and the handshake, verified as the module's tls says)` }),
  every: positiveDuration.optional().meta({ description: `At most one capacity run per target this often (default ${d(cap.everyMs)}); the first comes within one every of the start, at a point spread by the target's name. Example: 6h` }),
  duration: positiveDuration.optional().meta({ description: `No session starts after this (default ${d(cap.durationMs)}); with one session's timeout it must end before every` }),
  rate: z.number().positive().max(cap.maxRatePerSecond).optional().meta({ description: 'Sessions started per second at most, over all of them (default: no limit, a new session as each one ends). Example: 2' }),
});

/** A DNS server as node:dns takes it: "127.0.0.1", "127.0.0.1:5353", "[::1]:53". */
const dnsServer = z.string().regex(DNS_SERVER_PATTERN, 'must be an IP address with an optional port, e.g. 127.0.0.1:5353 or [::1]:53');

/** A module's `posture:` (docs/posture.md): a posture run of each of its targets at most once per `every`. */
const pos = DEFAULTS.posture;
const postureCheckOptions = Object.fromEntries(
  Object.entries(POSTURE_OPTIONS).map(([check, shape]) => [
    check, z.strictObject(shape(kit)).optional().meta({ description: `Options of the ${check} check (docs/posture.md)` }),
  ]),
);
const posture = z.strictObject({
  checks: z.array(z.enum(POSTURE_CHECKS)).min(1).optional().meta({ description: `The posture checks to run (default: all of them: ${POSTURE_CHECKS.join(', ')}). Example: [dane, mta_sts, starttls, certificate]` }),
  every: positiveDuration.optional().meta({ description: `At most one posture run per target this often (default ${d(pos.everyMs)}; at least ${d(pos.minEveryMs)}); the first comes within one every of the start, at a point spread by the target's name. Example: 1h` }),
  dns_server: dnsServer.optional().meta({ description: "The validating resolver the run asks, with the DO bit, reading its AD bit (DANE needs one that validates DNSSEC; default: the system's first nameserver). Example: 127.0.0.1:53" }),
  connect_to: z.array(parsedString((t): ConnectTo | string => parseConnectTo(t) ?? `"${t}" is not HOST:PORT:ADDR:PORT (curl's --connect-to)`)).optional()
    .meta({ description: 'Connections meant for HOST:PORT go to ADDR:PORT instead, names and SNI unchanged, as curl --connect-to (split horizon, staging, tests). Example: ["mta-sts.example.test:443:192.0.2.7:443"]' }),
  ...postureCheckOptions,
});

/** A run's response-time thresholds; the warning one may not be over the critical one. */
const thresholds = z
  .strictObject({
    warning: duration.optional().meta({ description: 'Over this, the run passes with a warning. Example: 2s' }),
    critical: duration.optional().meta({ description: 'Over this, the run fails with reason slow. Example: 5s' }),
  })
  .superRefine((t, ctx) => {
    if (t.warning !== undefined && t.critical !== undefined && t.warning > t.critical) {
      ctx.addIssue({ code: 'custom', path: ['warning'], message: `the warning threshold (${d(t.warning)}) is over the critical one (${d(t.critical)})` });
    }
  });

/**
 * `phase_histograms`: module, target or none; true and false (before 0.2.0) are converted once, to target and
 * none. Text is checked by the enum after the conversion, so an offline `${VAR}` finds the values to try; the
 * JSON Schema names them for editors.
 */
const phaseHistograms = z
  .union([z.boolean(), z.string()], { error: 'must be module, target or none (true and false: target and none)' })
  .transform((v) => (v === true ? 'target' : v === false ? 'none' : v))
  .pipe(z.enum(PHASE_HISTOGRAMS))
  .meta({ anyOf: [{ type: 'string', enum: [...PHASE_HISTOGRAMS] }, { type: 'boolean' }] });

/** Module keys the runner reads itself; the checks add theirs (checks/*.ts `options`). */
const runnerKeys = {
  ip_protocol: z
    .union([z.literal(4), z.literal(6)], { error: 'must be 4 or 6 (omit it for either)' })
    .optional()
    .meta({ description: 'Address family to connect over: 4 or 6 (default: either). Probe the IPv6 path with a second module' }),
  source_ip_address: z.ipv4().or(z.ipv6()).optional().meta({ description: 'Local address to connect from, for a relay that allows by IP; the module then answers /probe only for its probe_targets. Example: 192.0.2.10' }),
  timeout: duration.optional().meta({ description: "Deadline of one whole run under this module, connect to QUIT (default: global.timeout). Example: 45s for MX hosts that tarpit" }),
  phase_timeout: duration.optional().meta({ description: 'Longest wait for any one reply under this module (default: global.phase_timeout). Example: 30s for greeting delays' }),
  thresholds: thresholds.optional().meta({ description: "Response time of the whole run (check_smtp -w/-c): over warning, ok with a warning (WARNING in nagios format); over critical, a failure with reason slow at the phase that crossed it. Example: { warning: 2s, critical: 5s }" }),
  expect: expect.optional().meta({ description: 'Reply codes a phase must get, by phase: codes, classes or enhanced codes. Examples: { rcpt: ["5xx"] } (relay must be refused), { auth: [235] }' }),
  steps: z.array(z.enum(STEP_KINDS)).min(1).optional().meta({ description: `Which steps run, always in the order ${STEP_KINDS.join(', ')} (default: every step the settings call for). Example: [banner, ehlo, starttls, noop, quit]` }),
  probe_targets: z.array(targetUrl).optional().meta({ description: 'The only URLs /probe may run this module against; a module with credentials answers /probe for these alone. Example: ["smtp://mail.example.test:587"]' }),
  phase_histograms: phaseHistograms.optional().meta({ description: "Phase duration histograms of this module's targets: module, target or none (default: global.phase_histograms)" }),
  roundtrip: roundtrip.optional().meta({ description: 'Read the test message back from a mailbox (POP3 or IMAP) to time delivery. Needs send.to and deliver: true; the interval must cover both timeouts' }),
  posture: posture.optional().meta({ description: "Posture runs of this module's targets (a domain: mx://DOMAIN, or a host name): MTA-STS, TLS-RPT, SPF, DMARC, DANE and the SMTP exposure checks per MX host and address, into smtp_probe_posture_* and the posture alert kind. Example: { every: 6h, dns_server: 127.0.0.1:53 }" }),
  capacity: capacity.optional().meta({ description: "Capacity runs of this module's targets (smtp:// and smtps://): concurrent sessions against the server, p50/p95 per phase, stopped by the first 421, into the smtp_probe_capacity_* metrics; never at the same time as the target's own check. Example: { sessions: 5, until: starttls, every: 1h }" }),
};

export const moduleSchema = z.strictObject({ ...checkOptionShape(kit), ...runnerKeys });

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name');
const RESERVED_LABELS = ['target', 'phase', 'reason', 'result', 'version', 'kind', 'mx_host', 'mx_preference', 'alert', 'receiver', 'module', 'le'];


const target = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.:@/-]{1,128}$/, 'must be 1-128 characters of letters, digits and _.:@/-')
    .meta({ description: 'Unique name: the target label of its series, and how rules, silences and check --target name it. Example: mx1' }),
  url: targetUrl.meta({ description: 'smtp://host[:port] (25, STARTTLS when offered), smtps://host[:port] (465, implicit TLS) or mx://domain[:port] (every MX host). IPv6 in brackets' }),
  module: z.string().optional().meta({ description: `The module (a key of modules) this target runs under (default: the built-in "${DEFAULTS.module}" module)` }),
  interval: duration.optional().meta({ description: "How often this target is probed (default: global.interval); must cover its module's timeout. Example: 5m" }),
  dns_servers: z.array(dnsServer).min(1).optional().meta({ description: "DNS servers for this target's lookups (default: global.dns_servers, else the system's). Example: [\"192.0.2.53:53\"]" }),
  max_mx: z
    .number().int().min(1).max(MAX_MX_HOSTS).optional()
    .meta({ description: 'mx:// targets: probe the first N MX hosts by preference (default 10; 1-50), however many the DNS answer lists' }),
  labels: z
    .record(labelName.refine((l) => !RESERVED_LABELS.includes(l) && !l.startsWith('__'), 'is a label smtp-probe sets itself'), z.string())
    .optional()
    .meta({ description: `Static labels on every series and alert of this target (not ${RESERVED_LABELS.join(', ')}). Example: { env: prod, site: fra1 }` }),
});

const web = DEFAULTS.web;
const global = z.strictObject({
  interval: duration.optional().meta({ description: `How often each target is probed (default ${d(DEFAULTS.intervalMs)}); a target's interval wins. Example: 30s` }),
  timeout: duration.optional().meta({ description: `Deadline of one whole run, connect to QUIT (default ${d(DEFAULTS.timeoutMs)}); a module's timeout wins` }),
  phase_timeout: duration.optional().meta({ description: `Longest wait for one reply, the connect or a TLS handshake (default ${d(DEFAULTS.phaseTimeoutMs)}); a module's wins` }),
  concurrency: z.number().int().min(1).max(10_000).optional().meta({ description: `Most runs in flight at once, across all targets (default ${DEFAULTS.concurrency}; 1-10000)` }),
  workers: z
    .union([z.literal('auto'), z.number().int().min(1).max(64)], { error: 'must be auto or a whole number of threads, 1-64' })
    .optional()
    .meta({ description: `Worker threads that run the checks (default ${DEFAULTS.workers}: the machine's cores less one, at least 1, at most ${DEFAULTS.maxAutoWorkers}; 1-64); 1 runs them in the main thread. A change takes effect at the next restart, not on reload` }),
  listen: listen.optional().meta({ description: `HTTP address of /metrics, /probe, /healthz (default "${DEFAULTS.listen}"); "127.0.0.1:9469" for loopback only; run --listen wins` }),
  phase_histograms: phaseHistograms.optional().meta({ description: `Phase duration histograms (default ${DEFAULTS.phaseHistograms}): module (one per module and phase), target (also one per target and phase: large for thousands of targets) or none` }),
  state_file: z.string().optional().meta({ description: `Alert state and undelivered notifications, kept across restarts (default ${DEFAULTS.stateFile}); when set here, the run history is kept beside it in <state_file>.history` }),
  history: z
    .number().int().min(DEFAULTS.minHistory).max(DEFAULTS.maxHistory).optional()
    .meta({ description: `Runs kept per target for the status page and /api/v1/targets/{name} (default ${DEFAULTS.history}; ${DEFAULTS.minHistory}-${DEFAULTS.maxHistory}); uptime 1h/24h is counted apart from them, over the whole day` }),
  ehlo: oneLine('ehlo').optional().meta({ description: "The EHLO/HELO name of every module without its own (default: this machine's FQDN). Example: probe.example.test" }),
  dns_servers: z.array(dnsServer).min(1).optional().meta({ description: 'DNS servers for every lookup instead of the system\'s (split horizon); a target\'s own win. Example: ["192.0.2.53:53"]' }),
  web: z
    .strictObject({
      max_connections: z.number().int().min(1).max(1_000_000).optional().meta({ description: `Open HTTP connections at once (default ${web.maxConnections}); at the limit the oldest one without a request in flight makes room` }),
      max_concurrent_probes: z.number().int().min(1).max(10_000).optional().meta({ description: `/probe runs at once (default ${web.maxConcurrentProbes}); one more answers 503 with Retry-After` }),
      header_timeout: positiveDuration.optional().meta({ description: `A request's headers must arrive within this (default ${d(web.headerTimeoutMs)}), else 408: slowloris. At most request_timeout` }),
      request_timeout: positiveDuration.optional().meta({ description: `The whole request must arrive within this (default ${d(web.requestTimeoutMs)}); the answer (a /probe run) may take longer` }),
      keep_alive_timeout: positiveDuration.optional().meta({ description: `An idle keep-alive connection is closed after this (default ${d(web.keepAliveTimeoutMs)})` }),
      reload: z.boolean().optional().meta({ description: `Serve POST /-/reload (default ${web.reload}); false answers 403. Requests from a browser are always refused` }),
    })
    .optional()
    .meta({ description: 'Limits of the HTTP server (connections, /probe runs at once, request timeouts) and POST /-/reload' }),
});

/** An `alerts.receivers` entry: each receiver module owns its keys (alerts/providers/index.ts assembles them). */
const receiver = receiverConfigSchema({
  timeout: durationText.optional().meta({ description: `Timeout of one request to this receiver (default ${d(DEFAULTS.receiverTimeoutMs)}); failures are retried with backoff` }),
});

export const alertsSchema = z.strictObject({
  defaults: alertDefaultsSchema().optional().meta({ description: 'Thresholds and reminders of every rule that does not set its own' }),
  rules: z.array(ruleSchema(duration, labelName)).optional().meta({ description: 'Alert rules, by kind: down, slow, certificate, capability; each selects targets or modules and names receivers' }),
  silences: z
    .array(
      z.strictObject({
        targets: z.array(z.string()).optional().meta({ description: 'Targets this silence holds back, by name (neither targets nor modules: every target). Example: [mx1]' }),
        modules: z.array(z.string()).optional().meta({ description: 'Modules whose targets this silence holds back. Example: [submission]' }),
        starts: z.iso.datetime({ offset: true }).meta({ description: 'Start of the window: RFC 3339 with an offset. Example: "2026-12-01T02:00:00Z"' }),
        ends: z.iso.datetime({ offset: true }).meta({ description: 'End of the window (after starts): RFC 3339 with an offset. Example: "2026-12-01T04:00:00Z"' }),
        comment: z.string().optional().meta({ description: 'Why, for people reading the config. Example: mx1 kernel upgrade' }),
      }),
    )
    .optional()
    .meta({ description: 'Maintenance windows: no firing or reminders for the selected targets; a resolve that is owed is still sent' }),
  receivers: z.array(receiver).optional().meta({ description: 'Where notifications go, each with a name and a type: webhook, slack, alertmanager or pagerduty' }),
  isolated: isolatedSchema().optional().meta({ description: "Thresholds of smtp_probe_isolated, the one alert sent instead of one per target when most fail for network reasons" }),
});

export const configSchema = z.strictObject({
  global: global.optional().meta({ description: 'Defaults for every target and the daemon itself: schedule, deadlines, concurrency, HTTP listener, state file' }),
  modules: z
    .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'module names are letters, digits, _ and -'), moduleSchema)
    .optional()
    .meta({ description: 'Reusable check profiles by name: TLS, AUTH, test message, expectations, steps. A target without module: uses "default"' }),
  targets: z.array(target).optional().meta({ description: 'What run probes on a schedule: name, URL, module, interval, labels. Example: - { name: mx1, url: smtp://mx1.example.test }' }),
  alerts: alertsSchema.optional().meta({ description: "smtp-probe's own alerting: rules, receivers (webhook, Slack, Alertmanager, PagerDuty), silences, defaults" }),
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
