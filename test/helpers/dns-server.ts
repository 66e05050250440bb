/**
 * A tiny authoritative DNS server over UDP (node:dgram) on 127.0.0.1, port 0, answering from a zone given as
 * data, with the wire format built here (RFC 1035 4.1): for MX routing tests against node:dns's real resolver
 * (c-ares) without touching the machine's DNS.
 *
 * - MX, A, AAAA and CNAME records; a CNAME is answered as real servers do: the CNAME record, then the target's
 *   records of the asked type (chains followed inside the zone, up to 8 links).
 * - A name not in the zone (or a CNAME target not in it) is NXDOMAIN; a known name without the asked type is
 *   NODATA (NOERROR, empty answer section).
 * - Per name: `delayMs` (answer late), `drop` (never answer: a timeout), `rcode` (SERVFAIL, REFUSED).
 *   Server-wide: `setDropAll(true)` (a dead server that still swallows packets).
 * - Every query is logged (name, type, what was answered) for assertions on what the client asked.
 *
 * Answers use name compression only for the question name (a pointer to offset 12); everything else is written
 * uncompressed. TC is never set: tests keep answers small.
 */
import dgram from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { track, untrack } from './cleanup.js';

export interface ZoneEntry {
  /** MX records as [preference, exchange]; exchange "." is a null MX (RFC 7505). */
  mx?: readonly (readonly [number, string])[];
  a?: readonly string[];
  aaaa?: readonly string[];
  /** This name is an alias; it then has no other records (RFC 1034 3.6.2). */
  cname?: string;
  /** Answer this name's queries after this many milliseconds. */
  delayMs?: number;
  /** Never answer queries for this name. */
  drop?: boolean;
  /** Answer with this error instead of the records. */
  rcode?: 'SERVFAIL' | 'REFUSED';
  /** TTL of its records (default 60 s). */
  ttl?: number;
}

/** Owner name (case-insensitive, trailing dot optional) → its records. */
export type Zone = Record<string, ZoneEntry>;

export type RcodeName = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';

export interface QueryLogEntry {
  /** As asked, lower-cased, without the trailing dot. */
  name: string;
  /** 'A', 'AAAA', 'MX', 'CNAME', ... or 'TYPE<n>'. */
  type: string;
  /** What the server answered; null when it did not answer (dropped). */
  rcode: RcodeName | null;
  /** Number of answer records sent. */
  answers: number;
  /** Milliseconds since the server started. */
  at: number;
}

export interface DnsServer {
  port: number;
  /** "127.0.0.1:PORT", as node:dns setServers and --dns-server take it. */
  address: string;
  log: QueryLogEntry[];
  /** Replace the zone (later queries see the new data). */
  setZone(zone: Zone): void;
  /** Swallow every query (true) or answer again (false). */
  setDropAll(drop: boolean): void;
  /** Queries for `name` (any type, or one type). */
  queriesFor(name: string, type?: string): QueryLogEntry[];
  close(): Promise<void>;
}

const TYPES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 41: 'OPT', 255: 'ANY' };
const TYPE_CODE = { A: 1, CNAME: 5, MX: 15, AAAA: 28 } as const;
const RCODES: Record<RcodeName, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const CLASS_IN = 1;
const MAX_CHAIN = 8;

export const normalizeName = (name: string): string => name.toLowerCase().replace(/\.$/, '');

export async function startDnsServer(initial: Zone = {}): Promise<DnsServer> {
  let zone = normalizeZone(initial);
  let dropAll = false;
  const log: QueryLogEntry[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const started = Date.now();
  const socket = dgram.createSocket('udp4');

  socket.on('message', (msg, rinfo) => {
    const q = parseQuery(msg);
    if (!q) return; // not a query we can even echo: ignore, as servers do with garbage
    const entry: QueryLogEntry = { name: normalizeName(q.name), type: TYPES[q.qtype] ?? `TYPE${q.qtype}`, rcode: null, answers: 0, at: Date.now() - started };
    log.push(entry);
    const own = zone.get(entry.name);
    if (dropAll || own?.drop) return;
    const { rcode, answers } = q.opcode !== 0 ? { rcode: 'NOTIMP' as const, answers: [] } : answer(zone, q.name, q.qtype, q.qclass);
    entry.rcode = rcode;
    entry.answers = answers.length;
    const reply = buildResponse(q, rcode, answers);
    const send = (): void => socket.send(reply, rinfo.port, rinfo.address, () => undefined);
    if (own?.delayMs) {
      const t = setTimeout(() => {
        timers.delete(t);
        send();
      }, own.delayMs);
      timers.add(t);
    } else send();
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => undefined);
  const port = socket.address().port;

  const server: DnsServer = {
    port,
    address: `127.0.0.1:${port}`,
    log,
    setZone(z) {
      zone = normalizeZone(z);
    },
    setDropAll(drop) {
      dropAll = drop;
    },
    queriesFor(name, type) {
      const n = normalizeName(name);
      return log.filter((e) => e.name === n && (type === undefined || e.type === type));
    },
    async close() {
      untrack(server);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve(); // already closed
        }
      });
    },
  };
  return track(server);
}

function normalizeZone(z: Zone): Map<string, ZoneEntry> {
  const m = new Map<string, ZoneEntry>();
  for (const [name, e] of Object.entries(z)) m.set(normalizeName(name), e);
  return m;
}

// ---------------------------------------------------------------------------------------------------------
// Answering

interface Rr {
  name: string;
  type: number;
  ttl: number;
  rdata: Buffer;
}

