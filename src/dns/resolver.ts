import dns from 'node:dns';
import { systemFiles } from './system-files.js';

/**
 * node:dns's Resolver (c-ares): queries over its own sockets with its own timeouts, never a libuv thread-pool
 * job, so a DNS server that never answers costs a pending query, not one of the pool's four threads (which
 * getaddrinfo, fs and zlib share).
 */
export type DnsResolver = InstanceType<typeof dns.promises.Resolver>;

/** Resolvers kept for reuse: one per (servers, timeout, tries); more distinct settings than this evict the oldest. */
const MAX_CACHED = 32;
const cache = new Map<string, DnsResolver>();

/**
 * A resolver asking `servers` ("127.0.0.1:5353", "[::1]:53"), or null: the servers of /etc/resolv.conf, made
 * anew when that file changes (c-ares reads it once, at creation). Each query waits `timeoutMs` per try.
 */
export function sharedResolver(servers: readonly string[] | null, timeoutMs: number, tries = 1): DnsResolver {
  const which = servers && servers.length > 0 ? servers.join(',') : `system:${systemFiles().resolvConf().text}`;
  const key = `${timeoutMs}|${tries}|${which}`;
  let r = cache.get(key);
  if (r) {
    cache.delete(key); // most recently used last
  } else {
    r = new dns.promises.Resolver({ timeout: timeoutMs, tries });
    if (servers && servers.length > 0) r.setServers([...servers]);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, r);
  return r;
}
