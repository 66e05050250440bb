import { isIP } from 'node:net';
import { EXPECTABLE_PHASES, parseExpectation, type Expectation } from '../core/expect.js';
import { machineFqdn } from '../core/host.js';
import { STEP_KINDS, makePlan, makeSend, type AuthPlan, type CheckPlan, type StepKind } from '../core/plan.js';
import type { Phase } from '../core/result.js';
import { parseTargetUrl } from '../core/target.js';
import { SASL_MECHANISMS, type SaslMechanism } from '../smtp/sasl.js';
import { TLS_MODES, type TlsMode } from '../smtp/tls.js';
import { UsageError, choiceFlag, durationFlag, intFlag, readEnvFlag, readFlagFile } from './args.js';

/** The flags of `smtp-probe check` that shape a run (CONTRACT.md "CLI"). */
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
  ca: { type: 'string' },
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
  help: { type: 'boolean', short: 'h' },
} as const;

export type CheckFlags = {
  [K in keyof typeof CHECK_FLAGS]?: (typeof CHECK_FLAGS)[K] extends { multiple: true }
    ? string[]
    : (typeof CHECK_FLAGS)[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

/** Turn the URLs and flags of `check` into one plan per URL; every mistake is a UsageError naming its flag. */
export function plansFromFlags(urls: string[], f: CheckFlags, env: NodeJS.ProcessEnv): CheckPlan[] {
  if (urls.length === 0) throw new UsageError('no target: give one or more URLs (smtp://host[:port], smtps://host[:port])');
  const common = commonSettings(f, env);
  return urls.map((text) => {
    const t = parseTargetUrl(text);
    if (typeof t === 'string') throw new UsageError(t);
    if (t.scheme === 'mx') throw new UsageError(`${t.url}: mx:// targets (MX routing) are not supported yet; name the MX host with smtp://`);
    const tls: TlsMode = f.tls === undefined ? t.tls : common.tls;
    if (tls === 'implicit' && t.scheme === 'smtp' && !/:\d+$/.test(text.trim().replace(/\/$/, ''))) {
      throw new UsageError(`${text}: --tls implicit needs an explicit port, or use smtps://${t.host}`);
    }
    return makePlan({
      ...common.plan,
      name: t.url,
      url: t.url,
      host: t.host,
      port: t.port,
      tls,
      tlsParams: { ...common.tlsParams, servername: f.servername ?? t.host },
      steps: common.steps(tls),
    });
  });
}

function commonSettings(f: CheckFlags, env: NodeJS.ProcessEnv) {
  const tls = choiceFlag('tls', f.tls, TLS_MODES, 'opportunistic');
  const timeoutMs = durationFlag('timeout', f.timeout, 10_000);
  const phaseTimeoutMs = Math.min(durationFlag('phase-timeout', f['phase-timeout'], 5_000), timeoutMs);
  const fqdn = f.ehlo ?? machineFqdn();
  const auth = authFromFlags(f, env);
  const to = f.to ?? [];
  if (f['no-deliver'] && to.length === 0) throw new UsageError('--no-deliver: needs at least one --to');
  const size = intFlag('message-size', f['message-size'], 1, 100 * 1024 * 1024);
  const send =
    to.length > 0
      ? makeSend({
          from: f.from ?? `smtp-probe@${fqdn}`,
          to,
          deliver: !f['no-deliver'],
          size,
          headers: parseHeaders(f.header ?? []),
          ...(f.subject ? { subject: f.subject } : {}),
          ...(f['body-file'] ? { body: readFlagFile('body-file', f['body-file']) } : {}),
        })
      : null;
  if (f.from && !send) throw new UsageError('--from: needs at least one --to (the test message goes to --to)');
  if (f.from !== undefined) checkAddress('from', f.from, true);
  for (const addr of to) checkAddress('to', addr, false);
  const sourceAddress = f['source-address'] ?? null;
  if (sourceAddress !== null && !isIP(sourceAddress)) {
    throw new UsageError(`--source-address: "${sourceAddress}" is not an IP address`);
  }
  const ip = f.ip === undefined ? null : (Number(choiceFlag('ip', f.ip, ['4', '6'], '4')) as 4 | 6);
  const explicitSteps = f.steps === undefined ? null : parseSteps(f.steps, auth !== null, send !== null);
  const steps = (mode: TlsMode): StepKind[] =>
    explicitSteps ??
    STEP_KINDS.filter(
      (k) =>
        (k !== 'starttls' || mode === 'opportunistic' || mode === 'starttls') &&
        (k !== 'auth' || auth !== null) &&
        (k !== 'send' || send !== null),
    );
  let bannerPattern: RegExp | null = null;
  if (f['banner-pattern'] !== undefined) {
    try {
      bannerPattern = new RegExp(f['banner-pattern']);
    } catch (e) {
      throw new UsageError(`--banner-pattern: ${(e as Error).message}`);
    }
  }
  return {
    tls,
    steps,
    tlsParams: {
      ca: f.ca === undefined ? undefined : readFlagFile('ca', f.ca),
      insecure: f.insecure ?? false,
    },
    plan: {
      ehlo: fqdn,
      ipFamily: ip,
      sourceAddress,
      timeoutMs,
      phaseTimeoutMs,
      auth,
      send,
      expect: parseExpectFlags(f.expect ?? []),
      requireCapabilities: (f['require-capability'] ?? []).map((c) => c.trim()),
      bannerPattern,
      minCertDays: intFlag('min-cert-days', f['min-cert-days'], 0, 100_000),
      transcript: f.transcript ?? false,
    },
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

function parseSteps(text: string, hasAuth: boolean, hasSend: boolean): StepKind[] {
  const names = text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const n of names) {
    if (!(STEP_KINDS as readonly string[]).includes(n)) {
      throw new UsageError(`--steps: unknown step "${n}" (steps: ${STEP_KINDS.join(', ')})`);
    }
  }
  if (names.includes('auth') && !hasAuth) throw new UsageError('--steps: auth needs --auth-user and a password flag');
  if (names.includes('send') && !hasSend) throw new UsageError('--steps: send needs at least one --to');
  const wanted = new Set(names);
  // The greeting is always read, and EHLO must come before anything that uses its capabilities.
  wanted.add('banner');
  if (['starttls', 'auth', 'send'].some((s) => wanted.has(s))) wanted.add('ehlo');
  return STEP_KINDS.filter((k) => wanted.has(k));
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
