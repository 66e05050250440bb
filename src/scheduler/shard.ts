import { sha256 } from './hash.js';

/** `--shard K/N`: this instance probes the targets whose shard is K, out of N. */
export interface Shard {
  k: number;
  n: number;
}

/** README (`--shard K/N`): a target belongs to shard sha256(target name), as one 256-bit unsigned integer, mod N. */
export function shardOf(key: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`shard count must be an integer >= 1, got ${n}`);
  if (n === 1) return 0;
  return Number(BigInt(`0x${sha256(key).toString('hex')}`) % BigInt(n));
}

export function inShard(key: string, k: number, n: number): boolean {
  if (!Number.isSafeInteger(k) || k < 0 || k >= n) throw new RangeError(`shard ${k} is not in 0..${n - 1}`);
  return shardOf(key, n) === k;
}

/** The items (targets by name) this instance runs: all of them without a shard. */
export function ownOf<T extends { name: string }>(items: readonly T[], shard: Shard | null | undefined): T[] {
  return shard ? items.filter((t) => inShard(t.name, shard.k, shard.n)) : [...items];
}

/** Parses `K/N` (K in 0..N-1, N >= 1). Returns the shard, or an error message in the style of parseDuration. */
export function parseShard(text: string): Shard | string {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return `"${text}" is not a shard: expected K/N, like 0/3`;
  const k = Number(m[1]);
  const n = Number(m[2]);
  if (!Number.isSafeInteger(n) || n < 1) return `"${text}": N must be at least 1`;
  if (!Number.isSafeInteger(k) || k >= n) return `"${text}": K must be in 0..${n - 1}`;
  return { k, n };
}
