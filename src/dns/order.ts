import { BlockList, isIPv4 } from 'node:net';

/**
 * The order getaddrinfo gives a name's addresses (and Node keeps with `verbatim: true`): destination address
 * selection of RFC 6724 section 6 with glibc's default policy table (RFC 3484's, which glibc still ships), the
 * rules that need no routing table: 1 (avoid unusable destinations: no local address of that family and
 * scope), 2 (prefer matching scope), 5 (prefer matching label), 6 (higher precedence), 8 (smaller scope), then
 * the order the answer came in. So `localhost` (127.0.0.1 and ::1) gives ::1 first, and a host with only IPv4
 * connectivity tries A records before AAAA.
 */

/** A local interface address (os.networkInterfaces() entries carry these fields). */
export interface LocalAddress {
  address: string;
  family: 'IPv4' | 'IPv6' | 4 | 6;
  internal: boolean;
}

interface Policy {
  precedence: number;
  label: number;
}

const SCOPE_LINK = 2;
const SCOPE_SITE = 5;
const SCOPE_GLOBAL = 14;

function prefixes(list: readonly [string, number, number][]): { block: BlockList; value: number }[] {
  return list.map(([net, len, value]) => {
    const block = new BlockList();
    block.addSubnet(net, len, 'ipv6');
    return { block, value };
  });
}

// Longest prefix first; ::/0 is the fallback.
const PRECEDENCE = prefixes([['::1', 128, 50], ['::ffff:0:0', 96, 10], ['2002::', 16, 30]]);
const LABEL = prefixes([['::1', 128, 0], ['::ffff:0:0', 96, 4], ['fec0::', 10, 5], ['2002::', 16, 2], ['2001::', 32, 7], ['fc00::', 7, 6]]);
const V4_COMPAT = prefixes([['::', 96, 0]])[0]!.block;
const V6_LINK = prefixes([['fe80::', 10, 0]])[0]!.block;
const V6_SITE = prefixes([['fec0::', 10, 0]])[0]!.block;
const V4_LINK = new BlockList();
V4_LINK.addSubnet('127.0.0.0', 8, 'ipv4');
V4_LINK.addSubnet('169.254.0.0', 16, 'ipv4');
const V4_SITE = new BlockList();
V4_SITE.addSubnet('10.0.0.0', 8, 'ipv4');
V4_SITE.addSubnet('172.16.0.0', 12, 'ipv4');
V4_SITE.addSubnet('192.168.0.0', 16, 'ipv4');

function policy(address: string): Policy {
  if (isIPv4(address)) return { precedence: 10, label: 4 };
  const bare = address.replace(/%.*$/, '');
  if (V4_COMPAT.check(bare, 'ipv6') && bare !== '::1') return { precedence: 20, label: 3 };
  const match = (table: { block: BlockList; value: number }[], fallback: number): number =>
    table.find((p) => p.block.check(bare, 'ipv6'))?.value ?? fallback;
  return { precedence: match(PRECEDENCE, 40), label: match(LABEL, 1) };
}

function scope(address: string): number {
  if (isIPv4(address)) return V4_LINK.check(address, 'ipv4') ? SCOPE_LINK : V4_SITE.check(address, 'ipv4') ? SCOPE_SITE : SCOPE_GLOBAL;
  const bare = address.replace(/%.*$/, '');
  if (bare === '::1' || V6_LINK.check(bare, 'ipv6')) return SCOPE_LINK;
  return V6_SITE.check(bare, 'ipv6') ? SCOPE_SITE : SCOPE_GLOBAL;
}

const isLoopback = (a: string): boolean => a === '::1' || (isIPv4(a) && a.startsWith('127.'));

/** The local address a connection to `dest` would leave from, roughly as the kernel picks it; null: none. */
function sourceFor(dest: string, locals: readonly LocalAddress[]): { scope: number; label: number } | null {
  const v4 = isIPv4(dest);
  const destScope = scope(dest);
  const candidates = locals
    .filter((l) => (l.family === 4 || l.family === 'IPv4') === v4)
    .filter((l) => (isLoopback(dest) ? isLoopback(l.address) : !l.internal && !isLoopback(l.address)))
    .filter((l) => v4 || destScope === SCOPE_LINK || scope(l.address) !== SCOPE_LINK)
    .map((l) => ({ scope: scope(l.address), label: policy(l.address).label }));
  if (candidates.length === 0) return null;
  const label = policy(dest).label;
  const rank = (c: { scope: number; label: number }): number => (c.scope === destScope ? 2 : 0) + (c.label === label ? 1 : 0);
  return candidates.reduce((best, c) => (rank(c) > rank(best) ? c : best));
}

/** `addresses` in the order getaddrinfo would return them, given this machine's interface addresses. */
export function orderAddresses(addresses: readonly string[], locals: readonly LocalAddress[]): string[] {
  const keyed = addresses.map((address, index) => {
    const source = sourceFor(address, locals);
    const p = policy(address);
    const s = scope(address);
    return {
      address, index, scope: s, precedence: p.precedence,
      usable: source !== null, scopeMatch: source?.scope === s, labelMatch: source?.label === p.label,
    };
  });
  const first = (a: boolean, b: boolean): number => (a === b ? 0 : a ? -1 : 1);
  keyed.sort((a, b) =>
    first(a.usable, b.usable) ||
    first(a.scopeMatch, b.scopeMatch) ||
    first(a.labelMatch, b.labelMatch) ||
    b.precedence - a.precedence ||
    a.scope - b.scope ||
    a.index - b.index);
  return keyed.map((k) => k.address);
}
