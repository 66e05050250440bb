/**
 * One `smtp-probe posture` run over a domain: its MX hosts through the DNS client that reads the AD bit (by
 * preference; none → the domain itself as the implicit MX, RFC 5321 5.1), each host's A/AAAA addresses, the
 * domain-level checks once (mta_sts, tls_rpt, spf, dmarc) and the per-address checks on every address (dane,
 * dnsbl, the SMTP exposure checks, banner_hostname, fcrdns), in POSTURE_CHECKS order. `--connect-to` rules send SMTP connections (as the MTA-STS fetch) elsewhere, names and SNI
 * unchanged. Every outcome is data: a DNS failure is a line in `problems` and n/a findings, never an exception.
 */
import type { Clock } from '../core/clock.js';
import { POSTURE_CHECKS, type PostureCheckName, type PostureFinding } from '../core/posture.js';
import type { SecureDns } from '../dns/secure.js';
import { MAX_MX_HOSTS, orderMx } from '../dns/mx.js';
import { runDane } from '../../checks/posture/dane.js';
import { runBannerHostname } from '../../checks/posture/banner-hostname.js';
import { runDmarc } from '../../checks/posture/dmarc.js';
import { runDnsbl } from '../../checks/posture/dnsbl.js';
import { runFcrdns } from '../../checks/posture/fcrdns.js';
import { SMTP_EXPOSURE_CHECKS, runSmtpExposure, type SmtpExposureCheck } from '../../checks/posture/exposure.js';
import { mtaStsOptions, runMtaSts, type ConnectTo, type MtaStsDeps } from '../../checks/posture/mta-sts.js';
import type { SmtpTarget } from '../../checks/posture/smtp.js';
import { runSpf } from '../../checks/posture/spf.js';
import { runTlsRpt } from '../../checks/posture/tls-rpt.js';
import type { TxtLookup } from '../../checks/posture/txt.js';
import type { PostureOptions } from './options.js';

/** Per-address checks beside the SMTP exposure ones: DNS (dane, dnsbl, fcrdns) and the greeting's name. */
const ADDRESS_CHECKS: readonly PostureCheckName[] = ['dane', 'dnsbl', 'banner_hostname', 'fcrdns'];

export interface PostureRequest {
  domain: string;
  /** SMTP port of every MX host (25 unless DOMAIN:PORT or a URL said otherwise). */
  port: number;
  implicitTls: boolean;
  checks: readonly PostureCheckName[];
  /** PEM of `--ca`, for SMTP TLS and the MTA-STS fetch (beside the system roots). */
  ca: string | null;
  connectTo: readonly ConnectTo[];
  /** Each check's options, defaults filled in (options.ts). */
  options: PostureOptions;
  ehloName: string;
  smtpTimeoutMs: number;
  /** `--at`: judge certificates as of this date (ms since the epoch); null: now. */
  at: number | null;
}

export interface PostureDeps {
  dns: SecureDns;
  clock: Clock;
  signal?: AbortSignal;
  /** Tests replace the MTA-STS HTTPS fetch. */
  stsFetch?: MtaStsDeps['fetch'];
}

export interface PostureMx {
  host: string;
  /** Null for the implicit MX (no MX record: the domain itself). */
  preference: number | null;
  addresses: string[];
  /** Why the host has no address to probe (a failed or empty A/AAAA lookup); null otherwise. */
  error: string | null;
}

export interface PostureRun {
  mx: PostureMx[];
  findings: PostureFinding[];
  /** What kept part of the run from happening (MX or address lookups), one line each. */
  problems: string[];
}

/** What DANE needs of the run's DNS answers: the AD bit on the MX RRset and on each host's A/AAAA RRset. */
interface Validated {
  mx: boolean;
  /** `HOST ADDRESS` → AD on the RRset that address came from. */
  addresses: Map<string, boolean>;
}

