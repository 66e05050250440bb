import { newResolver } from './resolver.js';

/** A DNS server as node:dns takes it: "127.0.0.1", "127.0.0.1:5353", "[::1]:53", "::1". */
export const DNS_SERVER_PATTERN = /^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9a-fA-F:]+)$/;

/** The DNS questions MX routing asks; node:dns's Resolver answers them, tests pass their own. */
export interface MxResolver {
  resolveMx(name: string): Promise<{ exchange: string; priority: number }[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
  /** Ends the queries still pending (node:dns's Resolver has it; the caller gave up on them). */
  cancel?(): void;
}

/**
 * node:dns's resolver (c-ares: CNAMEs followed), optionally against given servers (`dns_servers`,
 * "127.0.0.1:5353" or "[::1]:53") for split-horizon setups, with a per-query timeout.
 */
export function systemMxResolver(servers: readonly string[] | null, timeoutMs = 5000): MxResolver {
  // One try: a retry waits longer than the first, and the caller bounds the whole lookup by its phase timeout.
  return newResolver(servers, timeoutMs, 1);
}

/** The most MX hosts probed whatever the plan says (max_mx's upper bound): a DNS answer cannot ask for more. */
export const MAX_MX_HOSTS = 50;

export interface MxHost {
  host: string;
  preference: number;
  /** In the order to try; filtered by address family when one is asked for. */
  addresses: string[];
  /** No MX record: the domain itself is the mail host (RFC 5321 5.1 implicit MX). */
  implicit: boolean;
}

export type MxResolution =
  | { kind: 'hosts'; hosts: MxHost[]; lookupMs: number }
  | { kind: 'null-mx'; lookupMs: number }
  | { kind: 'error'; message: string; lookupMs: number };

export interface MxOptions {
  family: 4 | 6 | null;
  /** Probe only the first N MX hosts (by preference); null: all, up to MAX_MX_HOSTS. */
  maxHosts: number | null;
  now: () => number;
}

const NO_DATA = new Set(['ENODATA', 'ENOTFOUND_NODATA']);

/**
 * A domain's mail hosts as a sending MTA finds them (RFC 5321 5.1): MX records by preference (ties by name, so
 * runs are comparable), each host's A/AAAA records; no MX at all → the domain's own address (implicit MX); a
 * single MX of "." → null MX (RFC 7505): the domain accepts no mail. A host without addresses stays in the list
 * (its probe fails at dns, which is what a sender would hit).
 */
export async function resolveMx(domain: string, resolver: MxResolver, o: MxOptions): Promise<MxResolution> {
  const started = o.now();
  const elapsed = (): number => o.now() - started;
  let records: { exchange: string; priority: number }[];
  try {
    records = await resolver.resolveMx(domain);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!NO_DATA.has(code)) return { kind: 'error', message: mxError(domain, code, e), lookupMs: elapsed() };
    records = [];
  }
  const ordered = orderMx(records);
  if (ordered === 'null-mx') return { kind: 'null-mx', lookupMs: elapsed() };
  const implicit = ordered.length === 0;
  const unique = implicit ? [{ host: domain.toLowerCase(), preference: 0 }] : ordered;
  const chosen = unique.slice(0, Math.min(o.maxHosts ?? MAX_MX_HOSTS, MAX_MX_HOSTS));
  const hosts = await Promise.all(
    chosen.map(async (x) => ({ ...x, implicit, addresses: await addressesOf(x.host, resolver, o.family) })),
  );
  if (implicit && hosts[0]!.addresses.length === 0) {
    return { kind: 'error', message: `${domain} has no MX record and no address of its own`, lookupMs: elapsed() };
  }
  return { kind: 'hosts', hosts, lookupMs: elapsed() };
}

/**
 * MX records as a sender takes them: names lower-cased without the final dot, by preference, ties by name (plain
 * code order: the same on every machine), a host listed twice at its best; a single "." is a null MX (RFC 7505).
 * [] when there are none (the caller decides on the implicit MX).
 */
export function orderMx(records: readonly { exchange: string; priority: number }[]): { host: string; preference: number }[] | 'null-mx' {
  const exchanges = records.map((r) => ({ host: r.exchange.replace(/\.$/, '').toLowerCase(), preference: r.priority }));
  if (exchanges.length === 1 && exchanges[0]!.host === '') return 'null-mx';
  return exchanges
    .filter((x) => x.host !== '')
    .sort((a, b) => a.preference - b.preference || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0))
    .filter((x, i, all) => all.findIndex((y) => y.host === x.host) === i);
}

/** A then AAAA (or one family), CNAMEs followed by the resolver; no answer is an empty list, not an error. */
async function addressesOf(host: string, resolver: MxResolver, family: 4 | 6 | null): Promise<string[]> {
  const ask = (f: 4 | 6): Promise<string[]> => (f === 4 ? resolver.resolve4(host) : resolver.resolve6(host)).catch(() => []);
  const [v4, v6] = await Promise.all([family === 6 ? [] : ask(4), family === 4 ? [] : ask(6)]);
  return [...v4, ...v6];
}

function mxError(domain: string, code: string, e: unknown): string {
  if (code === 'ENOTFOUND') return `${domain} does not exist (NXDOMAIN)`;
  if (code === 'ETIMEOUT') return `MX lookup for ${domain} timed out`;
  if (code === 'ESERVFAIL') return `MX lookup for ${domain} failed (SERVFAIL)`;
  if (code === 'ECONNREFUSED') return `the DNS server refused the MX lookup for ${domain}`;
  return `MX lookup for ${domain} failed: ${code || (e as Error).message}`;
}
