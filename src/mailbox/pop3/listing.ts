/**
 * Which messages a POP3 view looks at: the newest `max` of the maildrop (RFC 1939 numbers them 1..STAT's count,
 * oldest first), with their unique-ids (UIDL), newest first. Nothing more than that window is ever held, however
 * many messages the server lists: UIDL's lines are read one by one and only the window's are kept.
 *
 * A later view of the same maildrop (a poll) does not read the listing again when it can tell nothing moved:
 * numbers only shift down when a message below is deleted, so when the last view's highest number still has the
 * same unique-id, every number up to it still means the same message, and only the new ones above it are asked
 * for (`UIDL n`, pipelined when the server offers it).
 */
import { ProbeError } from '../../core/errors.js';
import { MAILBOX_PHASE as PHASE } from '../policy.js';
import type { ProbeFields } from '../probe-message.js';
import type { Pop3Connection } from './connection.js';
import type { Pop3Reply } from './framing.js';

/** One message of a view: its number there and its unique-id (null: unknown, the server has no UIDL). */
export interface Listed {
  n: number;
  uid: string | null;
}

/** The window of a view, kept for the next view of the same maildrop. */
interface ListedWindow {
  /** STAT's count when it was listed: the highest number. */
  top: number;
  uids: Map<number, string>;
}

/** What a client remembers of one maildrop between its views and sessions. */
export interface Remembered {
  /** Probe headers by unique-id, so a message's headers are read once. */
  fields: Map<string, ProbeFields>;
  window: ListedWindow | null;
  /** False once the server refused UIDL: numbers only from then on. */
  uidl: boolean;
}

export function newMemory(): Remembered {
  return { fields: new Map(), window: null, uidl: true };
}

/** RFC 1939 7: a unique-id is 1 to 70 characters 0x21-0x7e. */
const UID = /^[\x21-\x7e]{1,70}$/;
/** More new messages than this since the last view: one UIDL of the whole maildrop is cheaper. */
const MAX_ASKED_ONE_BY_ONE = 200;
/** Longest UIDL line: a 9-digit number, a space, a 70-character unique-id, CRLF. */
const MAX_UIDL_LINE = 82;

/** The window of this view, newest first, and remembered for the next one. */
export async function listWindow(conn: Pop3Connection, memory: Remembered, max: number, pipelining: boolean, limit: number): Promise<Listed[]> {
  const count = await stat(conn);
  const lo = Math.max(1, count - max + 1);
  let uids = new Map<number, string>();
  if (count > 0 && memory.uidl) {
    const kept = await unchangedUpTo(conn, memory.window, count);
    const listed = kept ? await addNew(conn, kept, lo, count, pipelining) : await listAll(conn, lo, count, limit);
    if (listed) uids = listed;
    else memory.uidl = false;
  }
  memory.window = uids.size > 0 ? { top: count, uids } : null;
  const out: Listed[] = [];
  for (let n = count; n >= lo; n -= 1) out.push({ n, uid: uids.get(n) ?? null });
  return out;
}

/** STAT (RFC 1939 5): how many messages the maildrop holds for this view. */
async function stat(conn: Pop3Connection): Promise<number> {
  const r = await conn.request('STAT', false);
  if (!r.ok) throw new ProbeError('reply', PHASE, `STAT refused: -ERR ${conn.cleanText(r.text)}`);
  const m = /^(\d{1,9})\s+\d{1,15}/.exec(r.text);
  if (!m) throw new ProbeError('protocol', PHASE, `unreadable STAT answer: "+OK ${conn.cleanText(r.text)}"`);
  return Number(m[1]);
}

/** The last window's UIDs when its highest number still holds the same message (and not many came since). */
async function unchangedUpTo(conn: Pop3Connection, last: ListedWindow | null, count: number): Promise<Map<number, string> | null> {
  if (!last || last.top > count || count - last.top > MAX_ASKED_ONE_BY_ONE) return null;
  const uid = last.uids.get(last.top);
  if (uid === undefined) return null;
  return oneUid(await conn.request(`UIDL ${last.top}`, false), last.top) === uid ? last.uids : null;
}

/** The kept UIDs still in the window, and `UIDL n` for each number above the last view's. */
async function addNew(conn: Pop3Connection, kept: Map<number, string>, lo: number, count: number, pipelining: boolean): Promise<Map<number, string>> {
  const uids = new Map<number, string>();
  let top = lo - 1;
  for (const [n, uid] of kept) {
    if (n >= lo) uids.set(n, uid);
    top = Math.max(top, n);
  }
  const fresh: number[] = [];
  for (let n = Math.max(top + 1, lo); n <= count; n += 1) fresh.push(n);
  const pipelined = pipelining ? conn.pipeline(fresh.map((n) => ({ line: `UIDL ${n}`, multi: false }))) : null;
  for (const [i, n] of fresh.entries()) {
    const uid = oneUid(await (pipelined ? pipelined[i]! : conn.request(`UIDL ${n}`, false)), n);
    if (uid !== null) uids.set(n, uid);
  }
  return uids;
}

/**
 * UIDL of the whole maildrop, read line by line; only the window's lines are kept. Null when refused. Nothing is
 * held, so the answer may be as long as STAT's count of messages makes it (the deadline bounds the time).
 */
async function listAll(conn: Pop3Connection, lo: number, count: number, limit: number): Promise<Map<number, string> | null> {
  const uids = new Map<number, string>();
  let bad: string | null = null;
  const r = await conn.request('UIDL', true, 'UIDL', Math.max(limit, count * MAX_UIDL_LINE), (line) => {
    const m = /^\s*(\d{1,9})\s+(\S+)/.exec(line.toString('latin1'));
    if (!m) bad ??= line.subarray(0, 200).toString('utf8');
    else if (Number(m[1]) >= lo && Number(m[1]) <= count && UID.test(m[2]!)) uids.set(Number(m[1]), m[2]!);
  });
  if (bad !== null) throw new ProbeError('protocol', PHASE, `unreadable UIDL line: "${conn.cleanText(bad)}"`);
  return r.ok ? uids : null;
}

/** The unique-id of `+OK n uid`, or null. */
function oneUid(r: Pop3Reply, n: number): string | null {
  if (!r.ok) return null;
  const m = /^\s*(\d{1,9})\s+(\S+)/.exec(r.text);
  return m && Number(m[1]) === n && UID.test(m[2]!) ? m[2]! : null;
}
