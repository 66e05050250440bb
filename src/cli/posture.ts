import { systemClock, type Clock } from '../core/clock.js';
import { machineFqdn } from '../core/host.js';
import { POSTURE_CHECKS, type PostureCheckName } from '../core/posture.js';
import { createSecureDns, memoizeSecureDns, parseDnsServer, type SecureDns } from '../dns/secure.js';
import { DEFAULTS } from '../plan/defaults.js';
import { DEFAULT_OPEN_RELAY_OPTIONS } from '../../checks/posture/open-relay.js';
import { MAX_DNSBL_ZONES, parseDnsblZone } from '../../checks/posture/dnsbl.js';
import { parseConnectTo, type ConnectTo } from '../../checks/posture/mta-sts.js';
import { UsageError, choiceFlag, parseFlags, readFlagFile } from './args.js';
import { POSTURE_HELP } from './help.js';
import type { CliIo } from './io.js';
import { POSTURE_FORMATS, isOk, nagiosState, renderJson, renderJunit, renderNagios, renderText, type PostureReport } from './posture-report.js';
import { postureOptions } from '../posture/options.js';
import { runPosture, type PostureDeps } from '../posture/run.js';

/** The flags of `smtp-probe posture` (README "Posture", docs/posture.md). */
export const POSTURE_FLAGS = {
  checks: { type: 'string' },
  format: { type: 'string' },
  'dns-server': { type: 'string' },
  at: { type: 'string' },
  'relay-test-domain': { type: 'string' },
  ca: { type: 'string' },
  'connect-to': { type: 'string', multiple: true },
  'dnsbl-zone': { type: 'string', multiple: true },
  strict: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What the command takes from outside: DNS (made from --dns-server unless given), time, the MTA-STS fetch. */
export interface PostureCommandDeps {
  dns: SecureDns;
  clock: Clock;
  stsFetch: PostureDeps['stsFetch'];
  smtpTimeoutMs: number;
}

const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * `smtp-probe posture DOMAIN|DOMAIN:PORT|URL`: the security posture of a mail domain, per MX host and address.
 * Exit 0 no fail, 1 a fail (with --strict also a warn), 2 usage; --format nagios 0 OK, 1 WARNING, 2 CRITICAL.
 */
export async function postureCommand(argv: string[], io: CliIo, deps: Partial<PostureCommandDeps> = {}): Promise<number> {
  const { values, positionals } = parseFlags('posture', argv, POSTURE_FLAGS);
  if (values.help) {
    io.stdout(POSTURE_HELP);
    return 0;
  }
  const format = choiceFlag('format', values.format, POSTURE_FORMATS, 'text');
  const target = targetOf(positionals);
  const checks = checksFlag(values.checks);
  const clock = deps.clock ?? systemClock;
  const at = atFlag(values.at);
  const relayTestDomain = relayFlag(values['relay-test-domain']);
  const connectTo = (values['connect-to'] ?? []).map(connectToFlag);
  const dnsblZones = dnsblZonesFlag(values['dnsbl-zone'] ?? []);
  const ca = values.ca === undefined ? null : readFlagFile('ca', values.ca);
  const dns = deps.dns ?? secureDnsFor(values['dns-server'], clock, io.signal);
  const run = await runPosture(
    {
      ...target, checks, ca, connectTo, ehloName: machineFqdn(), smtpTimeoutMs: deps.smtpTimeoutMs ?? DEFAULTS.posture.smtpTimeoutMs, at,
      options: postureOptions({ open_relay: { relay_test_domain: relayTestDomain }, dnsbl: { zones: dnsblZones } }, at),
    },
    { dns: memoizeSecureDns(dns), clock, ...(io.signal ? { signal: io.signal } : {}), ...(deps.stsFetch ? { stsFetch: deps.stsFetch } : {}) },
  );
  const strict = values.strict ?? false;
  const day = new Date(at ?? clock.wallNow()).toISOString().slice(0, 10);
  const report: PostureReport = { target: target.text, domain: target.domain, at: day, ...run, ok: isOk(run.findings, run.problems, strict) };
  if (format === 'nagios') {
    io.stdout(renderNagios(report));
    return nagiosState(report);
  }
  io.stdout(format === 'json' ? renderJson(report) : format === 'junit' ? renderJunit(report, strict) : renderText(report));
  return report.ok ? 0 : 1;
}

interface PostureTarget {
  text: string;
  domain: string;
  port: number;
  implicitTls: boolean;
}

/** DOMAIN, DOMAIN:PORT, or a URL: mx://DOMAIN[:PORT], smtp://DOMAIN[:PORT], smtps://DOMAIN[:PORT] (465, implicit TLS). */
export function targetOf(positionals: string[]): PostureTarget {
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'no target: give one DOMAIN, DOMAIN:PORT or URL (mx://DOMAIN[:PORT])' : `one target at a time (got ${positionals.length})`);
  }
  const text = positionals[0]!.trim();
  const url = /^([a-z][a-z0-9+.-]*):\/\/([^/:?#]*)(?::(\d*))?\/?$/i.exec(text);
  const plain = /^([^/:]+)(?::(\d*))?$/.exec(text);
  const scheme = url ? url[1]!.toLowerCase() : null;
  if (url && !['mx', 'smtp', 'smtps'].includes(scheme!)) throw new UsageError(`${text}: the scheme must be mx://, smtp:// or smtps://`);
  const host = (url ? url[2] : plain?.[1]) ?? '';
  const portText = url ? url[3] : plain?.[2];
  const domain = host.toLowerCase().replace(/\.$/, '');
  if (!DOMAIN_RE.test(domain)) throw new UsageError(`${text}: not a domain name (DOMAIN, DOMAIN:PORT or mx://DOMAIN[:PORT])`);
  const port = portText === undefined ? (scheme === 'smtps' ? 465 : DEFAULTS.posture.port) : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || portText === '') throw new UsageError(`${text}: the port must be 1-65535`);
  // smtps://, or port 465 however written (DOMAIN:465, mx://DOMAIN:465): implicit TLS, as the checks take 465.
  return { text, domain, port, implicitTls: scheme === 'smtps' || port === 465 };
}