export async function runPosture(req: PostureRequest, deps: PostureDeps): Promise<PostureRun> {
  const problems: string[] = [];
  const validated: Validated = { mx: false, addresses: new Map() };
  const mx = await mxHostsOf(req.domain, deps.dns, problems, validated);
  for (const m of mx) await addressesOf(m, deps.dns, validated);
  for (const m of mx) if (m.error) problems.push(`${m.host}: ${m.error}`);
  const hosts = mx.map((m) => m.host);
  const findings = [...(await domainFindings(req, hosts, deps)), ...(await smtpFindings(req, mx, deps, validated))];
  const order = (f: PostureFinding): number => POSTURE_CHECKS.indexOf(f.check);
  // Domain checks first in their order, then per MX host and address, each in POSTURE_CHECKS order.
  const domainPart = findings.filter((f) => f.scope !== 'address').sort((a, b) => order(a) - order(b));
  return { mx, findings: [...domainPart, ...findings.filter((f) => f.scope === 'address')], problems };
}

/** MX hosts by preference; NODATA → the domain (implicit MX); a null MX or a failed lookup → none, said why. */
async function mxHostsOf(domain: string, dns: SecureDns, problems: string[], validated: Validated): Promise<PostureMx[]> {
  const a = await dns.query(domain, 'MX');
  validated.mx = a.ad;
  if (a.rcode === 'NOERROR' && a.records.length === 0) {
    return [{ host: domain, preference: null, addresses: [], error: null }];
  }
  if (a.rcode !== 'NOERROR') {
    problems.push(`MX ${domain}: ${a.detail}`);
    return [];
  }
  // The sender's order (src/dns/mx.ts), a host listed twice checked once, at most MAX_MX_HOSTS.
  const ordered = orderMx(a.records.map((r) => ({ exchange: r.exchange, priority: r.preference })));
  if (ordered === 'null-mx' || ordered.length === 0) {
    problems.push(`MX ${domain}: a null MX (".": the domain takes no mail)`);
    return [];
  }
  return ordered.slice(0, MAX_MX_HOSTS).map((r) => ({ host: r.host, preference: r.preference, addresses: [], error: null }));
}

async function addressesOf(m: PostureMx, dns: SecureDns, validated: Validated): Promise<void> {
  const answers = await Promise.all([dns.query(m.host, 'A'), dns.query(m.host, 'AAAA')]);
  for (const a of answers) for (const address of a.records) validated.addresses.set(`${m.host} ${address}`, a.ad);
  m.addresses = [...new Set(answers.flatMap((a) => a.records))];
  if (m.addresses.length > 0) return;
  const failed = answers.filter((a) => a.rcode !== 'NOERROR' && a.rcode !== 'NXDOMAIN');
  m.error = failed.length > 0 ? failed.map((a) => `${a.type}: ${a.detail}`).join('; ') : 'no A or AAAA record';
}

function txtOf(dns: SecureDns): TxtLookup {
  return (name) => dns.query(name, 'TXT');
}

async function domainFindings(req: PostureRequest, hosts: string[], deps: PostureDeps): Promise<PostureFinding[]> {
  const txt = txtOf(deps.dns);
  const out: PostureFinding[] = [];
  const want = (c: PostureCheckName): boolean => req.checks.includes(c);
  if (want('mta_sts')) {
    const options = mtaStsOptions({ timeout_ms: req.options.mtaStsTimeoutMs }, { ca: req.ca === null ? [] : [req.ca], connectTo: req.connectTo });
    const stsDeps: MtaStsDeps = { txt, clock: deps.clock, ...(deps.signal ? { signal: deps.signal } : {}), ...(deps.stsFetch ? { fetch: deps.stsFetch } : {}) };
    out.push(...(await runMtaSts(req.domain, hosts, options, stsDeps)));
  }
  if (want('tls_rpt')) out.push(...(await runTlsRpt(req.domain, hosts, { txt })));
  if (want('spf')) out.push(...(await runSpf(req.domain, { txt })));
  if (want('dmarc')) out.push(...(await runDmarc(req.domain, { txt })));
  return out;
}

