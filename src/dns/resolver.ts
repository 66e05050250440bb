import dns from 'node:dns';

/**
 * node:dns's Resolver (c-ares): queries over its own sockets with its own timeouts, never a libuv thread-pool
 * job, so a DNS server that never answers costs a pending query, not one of the pool's four threads (which
 * getaddrinfo, fs and zlib share).
 */
export type DnsResolver = InstanceType<typeof dns.promises.Resolver>;

/**
 * A resolver of its own (one lookup or one MX resolution: `cancel()` then ends exactly its queries and closes
 * their sockets) asking `servers` ("127.0.0.1:5353", "[::1]:53"), or null: /etc/resolv.conf's, read by c-ares as
 * it is now (a fraction of a millisecond). Each query waits `timeoutMs` per try.
 */
export function newResolver(servers: readonly string[] | null, timeoutMs: number, tries = 1): DnsResolver {
  const r = new dns.promises.Resolver({ timeout: timeoutMs, tries });
  if (servers && servers.length > 0) r.setServers([...servers]);
  return r;
}
