/**
 * RFC 8601 Authentication-Results: authserv-id [version] then `; method[/version]=result [reason=...]
 * [ptype.property=value ...]` repeated, or `; none`. Comments (which may hold ";" or "spf=pass" text) are skipped,
 * CFWS around "=" is allowed, values may be quoted. Real-world deviations: Microsoft 365 omits the authserv-id and adds
 * non-dotted properties ("action=none"). Bounded and never throws.
 */

import { lexStructured, unquote, type Token } from './lexer.js';
import { cleanField } from './text.js';
import type { AuthMethodResult, AuthResults } from '../core/headers.js';

const MAX_INPUT_CHARS = 16_384;
const MAX_METHODS = 32;
const MAX_PROPS = 16;
const MAX_RESULT_CHARS = 64;
const KEYWORD = /^[a-z0-9](?:[a-z0-9-]{0,62})$/;
const PROPERTY = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const NAMED = new Set(['spf', 'dkim', 'dmarc']);

export function parseAuthenticationResults(value: string): AuthResults {
  const text = typeof value === 'string' ? value.slice(0, MAX_INPUT_CHARS) : '';
  const segments = splitSegments(lexStructured(text));
  const head = segments[0] ?? [];
  const serviceless = head[0]?.includes('=') ?? false; // Microsoft 365: "spf=pass (...) smtp.mailfrom=...; ..."
  const authservId = serviceless ? null : cleanField(unquote(head[0] ?? ''));
  const methods: AuthMethodResult[] = [];
  for (const words of serviceless ? segments : segments.slice(1)) {
    if (methods.length >= MAX_METHODS) break;
    const parsed = parseResinfo(words);
    if (parsed) methods.push(parsed);
  }
  return {
    authservId,
    spf: selectMethod(methods, 'spf')?.result ?? null,
    dkim: selectMethod(methods, 'dkim')?.result ?? null,
    dmarc: selectMethod(methods, 'dmarc')?.result ?? null,
    other: otherResults(methods),
    methods,
  };
}

/**
 * The result reported for `method`: for dkim (a message may carry several signatures) the first that passed, else the
 * first; for any other method the first.
 */
export function selectMethod(methods: readonly AuthMethodResult[], method: string): AuthMethodResult | null {
  const all = methods.filter((m) => m.method === method);
  if (method === 'dkim') return all.find((m) => m.result === 'pass') ?? all[0] ?? null;
  return all[0] ?? null;
}

/** The words of each ";"-separated part, comments dropped. */
function splitSegments(tokens: readonly Token[]): string[][] {
  const segments: string[][] = [[]];
  for (const t of tokens) {
    if (t.kind === 'semi') {
      if (segments.length > MAX_METHODS + 1) break;
      segments.push([]);
    } else if (t.kind === 'word') segments[segments.length - 1]?.push(t.text);
  }
  return segments;
}

/** One `method=result ...` part; null for `none`, an empty part or one that does not start with method=result. */
function parseResinfo(words: readonly string[]): AuthMethodResult | null {
  const pairs = toPairs(words);
  const first = pairs[0];
  if (!first) return null;
  const method = first[0].split('/')[0]?.trim().toLowerCase() ?? '';
  const result = cleanField(unquote(first[1]).toLowerCase(), MAX_RESULT_CHARS);
  if (!KEYWORD.test(method) || result === null) return null;
  let reason: string | null = null;
  const props = new Map<string, string>();
  for (const [rawKey, rawValue] of pairs.slice(1)) {
    const key = rawKey.toLowerCase();
    const v = cleanField(unquote(rawValue));
    if (key === 'reason') reason ??= v;
    else if (v !== null && PROPERTY.test(key) && !props.has(key) && props.size < MAX_PROPS) props.set(key, v);
  }
  return { method, result, reason, props: Object.fromEntries(props) };
}

/** `key=value` pairs, also when CFWS split them: "key = value", "key =value", "key= value". Stray words are skipped. */
function toPairs(words: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  let i = 0;
  while (i < words.length) {
    let w = words[i] ?? '';
    i += 1;
    const eq = w.indexOf('=');
    if (eq === -1) {
      const next = words[i];
      if (next === undefined || !next.startsWith('=')) continue;
      w += next;
      i += 1;
      if (next === '=') {
        w += words[i] ?? '';
        i += 1;
      }
    } else if (eq === w.length - 1 && i < words.length && !(words[i] ?? '').includes('=')) {
      w += words[i] ?? '';
      i += 1;
    }
    const at = w.indexOf('=');
    if (at > 0) pairs.push([w.slice(0, at), w.slice(at + 1)]);
  }
  return pairs;
}

function otherResults(methods: readonly AuthMethodResult[]): Record<string, string> {
  const other = new Map<string, string>();
  for (const m of methods) {
    if (!NAMED.has(m.method) && !other.has(m.method)) other.set(m.method, m.result);
  }
  return Object.fromEntries(other);
}
