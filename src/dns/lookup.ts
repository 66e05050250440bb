import { isIP } from 'node:net';
import os from 'node:os';
import { orderAddresses, type LocalAddress } from './order.js';
import { newResolver } from './resolver.js';
import { normalizeHostName, systemFiles, type SearchConfig, type SystemFilePaths } from './system-files.js';

/**
 * Name → addresses the way getaddrinfo answers (hosts file first, then A/AAAA from DNS, the search list for
 * relative names, addresses in getaddrinfo's order), without getaddrinfo: DNS goes through c-ares, which holds
 * no libuv thread while a server keeps it waiting. Errors carry getaddrinfo's codes: ENOTFOUND (the name does
 * not exist or has no address of the family asked for) and EAI_AGAIN (the DNS server did not answer, or failed).
 */
export type AddressLookup = (host: string, family: 4 | 6 | null, signal?: AbortSignal) => Promise<string[]>;

/** The questions an address lookup asks: node:dns's Resolver answers them, tests pass their own. */
export interface AddressResolver {
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
  /** Ends the pending queries: called when the lookup's signal aborts (the caller stopped waiting). */
  cancel?(): void;
}

/**
 * The system lookup's DNS timing, about glibc's (5 s per try, 2 tries): c-ares waits `timeoutMs` for the first
 * try and longer for the next. A run gives up sooner at its phase timeout; the query then ends by itself.
 */
const SYSTEM_DNS = { timeoutMs: 2500, tries: 2 } as const;

interface LookupSources {
  /** The resolver of one lookup, asked for once per lookup (a fresh one can be cancelled without touching others). */
  resolver: () => AddressResolver;
  /** Whether an aborted lookup cancels its resolver (only when `resolver()` gives each lookup its own). */
  cancelOnAbort: boolean;
  /** resolv.conf's search list and ndots, or null: names are asked as written. */
  search: (() => SearchConfig) | null;
  /** The hosts file, consulted first; null: none. */
  hosts: (() => ReadonlyMap<string, readonly string[]>) | null;
  /** This machine's interface addresses (for the order of the answer). */
  locals: () => readonly LocalAddress[];
}

export interface SystemLookupOptions {
  /** DNS servers to ask instead of resolv.conf's ("127.0.0.1:5353"); the search list is then not applied. */
  servers?: readonly string[] | null;
  timeoutMs?: number;
  tries?: number;
  files?: SystemFilePaths;
}

/**
 * The hosts file, then DNS through the system's servers (or `servers`), with c-ares timeouts. Each lookup has a
 * resolver of its own: when its signal aborts, its queries end and their sockets close at once.
 */
export function systemAddressLookup(o: SystemLookupOptions = {}): AddressLookup {
  const files = systemFiles(o.files);
  const servers = o.servers && o.servers.length > 0 ? o.servers : null;
  const timeoutMs = o.timeoutMs ?? SYSTEM_DNS.timeoutMs;
  const tries = o.tries ?? SYSTEM_DNS.tries;
  return createLookup({
    resolver: () => newResolver(servers, timeoutMs, tries),
    cancelOnAbort: true,
    search: servers ? null : () => files.resolvConf().search,
    hosts: () => files.hosts(),
    locals: localAddresses,
  });
}

/** The hosts file, then `resolver` (shared by its caller, so never cancelled here): names asked as written. */
export function lookupVia(resolver: AddressResolver, files?: SystemFilePaths): AddressLookup {
  const f = systemFiles(files);
  return createLookup({ resolver: () => resolver, cancelOnAbort: false, search: null, hosts: () => f.hosts(), locals: localAddresses });
}

export function createLookup(src: LookupSources): AddressLookup {
  return async (host, family, signal) => {
    const name = normalizeHostName(host);
    const literal = isIP(host);
    if (literal !== 0) {
      if (family !== null && literal !== family) throw notFound(host);
      return [host];
    }
    const fromFiles = fromHostsFile(name, family, src.hosts?.() ?? null);
    if (fromFiles.length > 0) return orderAddresses(fromFiles, src.locals());
    const resolver = src.resolver();
    const cancel = (): void => resolver.cancel?.();
    if (src.cancelOnAbort) signal?.addEventListener('abort', cancel, { once: true });
    try {
      for (const candidate of candidates(host, src.search?.() ?? null)) {
        if (signal?.aborted) break;
        const found = await askDns(resolver, candidate, family);
        if (found.addresses.length > 0) return orderAddresses(found.addresses, src.locals());
        if (found.temporary !== null) throw temporaryFailure(host, found.temporary);
      }
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    if (signal?.aborted) throw temporaryFailure(host, 'ECANCELLED');
    throw notFound(host);
  };
}

/**
 * The hosts file's addresses of the family asked for (none of that family: DNS is asked, as nss `files` does).
 * `localhost` and names under it are loopback even when the file does not say so (RFC 6761 6.3).
 */
function fromHostsFile(name: string, family: 4 | 6 | null, hosts: ReadonlyMap<string, readonly string[]> | null): string[] {
  const listed = hosts?.get(name);
  const all = listed ?? (name === 'localhost' || name.endsWith('.localhost') ? ['::1', '127.0.0.1'] : []);
  return all.filter((a) => family === null || isIP(a.replace(/%.*$/, '')) === family);
}

/** The names to ask, in order (resolv.conf(5) ndots and search; a trailing dot means "as written only"). */
function candidates(host: string, search: SearchConfig | null): string[] {
  const bare = host.replace(/\.$/, '');
  if (host.endsWith('.') || !search || search.search.length === 0) return [bare];
  const searched = search.search.map((d) => `${bare}.${d}`);
  const dots = bare.split('.').length - 1;
  return dots >= search.ndots ? [bare, ...searched] : [...searched, bare];
}

/** Names that do not exist or have no record of the type: try the next candidate. Anything else is temporary. */
const ABSENT = new Set(['ENOTFOUND', 'ENODATA', 'EBADNAME', 'ENONAME']);

async function askDns(r: AddressResolver, name: string, family: 4 | 6 | null): Promise<{ addresses: string[]; temporary: string | null }> {
  let temporary: string | null = null;
  const ask = (q: Promise<string[]>): Promise<string[]> =>
    q.catch((e: unknown) => {
      const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      if (!ABSENT.has(code)) temporary ??= code;
      return [];
    });
  const [v4, v6] = await Promise.all([family === 6 ? [] : ask(r.resolve4(name)), family === 4 ? [] : ask(r.resolve6(name))]);
  return { addresses: [...new Set([...v4, ...v6])], temporary };
}

function notFound(host: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host });
}

/** `cause`: what the DNS answered (ETIMEOUT, ESERVFAIL, ECONNREFUSED, ...). */
function temporaryFailure(host: string, cause: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo EAI_AGAIN ${host} (${cause})`), { code: 'EAI_AGAIN', hostname: host, cause });
}

let locals: { at: number; list: readonly LocalAddress[] } | null = null;

/** os.networkInterfaces(), re-read every few seconds (interfaces come and go; the call is a syscall). */
function localAddresses(): readonly LocalAddress[] {
  const now = Date.now();
  if (!locals || now - locals.at >= 5000) {
    let list: LocalAddress[] = [];
    try {
      list = Object.values(os.networkInterfaces()).flatMap((l) => l ?? []);
    } catch {
      list = [];
    }
    locals = { at: now, list };
  }
  return locals.list;
}