function answer(zone: Map<string, ZoneEntry>, qname: string, qtype: number, qclass: number): { rcode: RcodeName; answers: Rr[] } {
  if (qclass !== CLASS_IN && qclass !== 255) return { rcode: 'REFUSED', answers: [] };
  const answers: Rr[] = [];
  let name = normalizeName(qname);
  for (let hops = 0; ; hops++) {
    const e = zone.get(name);
    if (!e) return { rcode: 'NXDOMAIN', answers };
    if (e.rcode) return { rcode: e.rcode, answers };
    const ttl = e.ttl ?? 60;
    // The owner name of the first record is the question's name as asked (case preserved, as servers echo it).
    const owner = hops === 0 ? qname.replace(/\.$/, '') : name;
    if (e.cname !== undefined && qtype !== TYPE_CODE.CNAME) {
      answers.push({ name: owner, type: TYPE_CODE.CNAME, ttl, rdata: encodeName(e.cname) });
      if (hops + 1 >= MAX_CHAIN) return { rcode: 'SERVFAIL', answers: [] };
      name = normalizeName(e.cname);
      continue;
    }
    answers.push(...recordsOf(e, owner, qtype, ttl));
    return { rcode: 'NOERROR', answers };
  }
}

function recordsOf(e: ZoneEntry, owner: string, qtype: number, ttl: number): Rr[] {
  const out: Rr[] = [];
  const want = (t: number): boolean => qtype === t || qtype === 255;
  if (want(TYPE_CODE.CNAME) && e.cname !== undefined) out.push({ name: owner, type: TYPE_CODE.CNAME, ttl, rdata: encodeName(e.cname) });
  if (want(TYPE_CODE.MX)) {
    for (const [pref, exchange] of e.mx ?? []) {
      const p = Buffer.alloc(2);
      p.writeUInt16BE(pref);
      out.push({ name: owner, type: TYPE_CODE.MX, ttl, rdata: Buffer.concat([p, encodeName(exchange)]) });
    }
  }
  if (want(TYPE_CODE.A)) for (const ip of e.a ?? []) out.push({ name: owner, type: TYPE_CODE.A, ttl, rdata: ipv4Bytes(ip) });
  if (want(TYPE_CODE.AAAA)) for (const ip of e.aaaa ?? []) out.push({ name: owner, type: TYPE_CODE.AAAA, ttl, rdata: ipv6Bytes(ip) });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Wire format (RFC 1035 4.1)

interface Query {
  id: number;
  opcode: number;
  rd: boolean;
  name: string;
  qtype: number;
  qclass: number;
  /** The question section's bytes as received, echoed back verbatim. */
  question: Buffer;
}

/** The header and first question of a query, or null when the packet is not one. */
export function parseQuery(msg: Buffer): Query | null {
  if (msg.length < 12) return null;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return null; // a response, not a query
  if (msg.readUInt16BE(4) < 1) return null;
  const read = readName(msg, 12);
  if (!read || read.end + 4 > msg.length) return null;
  return {
    id: msg.readUInt16BE(0),
    opcode: (flags >> 11) & 0xf,
    rd: (flags & 0x0100) !== 0,
    name: read.name,
    qtype: msg.readUInt16BE(read.end),
    qclass: msg.readUInt16BE(read.end + 2),
    question: msg.subarray(12, read.end + 4),
  };
}

/** A (possibly compressed) name at `offset`: its dotted text and where the name ends in the packet. */
export function readName(msg: Buffer, offset: number): { name: string; end: number } | null {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  for (let jumps = 0; jumps < 32; ) {
    if (pos >= msg.length) return null;
    const len = msg[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      return { name: labels.join('.'), end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) return null;
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | msg[pos + 1]!;
      jumps++;
      continue;
    }
    if (len & 0xc0 || pos + 1 + len > msg.length) return null;
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return null; // a pointer loop
}

/** A name as length-prefixed labels ending in the root; "." and "" are the root itself. */
export function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, '');
  if (trimmed === '') return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of trimmed.split('.')) {
    const b = Buffer.from(label, 'latin1');
    if (b.length === 0 || b.length > 63) throw new Error(`bad DNS label in "${name}"`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function buildResponse(q: Query, rcode: RcodeName, answers: Rr[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  // QR=1, the query's opcode, AA=1, RD copied, RA=0, the rcode.
  header.writeUInt16BE(0x8000 | (q.opcode << 11) | 0x0400 | (q.rd ? 0x0100 : 0) | RCODES[rcode], 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(0, 10);
  const qnameLower = normalizeName(q.name);
  const rrs = answers.map((rr) => {
    // Compression: an owner equal to the question's name points at it (offset 12).
    const owner = normalizeName(rr.name) === qnameLower ? Buffer.from([0xc0, 12]) : encodeName(rr.name);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(rr.type, 0);
    fixed.writeUInt16BE(CLASS_IN, 2);
    fixed.writeUInt32BE(rr.ttl, 4);
    fixed.writeUInt16BE(rr.rdata.length, 8);
    return Buffer.concat([owner, fixed, rr.rdata]);
  });
  return Buffer.concat([header, q.question, ...rrs]);
}

function ipv4Bytes(ip: string): Buffer {
  if (!isIPv4(ip)) throw new Error(`not an IPv4 address: ${ip}`);
  return Buffer.from(ip.split('.').map(Number));
}

function ipv6Bytes(ip: string): Buffer {
  if (!isIPv6(ip)) throw new Error(`not an IPv6 address: ${ip}`);
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups first.
  const text = ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const gap = text.indexOf('::');
  const all =
    gap < 0
      ? groups(text)
      : ((h, r) => [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r])(groups(text.slice(0, gap)), groups(text.slice(gap + 2)));
  if (all.length !== 8) throw new Error(`cannot encode IPv6 address ${ip}`);
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
