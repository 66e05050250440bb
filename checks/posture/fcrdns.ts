/**
 * `fcrdns` (forward-confirmed reverse DNS, RFC 8601 2.7.3's "iprev"): the PTR of the address (in-addr.arpa /
 * ip6.arpa) gives names; the address is confirmed when one of those names' A (IPv4) or AAAA (IPv6) records holds
 * it again. Receivers check it of every sending MTA, and many refuse or score mail from an address without it.
 *
 * Rules: a confirmed name: pass (detail: the PTR name and what it resolves to). Otherwise warn: the PTR lookup
 * failed (SERVFAIL, timeout: `dns-error`, said so; never a pass); no PTR (NXDOMAIN or no record: `no-ptr`); a
 * forward lookup failed and no name confirmed (`dns-error`); every name resolves elsewhere or nowhere
 * (`ptr-not-confirmed`, naming each and its addresses). At most MAX_PTR_NAMES (10) PTR names are followed.
 */
import net from 'node:net';
import type { PostureFinding } from '../../src/core/posture.js';
import { addressFinding, type SmtpTarget } from './smtp.js';
import { failedText, isEmpty, isFailed, lookup, ptrNameOf, sameIp, type LookupSeen, type NameDns } from './reverse.js';

export const name = 'fcrdns' as const;

/** PTR names followed for the forward lookup by default; the rest are counted in the detail, not asked. */
export const MAX_PTR_NAMES = 10;

/** No config keys (so no `options(kit)`): the bound on PTR names followed, for callers and tests. */
export interface FcrdnsOptions {
  maxPtrNames: number;
}

export const DEFAULT_FCRDNS_OPTIONS: FcrdnsOptions = { maxPtrNames: MAX_PTR_NAMES };

export interface FcrdnsDeps {
  dns: NameDns;
}

type Where = Pick<SmtpTarget, 'mxHost' | 'address'>;

export interface FcrdnsSeen {
  address: string;
  /** Null when the address is not an IP address (nothing asked). */
  ptr: LookupSeen | null;
  /** The A or AAAA lookup of each PTR name followed, in PTR order. */
  forward: LookupSeen[];
}

/** The forward-confirmed PTR name (lower case, no final dot), or null. */
export function confirmedName(seen: FcrdnsSeen): string | null {
  const hit = seen.forward.find((f) => f.rcode === 'NOERROR' && f.records.some((r) => sameIp(r, seen.address)));
  return hit?.name ?? null;
}

function forwardText(f: LookupSeen): string {
  if (isFailed(f)) return failedText(f);
  return `${f.name} ${f.type} ${f.records.length > 0 ? f.records.join(', ') : isEmpty(f) && f.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'none'}`;
}

/** Pure: the PTR and forward lookups → one finding for the address. */
export function judgeFcrdns(where: Where, seen: FcrdnsSeen): PostureFinding[] {
  const f = (result: PostureFinding['result'], reason: string | null, detail: string): PostureFinding[] =>
    [addressFinding(name, where, result, reason, detail)];
  const ptr = seen.ptr;
  if (ptr === null) return f('n/a', 'not-an-address', `${seen.address} is not an IP address`);
  if (isFailed(ptr)) return f('warn', 'dns-error', `${failedText(ptr)}: reverse DNS could not be checked`);
  if (isEmpty(ptr)) return f('warn', 'no-ptr', `no PTR for ${seen.address} (${ptr.name}: ${ptr.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'no PTR record'})`);
  const names = [...new Set(ptr.records)];
  const followed = names.slice(0, seen.forward.length);
  const more = names.length > followed.length ? ` (${names.length - followed.length} more PTR name(s) not followed)` : '';
  const confirmed = confirmedName(seen);
  if (confirmed !== null) {
    return f('pass', null, `PTR ${seen.address} → ${confirmed}, ${confirmed} ${net.isIPv4(seen.address) ? 'A' : 'AAAA'} → ${seen.address}`);
  }
  const said = `PTR ${seen.address} → ${followed.join(', ')}${more}; ${seen.forward.map(forwardText).join('; ')}`;
  if (seen.forward.some(isFailed)) return f('warn', 'dns-error', `${said}: not confirmed, a forward lookup failed`);
  return f('warn', 'ptr-not-confirmed', `${said}: no PTR name resolves back to ${seen.address}`);
}

/** The PTR lookup, then A/AAAA (the address's family) of each PTR name, at most `maxPtrNames`, in parallel. */
export async function gatherFcrdns(address: string, deps: FcrdnsDeps, opts: FcrdnsOptions = DEFAULT_FCRDNS_OPTIONS): Promise<FcrdnsSeen> {
  const ptrName = ptrNameOf(address);
  if (ptrName === null) return { address, ptr: null, forward: [] };
  const ptr = await lookup(deps.dns, ptrName, 'PTR');
  if (ptr.rcode !== 'NOERROR') return { address, ptr, forward: [] };
  const type = net.isIPv4(address) ? 'A' : 'AAAA';
  const names = [...new Set(ptr.records)].slice(0, Math.max(1, opts.maxPtrNames));
  const forward = await Promise.all(names.map((n) => lookup(deps.dns, n, type)));
  return { address, ptr, forward };
}

export async function runFcrdns(where: Where, deps: FcrdnsDeps, opts: FcrdnsOptions = DEFAULT_FCRDNS_OPTIONS): Promise<PostureFinding[]> {
  return judgeFcrdns(where, await gatherFcrdns(where.address, deps, opts));
}
