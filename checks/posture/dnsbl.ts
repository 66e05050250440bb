/**
 * `dnsbl` (RFC 5782): is the address on a DNS blocklist? Per configured zone an A query for the address's
 * reversed labels (IPv4 octets, IPv6 nibbles) under the zone; a listed address's TXT there gives the reason.
 * No zones by default (which lists to ask, and whether their terms allow it, is the operator's choice).
 *
 * Rules per zone: NXDOMAIN (or no A record): not listed. An answer in 127.0.0.0/8: listed (fail `dnsbl-listed`,
 * naming the zone, the code and the TXT reason). An answer in 127.255.255.0/24 (Spamhaus's "query refused":
 * a public or open resolver, over the query limit, a typing error in the zone): warn `dnsbl-refused`, the list
 * could not be asked. SERVFAIL, REFUSED, a timeout: warn `dnsbl-unavailable`. Any answer outside 127/8: warn
 * `dnsbl-bad-answer` (a wildcarding or broken list, not trusted to say "listed"). Never a pass without an answer.
 * One finding per address: the worst over the zones, every zone in the detail; no zones: n/a `no-zones`.
 */
import net from 'node:net';
import type { PostureFinding, PostureVerdict } from '../../src/core/posture.js';
import { worstOf } from '../../src/core/posture.js';
import type { SchemaKit } from '../step.js';
import { addressFinding, type SmtpTarget } from './smtp.js';
import { isFailed, lookup, reversedLabels, type LookupSeen, type NameDns } from './reverse.js';
import { quote } from './txt.js';

export const name = 'dnsbl' as const;

export interface DnsblOptions {
  /** DNSBL zones to ask (`zen.spamhaus.org`...), in order; none: the check is n/a. */
  zones: string[];
}

export const DEFAULT_DNSBL_OPTIONS: DnsblOptions = { zones: [] };

/** At most this many zones (each costs a query per address, and a TXT per listing). */
export const MAX_DNSBL_ZONES = 20;

const ZONE_RE = /^(?=.{1,200}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$/;

/** A DNSBL zone as given (`--dnsbl-zone`, config) is a domain name: lower case, no final dot; null when not one. */
export function parseDnsblZone(text: string): string | null {
  const t = text.trim();
  return ZONE_RE.test(t) ? t.toLowerCase().replace(/\.$/, '') : null;
}

/** Config keys of `dnsbl`: `zones`. */
export function options({ z }: SchemaKit) {
  return {
    zones: z.array(z.string().regex(ZONE_RE, 'must be a domain name')).max(MAX_DNSBL_ZONES).optional()
      .meta({ description: 'DNSBL zones to look each MX address up in (RFC 5782); none: dnsbl is n/a. Example: [zen.spamhaus.org]' }),
  };
}

/** The parsed keys over the defaults. */
export function dnsblOptions(c: { zones?: string[] } = {}): DnsblOptions {
  const zones = (c.zones ?? DEFAULT_DNSBL_OPTIONS.zones).map((z) => parseDnsblZone(z) ?? z.toLowerCase());
  return { zones: [...new Set(zones)] };
}

export interface DnsblDeps {
  dns: NameDns;
}

/** One zone's answers: the A lookup, and the TXT lookup when the A said "listed". */
export interface DnsblZoneSeen {
  zone: string;
  a: LookupSeen;
  txt: LookupSeen | null;
}

export interface DnsblSeen {
  address: string;
  /** Null when the address is not an IP address. */
  zones: DnsblZoneSeen[] | null;
}

type Where = Pick<SmtpTarget, 'mxHost' | 'address'>;

interface ZoneVerdict {
  result: PostureVerdict;
  reason: string | null;
  text: string;
}

const inLoopback = (a: string): boolean => net.isIPv4(a) && a.startsWith('127.');
const isRefusal = (a: string): boolean => net.isIPv4(a) && a.startsWith('127.255.255.');

/** One zone's verdict, with its part of the detail line. */
export function judgeZone(z: DnsblZoneSeen): ZoneVerdict {
  const a = z.a;
  if (isFailed(a)) return { result: 'warn', reason: 'dnsbl-unavailable', text: `${z.zone}: could not ask (${a.detail})` };
  if (a.records.length === 0) return { result: 'pass', reason: null, text: `not listed in ${z.zone}` };
  const codes = a.records.join(', ');
  if (!a.records.every(inLoopback)) {
    return { result: 'warn', reason: 'dnsbl-bad-answer', text: `${z.zone} answered ${codes}, outside 127.0.0.0/8 (a wildcarding or broken list)` };
  }
  if (a.records.some(isRefusal)) return { result: 'warn', reason: 'dnsbl-refused', text: `${z.zone} refused the query (${codes})` };
  const why = z.txt && z.txt.rcode === 'NOERROR' && z.txt.records.length > 0 ? `: ${quote(z.txt.records.join(' '), 160)}` : '';
  return { result: 'fail', reason: 'dnsbl-listed', text: `listed in ${z.zone} (${codes})${why}` };
}

/** Pure: every zone's answers → one finding for the address (the worst zone's verdict, every zone named). */
export function judgeDnsbl(where: Where, seen: DnsblSeen): PostureFinding[] {
  if (seen.zones === null) return [addressFinding(name, where, 'n/a', 'not-an-address', `${seen.address} is not an IP address`)];
  if (seen.zones.length === 0) return [addressFinding(name, where, 'n/a', 'no-zones', 'no DNSBL zones configured')];
  const verdicts = seen.zones.map(judgeZone);
  const worst = worstOf(verdicts)!;
  return [addressFinding(name, where, worst.result, worst.reason, verdicts.map((v) => v.text).join('; '))];
}

/** Per zone (in parallel) the A query of the reversed address under it; TXT only where the A said listed. */
export async function gatherDnsbl(address: string, deps: DnsblDeps, opts: DnsblOptions = DEFAULT_DNSBL_OPTIONS): Promise<DnsblSeen> {
  const labels = reversedLabels(address);
  if (labels === null) return { address, zones: null };
  const zones = await Promise.all(opts.zones.map(async (zone): Promise<DnsblZoneSeen> => {
    const a = await lookup(deps.dns, `${labels}.${zone}`, 'A');
    const listed = a.rcode === 'NOERROR' && a.records.length > 0 && a.records.every(inLoopback) && !a.records.some(isRefusal);
    return { zone, a, txt: listed ? await lookup(deps.dns, `${labels}.${zone}`, 'TXT') : null };
  }));
  return { address, zones };
}

export async function runDnsbl(where: Where, deps: DnsblDeps, opts: DnsblOptions = DEFAULT_DNSBL_OPTIONS): Promise<PostureFinding[]> {
  return judgeDnsbl(where, await gatherDnsbl(where.address, deps, opts));
}