/** Where a connection meant for HOST:PORT goes: the first matching `--connect-to` rule, as curl takes them. */
export function connectTarget(host: string, port: number, address: string, rules: readonly ConnectTo[]): { address: string; port: number } {
  const rule = rules.find((r) => (r.host === '' || r.host.toLowerCase() === host.toLowerCase()) && (r.port === null || r.port === port));
  if (!rule) return { address, port };
  return { address: rule.toHost === '' ? address : rule.toHost, port: rule.toPort ?? port };
}

async function smtpFindings(req: PostureRequest, mx: PostureMx[], deps: PostureDeps, validated: Validated): Promise<PostureFinding[]> {
  const smtpChecks = req.checks.filter((c): c is SmtpExposureCheck => c in SMTP_EXPOSURE_CHECKS);
  const checks = req.checks.filter((c) => ADDRESS_CHECKS.includes(c) || c in SMTP_EXPOSURE_CHECKS);
  if (checks.length === 0) return [];
  const out: PostureFinding[] = [];
  for (const m of mx) {
    if (m.error !== null) {
      for (const check of checks) out.push({ check, scope: 'mx', mxHost: m.host, address: null, result: 'n/a', reason: 'no-address', detail: m.error });
      continue;
    }
    for (const address of m.addresses) out.push(...(await addressFindings(req, m.host, address, smtpChecks, deps, validated)));
  }
  return out;
}

/** Every per-address check on one address of one MX host, in POSTURE_CHECKS order (dane, dnsbl, SMTP, names). */
async function addressFindings(
  req: PostureRequest, host: string, address: string, smtpChecks: SmtpExposureCheck[], deps: PostureDeps, validated: Validated,
): Promise<PostureFinding[]> {
  const want = (c: PostureCheckName): boolean => req.checks.includes(c);
  const smtpDeps = { clock: deps.clock, timeoutMs: req.smtpTimeoutMs, ehloName: req.ehloName, ...(deps.signal ? { signal: deps.signal } : {}) };
  const to = connectTarget(host, req.port, address, req.connectTo);
  const t: SmtpTarget = { mxHost: host, address: to.address, port: to.port, implicitTls: req.implicitTls, ...(req.ca !== null ? { ca: req.ca } : {}) };
  const via = to.address === address && to.port === req.port ? '' : ` (connected to ${to.address}:${to.port} by --connect-to)`;
  const where = { mxHost: host, address };
  const found: PostureFinding[] = [];
  if (want('dane')) {
    const daneTarget = { ...t, tlsaPort: req.port, mxSecure: validated.mx, addressSecure: validated.addresses.get(`${host} ${address}`) ?? false };
    found.push(...(await runDane(daneTarget, { ...smtpDeps, tlsa: (name) => deps.dns.query(name, 'TLSA') }, req.at === null ? {} : { at: req.at })));
  }
  // DNS only: the address as DNS gave it, never the --connect-to one.
  if (want('dnsbl')) found.push(...(await runDnsbl(where, deps, req.options.dnsbl)));
  found.push(...(await runSmtpExposure(t, smtpDeps, smtpChecks, req.options.smtp)));
  if (want('banner_hostname')) found.push(...(await runBannerHostname({ ...t, dnsAddress: address }, { ...smtpDeps, dns: deps.dns })));
  if (want('fcrdns')) found.push(...(await runFcrdns(where, deps)));
  // DNS-only findings carry no "connected to" note: they asked about the address itself.
  const viaFor = (f: PostureFinding): string => (f.check === 'dnsbl' || f.check === 'fcrdns' ? '' : via);
  return found.map((f) => ({ ...f, address, detail: `${f.detail}${viaFor(f)}` }));
}
