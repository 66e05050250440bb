import { closeSync, openSync, readSync } from 'node:fs';
import { isIP } from 'node:net';

/**
 * The two files getaddrinfo reads besides asking DNS: the hosts file (`files` in nsswitch, asked first) and
 * resolv.conf's search list. Read synchronously, with a short cache: a few kilobytes read on the event loop
 * every few seconds, never a libuv thread-pool job per lookup (a pool starved by anything else cannot hold a
 * lookup back, and a lookup never waits behind one).
 */

/** Name (lower case, no root dot) → addresses in file order. */
export type HostsTable = ReadonlyMap<string, readonly string[]>;

export interface SearchConfig {
  /** Domains tried for a relative name (`search`, or `domain`); empty: none. */
  search: readonly string[];
  /** A name with at least this many dots is first tried as written (`options ndots:N`, default 1). */
  ndots: number;
}

/** How long a file read stays fresh: edits to /etc/hosts are seen within this. */
const SYSTEM_FILES_TTL_MS = 5000;

/** Files larger than this are read up to here (a hosts file is a few kilobytes; a runaway one must not stall us). */
const MAX_FILE_BYTES = 1 << 20;

export function normalizeHostName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The hosts file format (hosts(5)): an address, then names; `#` starts a comment. Unparsable lines are skipped. */
export function parseHosts(text: string): HostsTable {
  const table = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const [address, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (!address || names.length === 0 || isIP(address.replace(/%.*$/, '')) === 0) continue;
    for (const n of names) {
      const key = normalizeHostName(n);
      const list = table.get(key) ?? [];
      if (!list.includes(address)) list.push(address);
      table.set(key, list);
    }
  }
  return table;
}

/** resolv.conf (resolv.conf(5)): the last `search`/`domain` line wins; `options ndots:N`. */
export function parseResolvConf(text: string): SearchConfig {
  let search: string[] = [];
  let ndots = 1;
  for (const raw of text.split('\n')) {
    const [key, ...rest] = raw.replace(/[#;].*/, '').trim().split(/\s+/);
    if (key === 'search') search = rest.map(normalizeHostName).filter((d) => d !== '');
    else if (key === 'domain' && rest[0]) search = [normalizeHostName(rest[0])];
    else if (key === 'options') {
      for (const o of rest) {
        const m = /^ndots:(\d+)$/.exec(o);
        if (m) ndots = Math.min(15, Number(m[1]));
      }
    }
  }
  return { search, ndots };
}

/** A value read from a file through `parse`, re-read when older than the TTL; a missing file reads as empty text. */
function cachedFile<T>(path: string, parse: (text: string) => T, now: () => number, ttlMs = SYSTEM_FILES_TTL_MS): () => T {
  let value: T | null = null;
  let readAt = -Infinity;
  return () => {
    const t = now();
    if (value === null || t - readAt >= ttlMs) {
      value = parse(readText(path));
      readAt = t;
    }
    return value;
  };
}

function readText(path: string): string {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.allocUnsafe(MAX_FILE_BYTES);
    let length = 0;
    for (let n = -1; n !== 0 && length < buf.length; length += n) n = readSync(fd, buf, length, buf.length - length, null);
    return buf.toString('utf8', 0, length);
  } catch {
    return '';
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Where the system's files are; tests point these at their own. */
export interface SystemFilePaths {
  hosts: string;
  resolvConf: string;
}

const SYSTEM_FILE_PATHS: SystemFilePaths = {
  hosts: process.platform === 'win32' ? `${process.env.SystemRoot ?? 'C:\\Windows'}\\System32\\drivers\\etc\\hosts` : '/etc/hosts',
  resolvConf: '/etc/resolv.conf',
};

/** The parsed files, each re-read when older than SYSTEM_FILES_TTL_MS. */
export interface SystemFiles {
  hosts(): HostsTable;
  resolvConf(): { search: SearchConfig };
}

const shared = new Map<string, SystemFiles>();

/** One cache per pair of paths, shared by every lookup of the process. */
export function systemFiles(paths: SystemFilePaths = SYSTEM_FILE_PATHS, now: () => number = Date.now): SystemFiles {
  const key = `${paths.hosts}\0${paths.resolvConf}`;
  let files = shared.get(key);
  if (!files) {
    files = {
      hosts: cachedFile(paths.hosts, parseHosts, now),
      resolvConf: cachedFile(paths.resolvConf, (text) => ({ search: parseResolvConf(text) }), now),
    };
    shared.set(key, files);
  }
  return files;
}
