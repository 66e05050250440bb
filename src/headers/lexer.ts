/**
 * A small lexer for structured header values (Received, Authentication-Results): words, comments and ";", with
 * RFC 5322 3.2.2 comments (nested, quoted-pairs) and quoted-strings. One linear pass with no backtracking, so hostile
 * input (deep nesting, an unclosed "(" or '"') costs time proportional to its length and never throws.
 */

export type TokenKind = 'word' | 'comment' | 'semi';

export interface Token {
  kind: TokenKind;
  /** A word as written (quotes kept); a comment's content without its outer parentheses; ";" for semi. */
  text: string;
  /** Offsets in the lexed string: text after the token starts at `end`. */
  start: number;
  end: number;
}

const SP = 0x20;
const TAB = 0x09;
const LPAREN = 0x28;
const RPAREN = 0x29;
const SEMI = 0x3b;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

export function lexStructured(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === SP || c === TAB || c === RPAREN) {
      i += 1; // whitespace, or a ")" that closes nothing
    } else if (c === SEMI) {
      tokens.push({ kind: 'semi', text: ';', start: i, end: i + 1 });
      i += 1;
    } else if (c === LPAREN) {
      const end = skipComment(s, i);
      tokens.push({ kind: 'comment', text: s.slice(i + 1, s.charCodeAt(end - 1) === RPAREN ? end - 1 : end), start: i, end });
      i = end;
    } else {
      const end = skipWord(s, i);
      tokens.push({ kind: 'word', text: s.slice(i, end), start: i, end });
      i = end;
    }
  }
  return tokens;
}

/** Index just past the comment opening at `i` (or the end of `s` when it never closes). */
function skipComment(s: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === BACKSLASH) j += 1;
    else if (c === LPAREN) depth += 1;
    else if (c === RPAREN) {
      depth -= 1;
      if (depth === 0) return j + 1;
    }
    j += 1;
  }
  return s.length;
}

/** Index just past the word starting at `i`; quoted-strings inside a word may hold spaces, "(" and ";". */
function skipWord(s: string, i: number): number {
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === SP || c === TAB || c === LPAREN || c === RPAREN || c === SEMI) return j;
    if (c === DQUOTE) j = skipQuoted(s, j);
    else j += 1;
  }
  return j;
}

function skipQuoted(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === BACKSLASH) j += 2;
    else if (c === DQUOTE) return j + 1;
    else j += 1;
  }
  return Math.min(j, s.length);
}

/** A quoted-string's content (quotes removed, quoted-pairs resolved); anything else unchanged. */
export function unquote(word: string): string {
  if (word.length < 2 || !word.startsWith('"')) return word;
  const inner = word.endsWith('"') ? word.slice(1, -1) : word.slice(1);
  return inner.replace(/\\(.)/g, '$1');
}
