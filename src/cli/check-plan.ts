import { isIP } from 'node:net';
import { EXPECTABLE_PHASES, parseExpectation, type Expectation } from '../core/expect.js';
import { STEP_KINDS, type AuthPlan, type CheckPlan, type RoundtripPlan } from '../core/plan.js';
import { parseMailboxUrl } from '../mailbox/url.js';
import { DNS_SERVER_PATTERN, MAX_MX_HOSTS } from '../dns/mx.js';
import type { Phase } from '../core/result.js';
import { parseTargetUrl } from '../core/target.js';
import { buildPlan, defaultGlobal, defaultModule, type ModuleSettings } from '../plan/build.js';
import { DEFAULTS } from '../plan/defaults.js';
import { OverrideError, applyOverrides, overrideRouting, type Overrides } from '../plan/overrides.js';
import type { LoadedConfig } from '../config/resolve.js';
import { SASL_MECHANISMS, type SaslMechanism } from '../core/sasl.js';
import { MIN_VERSION_NAMES, TLS_MODES, parseCertDays, type MinVersionName, type TlsMode } from '../core/tls.js';
import { UsageError, choiceFlag, durationFlag, intFlag, readEnvFlag, readFlagFile } from './args.js';

/** The flags of `smtp-probe check` that shape a run (README "Flags"). */
export const CHECK_FLAGS = {
  config: { type: 'string' },
  target: { type: 'string', multiple: true },
  format: { type: 'string' },
  transcript: { type: 'boolean' },
  tls: { type: 'string' },
  timeout: { type: 'string' },
  'phase-timeout': { type: 'string' },
  ehlo: { type: 'string' },
  'auth-user': { type: 'string' },
  'auth-pass-env': { type: 'string' },
  'auth-pass-file': { type: 'string' },
  'auth-mech': { type: 'string' },
  'auth-allow-plaintext': { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string', multiple: true },
  'no-deliver': { type: 'boolean' },
  steps: { type: 'string' },
  expect: { type: 'string', multiple: true },
  'require-capability': { type: 'string', multiple: true },
  'banner-pattern': { type: 'string' },
  'min-cert-days': { type: 'string' },
  warning: { type: 'string' },
  critical: { type: 'string' },
  strict: { type: 'boolean' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'tls-min-version': { type: 'string' },
  servername: { type: 'string' },
  insecure: { type: 'boolean' },
  ip: { type: 'string' },
  'source-address': { type: 'string' },
  retries: { type: 'string' },
  subject: { type: 'string' },
  header: { type: 'string', multiple: true },
  'body-file': { type: 'string' },
  'message-size': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'dns-server': { type: 'string', multiple: true },
  mailbox: { type: 'string' },
  'mailbox-user': { type: 'string' },
  'mailbox-pass-env': { type: 'string' },
  'mailbox-pass-file': { type: 'string' },
  'mailbox-ca': { type: 'string' },
  'mailbox-servername': { type: 'string' },
  'mailbox-insecure': { type: 'boolean' },
  'mailbox-allow-plaintext': { type: 'boolean' },
  'roundtrip-timeout': { type: 'string' },
  'max-mx': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type CheckFlags = {
  [K in keyof typeof CHECK_FLAGS]?: (typeof CHECK_FLAGS)[K] extends { multiple: true }
    ? string[]
    : (typeof CHECK_FLAGS)[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

/**
 * One plan per target: the config's targets (all, or those named by --target) and the URLs given, each under its
 * module (URLs under the default module), with the flags applied on top. Every mistake is a UsageError.
 */
export function plansFromFlags(urls: string[], f: CheckFlags, env: NodeJS.ProcessEnv, config: LoadedConfig | null = null): CheckPlan[] {
  const o = overridesFromFlags(f, env);
  const global = config?.global ?? defaultGlobal();
  const defaultMod = config?.modules[DEFAULTS.module] ?? defaultModule();
  const routing = { dnsServers: o.dnsServers ?? null, maxMx: o.maxMx ?? null };
  const chosen: { plan: CheckPlan; mod: ModuleSettings }[] = [];
  if (config) {
    const wanted = f.target ?? [];
    for (const name of wanted) {
      if (!config.targets.some((t) => t.name === name)) {
        throw new UsageError(`--target: "${name}" is not a target in ${config.file} (targets: ${config.targets.map((t) => t.name).join(', ') || 'none'})`);
      }
    }
    for (const t of config.targets) {
      if (wanted.length > 0 && !wanted.includes(t.name)) continue;
      chosen.push({ plan: overrideRouting(t.plan, o), mod: config.modules[t.module]! });
    }
  } else if (f.target) {
    throw new UsageError('--target: needs --config');
  }
  for (const text of urls) {
    const t = parseTargetUrl(withScheme(text));
    if (typeof t === 'string') throw new UsageError(t);
    if (o.tls === 'implicit' && t.scheme === 'smtp' && !/:\d+\/?$/.test(text.trim())) {
      throw new UsageError(`${text}: --tls implicit needs an explicit port, or use smtps://${t.host}`);
    }
    chosen.push({ plan: buildPlan(t.url, t, defaultMod, global, routing), mod: defaultMod });
  }
  if (chosen.length === 0) {
    throw new UsageError(config ? `no targets in ${config.file}` : 'no target: give one or more URLs (host[:port], smtp://host[:port], smtps://host[:port], mx://domain)');
  }
  if (o.maxMx !== undefined && !chosen.some((c) => c.plan.mx)) throw new UsageError('--max-mx: applies to mx:// targets only');
  try {
    return chosen.map(({ plan, mod }) => applyOverrides(plan, mod, o));
  } catch (e) {
    throw e instanceof OverrideError ? new UsageError(e.message) : e;
  }
}

/** `host[:port]` without a scheme is `smtp://host[:port]`, as /probe?target= takes it. */
function withScheme(text: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text.trim()) ? text : `smtp://${text.trim()}`;
}

function overridesFromFlags(f: CheckFlags, env: NodeJS.ProcessEnv): Overrides {
  const o: Overrides = { noDeliver: f['no-deliver'] ?? false, message: {}, expect: parseExpectFlags(f.expect ?? []), transcript: f.transcript ?? false };
  if (f.tls !== undefined) o.tls = choiceFlag('tls', f.tls, TLS_MODES, 'opportunistic');
  if (f.timeout !== undefined) o.timeoutMs = durationFlag('timeout', f.timeout, 0);
  if (f['phase-timeout'] !== undefined) o.phaseTimeoutMs = durationFlag('phase-timeout', f['phase-timeout'], 0);
  if (f.ehlo !== undefined) o.ehlo = f.ehlo;
  const auth = authFromFlags(f, env);
  if (auth) o.auth = auth;
  if (f.to !== undefined) {
    for (const addr of f.to) checkAddress('to', addr, false);
    o.to = f.to;
  }
  if (f.from !== undefined) {
    checkAddress('from', f.from, true);
    o.from = f.from;
  }
  const size = intFlag('message-size', f['message-size'], 1, 100 * 1024 * 1024);
  if (size !== null) o.message.size = size;
  if (f.subject !== undefined) o.message.subject = f.subject;
  if (f['body-file'] !== undefined) o.message.body = readFlagFile('body-file', f['body-file']);
  if (f.header !== undefined) o.message.headers = parseHeaders(f.header);
  if (f['source-address'] !== undefined) {
    if (!isIP(f['source-address'])) throw new UsageError(`--source-address: "${f['source-address']}" is not an IP address`);
    o.sourceAddress = f['source-address'];
  }
  if (f.ip !== undefined) o.ipFamily = Number(choiceFlag('ip', f.ip, ['4', '6'], '4')) as 4 | 6;
  if (f.steps !== undefined) {
    o.steps = f.steps.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    const bad = o.steps.find((n) => !(STEP_KINDS as readonly string[]).includes(n));
    if (bad) throw new UsageError(`--steps: unknown step "${bad}" (steps: ${STEP_KINDS.join(', ')})`);
  }
  if (f['require-capability'] !== undefined) o.requireCapabilities = f['require-capability'].map((c) => c.trim());
  if (f['banner-pattern'] !== undefined) {
    try {
      o.bannerPattern = new RegExp(f['banner-pattern']);
    } catch (e) {
      throw new UsageError(`--banner-pattern: ${(e as Error).message}`);
    }
  }
  limitsFromFlags(f, o);
  tlsFromFlags(f, o);
  if (f['dns-server'] !== undefined) {
    for (const d of f['dns-server']) {
      if (!DNS_SERVER_PATTERN.test(d)) {
        throw new UsageError(`--dns-server: "${d}" is not an IP address with an optional port (127.0.0.1:5353, [::1]:53)`);
      }
    }
    o.dnsServers = f['dns-server'];
  }
  const maxMx = intFlag('max-mx', f['max-mx'], 1, MAX_MX_HOSTS);
  if (maxMx !== null) o.maxMx = maxMx;
  if (f['roundtrip-timeout'] !== undefined) o.roundtripTimeoutMs = durationFlag('roundtrip-timeout', f['roundtrip-timeout'], DEFAULTS.roundtrip.timeoutMs);
  const rt = roundtripFromFlags(f, env, o.roundtripTimeoutMs ?? DEFAULTS.roundtrip.timeoutMs);
  if (rt) o.roundtrip = rt;
  return o;
}

/** `--warning`, `--critical` (durations), `--min-cert-days W[,C]`, `--strict`. */
function limitsFromFlags(f: CheckFlags, o: Overrides): void {
  if (f.warning !== undefined) o.warningMs = durationFlag('warning', f.warning, 0);
  if (f.critical !== undefined) o.criticalMs = durationFlag('critical', f.critical, 0);
  if (f['min-cert-days'] !== undefined) {
    const days = parseCertDays(f['min-cert-days']);
    if (typeof days === 'string') throw new UsageError(`--min-cert-days: ${days}`);
    o.minCertDays = days.warning;
    o.criticalCertDays = days.critical;
  }
  if (f.strict) o.strict = true;
}

/** `--ca`, `--cert`/`--key` (a client certificate), `--tls-min-version`, `--servername`, `--insecure`. */
function tlsFromFlags(f: CheckFlags, o: Overrides): void {
  if (f.ca !== undefined) o.ca = readFlagFile('ca', f.ca);
  if ((f.cert === undefined) !== (f.key === undefined)) {
    throw new UsageError(f.cert === undefined ? '--key: needs --cert (the client certificate it belongs to)' : '--cert: needs --key (its private key)');
  }
  if (f.cert !== undefined && f.key !== undefined) {
    o.cert = readFlagFile('cert', f.cert);
    o.key = readFlagFile('key', f.key);
  }
  if (f['tls-min-version'] !== undefined) {
    const names = Object.keys(MIN_VERSION_NAMES) as MinVersionName[];
    o.minVersion = MIN_VERSION_NAMES[choiceFlag('tls-min-version', f['tls-min-version'].toUpperCase(), names, 'TLS12')];
  }
  if (f.servername !== undefined) o.servername = f.servername;
  if (f.insecure) o.insecure = true;
}

/** `--mailbox pop3s://host[:port]` and its credentials: read the test message back after sending it. */
function roundtripFromFlags(f: CheckFlags, env: NodeJS.ProcessEnv, timeoutMs: number): RoundtripPlan | null {
  const dependent = [
    'mailbox-user', 'mailbox-pass-env', 'mailbox-pass-file', 'mailbox-ca', 'mailbox-servername', 'mailbox-insecure', 'mailbox-allow-plaintext',
  ] as const;
  if (f.mailbox === undefined) {
    const stray = dependent.find((k) => f[k] !== undefined) ?? (f['roundtrip-timeout'] !== undefined ? 'roundtrip-timeout' : undefined);
    if (stray) throw new UsageError(`--${stray}: needs --mailbox pop3s://host or imaps://host`);
    return null;
  }
  const url = parseMailboxUrl(f.mailbox);
  if (typeof url === 'string') throw new UsageError(`--mailbox: ${url}`);
  const user = f['mailbox-user'];
  if (!user) throw new UsageError('--mailbox: needs --mailbox-user and --mailbox-pass-env or --mailbox-pass-file');
  const passEnv = f['mailbox-pass-env'];
  const passFile = f['mailbox-pass-file'];
  if ((passEnv === undefined) === (passFile === undefined)) throw new UsageError('--mailbox: give one of --mailbox-pass-env or --mailbox-pass-file');
  const password = passEnv !== undefined ? readEnvFlag('mailbox-pass-env', passEnv, env) : readFlagFile('mailbox-pass-file', passFile!, true);
  return {
    mailbox: {
      ...url, username: user, password,
      starttls: url.protocol === 'pop3' || url.protocol === 'imap',
      allowPlaintext: f['mailbox-allow-plaintext'] ?? false,
      ca: f['mailbox-ca'] === undefined ? undefined : readFlagFile('mailbox-ca', f['mailbox-ca']),
      servername: f['mailbox-servername'] ?? url.host,
      insecure: f['mailbox-insecure'] ?? false,
      maxMessages: DEFAULTS.roundtrip.maxMessages,
    },
    timeoutMs,
    pollMs: DEFAULTS.roundtrip.cliPollMs,
  };
}

function authFromFlags(f: CheckFlags, env: NodeJS.ProcessEnv): AuthPlan | null {
  const user = f['auth-user'];
  const passEnv = f['auth-pass-env'];
  const passFile = f['auth-pass-file'];
  if (user === undefined) {
    if (passEnv !== undefined || passFile !== undefined || f['auth-mech'] !== undefined) {
      throw new UsageError('--auth-user: needed with --auth-pass-env, --auth-pass-file or --auth-mech');
    }
    return null;
  }
  if (passEnv !== undefined && passFile !== undefined) throw new UsageError('--auth-pass-env and --auth-pass-file: give one, not both');
  if (passEnv === undefined && passFile === undefined) {
    throw new UsageError('--auth-user: needs a password from --auth-pass-env VAR or --auth-pass-file FILE');
  }
  const password = passEnv !== undefined ? readEnvFlag('auth-pass-env', passEnv, env) : readFlagFile('auth-pass-file', passFile!, true);
  const mech = f['auth-mech'] === undefined ? null : (choiceFlag('auth-mech', f['auth-mech'].toUpperCase(), SASL_MECHANISMS, 'PLAIN') as SaslMechanism);
  return { username: user, password, mechanism: mech, allowPlaintext: f['auth-allow-plaintext'] ?? false };
}

function parseExpectFlags(items: string[]): Partial<Record<Phase, Expectation>> {
  const out: Partial<Record<Phase, Expectation>> = {};
  for (const item of items) {
    const m = /^([a-z_]+)=(.+)$/.exec(item.trim());
    if (!m) throw new UsageError(`--expect: "${item}" is not PHASE=CODES (e.g. rcpt=5xx, auth=535)`);
    const phase = m[1] as Phase;
    if (!EXPECTABLE_PHASES.includes(phase)) {
      throw new UsageError(`--expect: "${m[1]}" is not a phase with a reply (${EXPECTABLE_PHASES.join(', ')})`);
    }
    const e = parseExpectation(m[2]!);
    if (typeof e === 'string') throw new UsageError(`--expect ${item}: ${e}`);
    out[phase] = e;
  }
  return out;
}

/** `--header "Name: value"`; names are RFC 5322 field names, and the probe's own headers cannot be replaced. */
function parseHeaders(items: string[]): Record<string, string> {
  const own = ['date', 'from', 'to', 'subject', 'message-id', 'x-smtp-probe-id', 'auto-submitted', 'mime-version', 'content-type', 'content-transfer-encoding'];
  const out: Record<string, string> = {};
  for (const item of items) {
    const m = /^([!-9;-~]+):\s*(.*)$/.exec(item);
    if (!m) throw new UsageError(`--header: "${item}" is not "Name: value"`);
    if (own.includes(m[1]!.toLowerCase())) throw new UsageError(`--header: ${m[1]} is set by smtp-probe itself`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

function checkAddress(flag: string, addr: string, nullOk: boolean): void {
  if (addr === '' && nullOk) return;
  if (/[\r\n<>\s]/.test(addr) || !/^[^@]+@[^@]+$/.test(addr)) {
    throw new UsageError(`--${flag}: "${addr}" is not a mail address (local@domain${nullOk ? '; "" for the null sender' : ''})`);
  }
}