export function checksFlag(value: string | undefined): PostureCheckName[] {
  if (value === undefined) return [...POSTURE_CHECKS];
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UsageError('--checks: name at least one check');
  for (const n of names) {
    if (!(POSTURE_CHECKS as readonly string[]).includes(n)) throw new UsageError(`--checks: unknown check "${n}" (checks: ${POSTURE_CHECKS.join(', ')})`);
  }
  return POSTURE_CHECKS.filter((c) => names.includes(c));
}

/** `--at YYYY-MM-DD` → midnight UTC of that day, in ms; null when absent. */
export function atFlag(value: string | undefined): number | null {
  if (value === undefined) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value.trim()) {
    throw new UsageError(`--at: "${value}" is not a date YYYY-MM-DD`);
  }
  return ms;
}

function relayFlag(value: string | undefined): string {
  if (value === undefined) return DEFAULT_OPEN_RELAY_OPTIONS.relayTestDomain;
  if (!DOMAIN_RE.test(value.trim())) throw new UsageError(`--relay-test-domain: "${value}" is not a domain name`);
  return value.trim().toLowerCase();
}

/** `--dnsbl-zone ZONE`, repeatable: each a domain name, each once, at most MAX_DNSBL_ZONES. */
function dnsblZonesFlag(values: string[]): string[] {
  const zones = values.map((v) => {
    const zone = parseDnsblZone(v);
    if (zone === null) throw new UsageError(`--dnsbl-zone: "${v}" is not a domain name`);
    return zone;
  });
  if (zones.length > MAX_DNSBL_ZONES) throw new UsageError(`--dnsbl-zone: at most ${MAX_DNSBL_ZONES} zones (got ${zones.length})`);
  return [...new Set(zones)];
}

function connectToFlag(value: string): ConnectTo {
  const rule = parseConnectTo(value);
  if (!rule) throw new UsageError(`--connect-to: "${value}" is not HOST:PORT:ADDR:PORT`);
  return rule;
}

function secureDnsFor(server: string | undefined, clock: Clock, signal: AbortSignal | undefined): SecureDns {
  if (server !== undefined && parseDnsServer(server) === null) throw new UsageError(`--dns-server: "${server}" is not IP[:PORT] or [IPv6]:PORT`);
  try {
    return createSecureDns({ server: server ?? null, timeoutMs: DEFAULTS.posture.dnsTimeoutMs, clock, ...(signal ? { signal } : {}) });
  } catch (e) {
    throw new UsageError(`--dns-server: ${e instanceof Error ? e.message : String(e)}`);
  }
}
