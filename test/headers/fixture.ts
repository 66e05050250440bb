import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Hop } from '../../src/core/headers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** test/headers/fixtures/NAME.eml exactly as stored (line endings kept). */
export function readFixture(name: string): string {
  return readFileSync(`${FIXTURES}${name}.eml`, 'utf8');
}

/** Hops without `raw`, for exact comparisons. */
export function withoutRaw(hops: readonly Hop[]): Array<Omit<Hop, 'raw'>> {
  return hops.map(({ raw: _raw, ...rest }) => rest);
}

/** A Received header line as Postfix writes it, dated `second` seconds after 03:30:00 UTC. */
export function postfixReceived(n: number, second: number): string {
  const ss = String(second % 60).padStart(2, '0');
  const mm = String(30 + Math.floor(second / 60)).padStart(2, '0');
  return (
    `Received: from relay${n}.probe.test (relay${n}.probe.test [192.0.2.${n % 250}])\r\n` +
    `\tby relay${n + 1}.probe.test (Postfix) with ESMTPS id Q${n}\r\n` +
    `\tfor <probe@probe.test>; Thu, 26 Nov 2026 03:${mm}:${ss} +0000 (UTC)\r\n`
  );
}

/** A Received header of about 100,000 characters: a huge from, 25,000 unbalanced "(" and only then the date. */
export function hugeReceived(): string {
  const from = 'a'.repeat(50_000);
  const parens = `${'('.repeat(25_000)}${')'.repeat(24_990)}`;
  return `Received: from ${from} (${parens} by huge.test; Thu, 26 Nov 2026 03:30:00 +0000\r\n`;
}

/** `count` Postfix Received headers, newest (relay`count`) on top, one more second every 100 hops. */
export function manyReceived(count: number): string {
  const lines: string[] = [];
  for (let i = count; i >= 1; i -= 1) lines.push(postfixReceived(i, Math.floor(i / 100)));
  return lines.join('');
}

/**
 * The hostile message: the 100,000-character Received on top of 10,000 Received headers, then the usual fields.
 * Built here rather than stored: as a file it would be 1.7 MB nobody can read or diff.
 */
export function hostileMessage(): string {
  return `${hugeReceived()}${manyReceived(10_000)}Date: Thu, 26 Nov 2026 03:29:00 +0000\r\nSubject: hostile\r\n\r\nbody\r\n`;
}
