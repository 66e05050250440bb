/**
 * What `fcrdns` and `dnsbl` share: an address's labels in reverse order (RFC 1035 3.5 for IPv4: octets;
 * RFC 3596 2.5 for IPv6: the 32 nibbles, low-order first), the reverse-DNS name built on them, and one DNS
 * lookup's outcome as plain data for the judges.
 */
import net from 'node:net';
import { v6 } from '@leichtgewicht/ip-codec';

/** `192.0.2.1` → `1.2.0.192`; `2001:db8::1` → `1.0.0.0…8.b.d.0.1.0.0.2` (32 nibbles); null when not an address. */
export function reversedLabels(address: string): string | null {
  const bare = address.replace(/%.*$/, '');
  if (net.isIPv4(bare)) return bare.split('.').reverse().join('.');
  if (!net.isIPv6(bare)) return null;
  const hex = expandIPv6(bare);
  return hex === null ? null : [...hex].reverse().join('.');
}

/** The PTR name of an address: `1.2.0.192.in-addr.arpa`, or the nibbles under `ip6.arpa`; null when not one. */
export function ptrNameOf(address: string): string | null {
  const labels = reversedLabels(address);
  if (labels === null) return null;
  return `${labels}.${net.isIPv4(address.replace(/%.*$/, '')) ? 'in-addr.arpa' : 'ip6.arpa'}`;
}

/** The 32 hex digits of an IPv6 address (lower case), an embedded IPv4 tail (::ffff:192.0.2.1) included; null when not one. */
export function expandIPv6(address: string): string | null {
  const bare = address.replace(/%.*$/, '');
  // ip-codec encodes without checking: node:net says whether it is an IPv6 address first.
  return net.isIPv6(bare) ? Buffer.from(v6.encode(bare)).toString('hex') : null;
}

/** Two addresses are the same (IPv6 compared in full form: `::1` = `0:0::1`). */
export function sameIp(a: string, b: string): boolean {
  if (net.isIPv4(a) || net.isIPv4(b)) return a === b;
  const x = expandIPv6(a);
  return x !== null && x === expandIPv6(b);
}

/** The record types these checks ask for; each record's data is text (an address or a name, TXT joined). */
export type NameRrType = 'PTR' | 'A' | 'AAAA' | 'TXT';

/** One answer as the DNS client gives it (rcode null with `error` set when no usable answer came). */
export interface NameAnswer {
  name: string;
  rcode: string | null;
  records: readonly string[];
  error: string | null;
  detail: string;
}

/** The DNS the checks are given: the posture run's client (`src/dns/secure.ts`'s SecureDns fits as it is), or a fake. */
export interface NameDns {
  query(name: string, type: NameRrType): Promise<NameAnswer>;
}

/** One lookup as the judges see it: rcode (null: no usable answer, `detail` says why), the records as text. */
export interface LookupSeen {
  name: string;
  type: NameRrType;
  rcode: string | null;
  records: string[];
  detail: string;
}

/** A lookup of names (PTR, A, AAAA, TXT) through the injected DNS client; every outcome as data. */
export async function lookup(dns: NameDns, name: string, type: NameRrType): Promise<LookupSeen> {
  try {
    const a = await dns.query(name, type);
    return { name: a.name, type, rcode: a.error === null ? a.rcode : null, records: [...a.records], detail: a.detail };
  } catch (e) {
    return { name, type, rcode: null, records: [], detail: e instanceof Error ? e.message : String(e) };
  }
}

/** NXDOMAIN, or NOERROR without a record: the name has none. */
export function isEmpty(l: LookupSeen): boolean {
  return l.rcode === 'NXDOMAIN' || (l.rcode === 'NOERROR' && l.records.length === 0);
}

/** Anything but NOERROR/NXDOMAIN (SERVFAIL, REFUSED, a timeout): nothing is known of the name. */
export function isFailed(l: LookupSeen): boolean {
  return l.rcode !== 'NOERROR' && l.rcode !== 'NXDOMAIN';
}

/** `PTR 1.0.0.127.in-addr.arpa: SERVFAIL, 0 PTR record(s)` — a failed lookup for a detail line. */
export function failedText(l: LookupSeen): string {
  return `${l.type} ${l.name}: ${l.detail}`;
}
