import { createHash } from 'node:crypto';

/** sha256 of the key's UTF-8 bytes. */
export function sha256(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * A job's fixed place inside its interval: the first 8 bytes of sha256(key), read as an unsigned big-endian
 * integer, mod the interval (whole milliseconds). Depends on nothing but the key and the interval, so every
 * restart and every instance puts the same key at the same offset, and many keys spread evenly over the interval.
 */
export function slotOffset(key: string, intervalMs: number): number {
  if (!(intervalMs >= 1) || !Number.isFinite(intervalMs)) {
    throw new RangeError(`interval must be a finite number of milliseconds >= 1, got ${intervalMs}`);
  }
  return Number(sha256(key).readBigUInt64BE(0) % BigInt(Math.floor(intervalMs)));
}
