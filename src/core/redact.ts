/**
 * Secrets kept out of every string that leaves a session (error messages, reply text, transcripts, warnings).
 * A server may echo what the client sent, and not always whole: inside a malformed line, split across the lines
 * of a reply, broken by a control byte, or cut where a quote is truncated. So text is masked before it is quoted
 * or cut (`quote`), the lines of one reply are masked as one text (`maskLines`), and beyond whole secrets a
 * masker hides any run of SECRET_RUN characters of a secret, and an encoded secret's start at the end of a line
 * or its end at the start of one (from SECRET_EDGE characters).
 */
import { quoteBytes } from './bytes.js';

/** A run of this many characters of a secret is masked wherever it appears. */
export const SECRET_RUN = 8;
/** An encoded secret's first (last) characters, from this many, are masked at the end (start) of a line. */
export const SECRET_EDGE = 4;

const MASK = '***';
/** Rolling hash of SECRET_RUN characters (mod 2^32), so a scan makes no string per position. */
const HASH_BASE = 0x01000193;
const HASH_TOP = Array.from({ length: SECRET_RUN - 1 }).reduce<number>((p) => Math.imul(p, HASH_BASE), 1);
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/**
 * A value to keep out of text. A string is secret in every part: masked whole and by runs. A `{ whole, core }` is
 * an encoded form (base64, which a server may wrap or cut): masked whole, and its `core`, the part that carries
 * the password, also by runs and by edges at line ends. Only the core: the base64 of a SASL string also holds the
 * username (no secret, and a server's own base64, a CRAM-MD5 challenge naming the same domain, may share runs
 * with it). Edges are for encoded forms only: a plain password's first letters may well end a banner line.
 */
export type Secret = string | { whole: string; core: string };

/** The base64 of `pre + password + post`, its core the characters that carry bits of the password. */
function encoded(pre: string, password: string, post: string): Secret {
  const whole = b64(pre + password + post);
  const start = Buffer.byteLength(pre);
  const end = start + Buffer.byteLength(password);
  return { whole, core: whole.slice(Math.floor((8 * start) / 6), Math.floor((8 * end - 1) / 6) + 1) };
}

/**
 * Every form a password takes on the wire of a login: the password itself (POP3 PASS, IMAP LOGIN, XOAUTH2's
 * token), its base64 (AUTH LOGIN), and the base64 of the SASL PLAIN string (RFC 4616, with and without the
 * authzid) and of the XOAUTH2 string. The raw PLAIN and XOAUTH2 strings need no entry: the password in them is
 * masked, and the username around it is no secret.
 */
export function credentialSecrets(username: string, password: string): Secret[] {
  if (password === '') return [];
  return [
    password,
    encoded('', password, ''),
    encoded(`\0${username}\0`, password, ''),
    encoded(`${username}\0${username}\0`, password, ''),
    encoded(`user=${username}\x01auth=Bearer `, password, '\x01\x01'),
  ];
}

interface Entry {
  whole: string;
  core: string;
  /** Encoded: the core's start ending a line (its end starting one) is masked too. */
  edges: boolean;
}

/** The secrets of one session, and the masking of text by them. Empty values are ignored. */
export class Redactor {
  private readonly entries: Entry[] = [];
  /** Every SECRET_RUN-character run of the cores, and the runs' hashes (the scan looks these up first). */
  private readonly runs = new Set<string>();
  private readonly runHashes = new Set<number>();
  /** The hashes' low 16 bits: most positions are passed over on one array read. */
  private readonly runFilter = new Uint8Array(1 << 16);

  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** Also the Latin-1 view of each value's UTF-8 bytes, as raw bytes are quoted (`quoteBytes` of a Buffer). */
  add(values: readonly Secret[]): void {
    for (const v of values) {
      const { whole, core } = typeof v === 'string' ? { whole: v, core: v } : v;
      const edges = typeof v !== 'string';
      const latin1 = (t: string): string => Buffer.from(t, 'utf8').toString('latin1');
      for (const e of [{ whole, core, edges }, { whole: latin1(whole), core: latin1(core), edges }]) {
        if (e.core.length === 0 || this.entries.some((x) => x.whole === e.whole && x.core === e.core && x.edges === e.edges)) continue;
        this.entries.push(e);
        for (let i = 0; i + SECRET_RUN <= e.core.length; i += 1) {
          const run = e.core.slice(i, i + SECRET_RUN);
          this.runs.add(run);
          const h = runHash(run);
          this.runHashes.add(h);
          this.runFilter[h & 0xffff] = 1;
        }
      }
    }
  }

