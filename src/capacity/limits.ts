import { isIP } from 'node:net';
import { DEFAULTS } from '../plan/defaults.js';

/**
 * How hard a capacity run may push, by where it points. A loopback address is our own machine: up to
 * DEFAULTS.capacity.maxLoopbackSessions at once, at any rate. Anything else is someone's mail server: at most
 * DEFAULTS.capacity.maxSessions, and without `--allow-remote` (asked for on purpose) 3 sessions and 1 session
 * started per second, which for sessions shorter than a second means about one at a time.
 */

/** 127.0.0.0/8, ::1, and IPv4-mapped 127.x (::ffff:127.0.0.1) in any spelling, with or without a zone (%eth0). */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return address.startsWith('127.');
  if (family !== 6) return false;
  // The URL parser writes an IPv6 address in its one canonical form (::1, ::ffff:7f00:1); it takes no zone id.
  const canonical = new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}

/** A name is loopback when every address it resolves to is (one that is not would be reached by someone). */
export function allLoopback(addresses: readonly string[]): boolean {
  return addresses.length > 0 && addresses.every(isLoopbackAddress);
}

export interface CapacityLimits {
  maxSessions: number;
  /** Sessions started per second at most; null: no limit beyond DEFAULTS.capacity.maxRatePerSecond. */
  maxRatePerSecond: number | null;
  /** The rate when none is asked for; null: a new session as soon as one ends. */
  defaultRatePerSecond: number | null;
}

export function capacityLimits(loopback: boolean, allowRemote: boolean): CapacityLimits {
  const c = DEFAULTS.capacity;
  if (loopback) return { maxSessions: c.maxLoopbackSessions, maxRatePerSecond: null, defaultRatePerSecond: null };
  if (allowRemote) return { maxSessions: c.maxSessions, maxRatePerSecond: null, defaultRatePerSecond: null };
  return { maxSessions: c.remoteSessions, maxRatePerSecond: c.remoteRatePerSecond, defaultRatePerSecond: c.remoteRatePerSecond };
}
