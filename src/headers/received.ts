/**
 * RFC 5321 4.4 Received ("time-stamp line"), read the way real MTAs write it: clauses in any order or missing,
 * comments anywhere (nested), multi-word `with`/`via` values (Exchange's "Microsoft SMTP Server", "Frontend
 * Transport"), extra unregistered clauses (Exim's "tls ..."), a stamp that is only a comment (qmail's "(qmail 123
 * invoked by uid 89)"), and the date after the last ";" outside comments.
 */

import { isIP } from 'node:net';
import { mailDateToIso } from './date.js';
import { lexStructured, unquote, type Token } from './lexer.js';
import { cleanField } from './text.js';
import type { ReceivedFields } from '../core/headers.js';

/** Only this much of a Received value is read. */
export const MAX_RECEIVED_CHARS = 16_384;

type Clause = 'from' | 'by' | 'via' | 'with' | 'id' | 'for';
const CLAUSES: ReadonlySet<string> = new Set<Clause>(['from', 'by', 'via', 'with', 'id', 'for']);
/** Clauses whose value may run over several words until a comment, a keyword or ";". */
const MULTI_WORD: ReadonlySet<Clause> = new Set<Clause>(['with', 'via']);
const MAX_VALUE_WORDS = 4;
/** A registered protocol name (RFC 3848 "ESMTPSA", Exim "esmtpsa", "local", "HTTP"): a complete `with` value. */
const PROTOCOL = /smtp|lmtp|http|imap|pop3|mapi|^local/i;

interface Open {
  clause: Clause;
  words: string[];
  /** False once a comment or a word that cannot belong to the value went by. */
  open: boolean;
}

/** The clauses of one Received value. Missing or unreadable parts are null; never throws. */
export function parseReceived(value: string): ReceivedFields {
  const text = typeof value === 'string' ? value.slice(0, MAX_RECEIVED_CHARS) : '';
  const { stamp, dateText } = splitDate(text);
  const found = new Map<Clause, string>();
  const fromComments: string[] = [];
  let current: Open | null = null;
  const close = (): void => {
    if (current && current.words.length > 0 && !found.has(current.clause)) {
      found.set(current.clause, current.words.join(' '));
    }
    current = null;
  };
  for (const token of stamp) {
    if (token.kind === 'comment') {
      if (current?.clause === 'from') fromComments.push(token.text);
      if (current) current.open = false;
      continue;
    }
    const word = token.text;
    const lower = word.toLowerCase();
    if (CLAUSES.has(lower)) {
      close();
      current = { clause: lower as Clause, words: [], open: true };
    } else if (current && current.open && accepts(current, word)) {
      current.words.push(word);
    } else if (current) {
      current.open = false;
    }
  }
  close();
  return {
    from: cleanField(found.get('from')),
    by: cleanField(found.get('by')),
    via: cleanField(found.get('via')),
    with: cleanField(found.get('with')),
    id: cleanField(stripAngles(found.get('id'))),
    for: cleanField(stripAngles(found.get('for')?.replace(/,$/, ''))),
    fromIp: findIp([found.get('from') ?? '', ...fromComments]),
    date: dateText === null ? null : mailDateToIso(dateText),
  };
}

function accepts(c: Open, word: string): boolean {
  if (c.words.length === 0) return true;
  const first = c.words[0] ?? '';
  return MULTI_WORD.has(c.clause) && c.words.length < MAX_VALUE_WORDS && !PROTOCOL.test(first);
}

/**
 * The stamp's tokens and the text after the last ";" outside comments. When every ";" is inside a comment (an
 * unclosed "(" swallowed the rest), the last ";" of all is used, as the RFC's grammar would place it.
 */
function splitDate(text: string): { stamp: Token[]; dateText: string | null } {
  const tokens = lexStructured(text);
  let last = -1;
  for (let i = tokens.length - 1; i >= 0; i -= 1) {
    if (tokens[i]?.kind === 'semi') {
      last = i;
      break;
    }
  }
  const semi = last >= 0 ? tokens[last] : undefined;
  if (semi) return { stamp: tokens.slice(0, last).filter((t) => t.kind !== 'semi'), dateText: text.slice(semi.end) };
  const raw = text.lastIndexOf(';');
  if (raw === -1) return { stamp: tokens, dateText: null };
  return { stamp: lexStructured(text.slice(0, raw)).filter((t) => t.kind !== 'semi'), dateText: text.slice(raw + 1) };
}

function stripAngles(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const u = unquote(v);
  return u.startsWith('<') && u.endsWith('>') ? u.slice(1, -1) : u;
}

/** The first IP address among the words of `texts`: "[192.0.2.1]", "(1.2.3.4)", "[IPv6:2001:db8::1]", "user@192.0.2.7". */
function findIp(texts: readonly string[]): string | null {
  for (const text of texts) {
    for (const part of text.slice(0, 1024).split(/[\s[\]()<>@=,;"]+/)) {
      const candidate = part.replace(/^ipv6:/i, '');
      if (candidate.length <= 45 && isIP(candidate) !== 0) return candidate.toLowerCase();
    }
  }
  return null;
}