  /** `text` with every secret, run of one and edge of one replaced by `***`. */
  mask(text: string): string {
    return this.maskLines([text])[0]!;
  }

  /** The lines of one reply masked as one text, so a secret split across lines is masked in each. */
  maskLines(lines: readonly string[]): string[] {
    if (this.entries.length === 0) return [...lines];
    const joined = lines.join('');
    const hidden = new Uint8Array(joined.length);
    this.markWhole(joined, hidden);
    let at = 0;
    for (const line of lines) {
      this.markEdges(line, at, hidden);
      at += line.length;
    }
    at = 0;
    return lines.map((line) => {
      const out = render(line, hidden.subarray(at, at + line.length));
      at += line.length;
      return out;
    });
  }

  /** Masked, then quoted (control bytes escaped, cut at `max`): in this order, so no cut or escape hides a secret. */
  quote(input: Buffer | string, max?: number): string {
    return quoteBytes(this.mask(typeof input === 'string' ? input : input.toString('latin1')), max);
  }

  private markWhole(text: string, hidden: Uint8Array): void {
    // A core shorter than a run is masked only within its whole: a few base64 letters alone match too much.
    for (const { whole } of this.entries) {
      for (let i = text.indexOf(whole); i >= 0; i = text.indexOf(whole, i + 1)) hidden.fill(1, i, i + whole.length);
    }
    if (this.runs.size === 0) return;
    // The rolling hash of runHash(), inline: this loop sees every character of every reply.
    let h = 0;
    for (let i = 0; i < text.length; i += 1) {
      if (i >= SECRET_RUN) h = (h - Math.imul(text.charCodeAt(i - SECRET_RUN), HASH_TOP)) | 0;
      h = (Math.imul(h, HASH_BASE) + text.charCodeAt(i)) | 0;
      if (i < SECRET_RUN - 1 || !this.runFilter[h & 0xffff]) continue;
      if (this.runHashes.has(h) && this.runs.has(text.slice(i + 1 - SECRET_RUN, i + 1))) {
        hidden.fill(1, i + 1 - SECRET_RUN, i + 1);
      }
    }
  }

  /** A secret's start ending the line, its end starting it: the halves of a secret cut by a line break. */
  private markEdges(line: string, offset: number, hidden: Uint8Array): void {
    for (const { core: s, edges } of this.entries) {
      if (!edges) continue;
      for (let k = Math.min(s.length - 1, line.length); k >= SECRET_EDGE; k -= 1) {
        if (line.endsWith(s.slice(0, k))) {
          hidden.fill(1, offset + line.length - k, offset + line.length);
          break;
        }
      }
      for (let k = Math.min(s.length - 1, line.length); k >= SECRET_EDGE; k -= 1) {
        if (line.startsWith(s.slice(s.length - k))) {
          hidden.fill(1, offset, offset + k);
          break;
        }
      }
    }
  }
}

/** The hash of a SECRET_RUN-character run, as the scan in markWhole rolls it. */
function runHash(run: string): number {
  let h = 0;
  for (let i = 0; i < run.length; i += 1) h = (Math.imul(h, HASH_BASE) + run.charCodeAt(i)) | 0;
  return h;
}

/** Each run of hidden characters becomes one `***`. */
function render(text: string, hidden: Uint8Array): string {
  if (!hidden.includes(1)) return text;
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    if (!hidden[i]) out += text[i];
    else if (i === 0 || !hidden[i - 1]) out += MASK;
  }
  return out;
}
