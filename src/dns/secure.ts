/**
 * A small DNS client for the posture checks: one question to one recursive resolver, with DO set (EDNS0, a 1232-byte
 * UDP payload) and RD, so that a validating resolver says in the AD bit whether the answer is DNSSEC-secure.
 * node:dns (c-ares) neither sets DO nor shows AD, and DANE (RFC 7672) trusts a TLSA only when AD is set.
 *
 * UDP first (sent again, same id, at each third of the timeout while no answer came), the same question over TCP
 * when the answer is truncated (TC); one deadline over both, on the injected Clock (and an optional AbortSignal).
 * A random query id from a fresh socket (a random source port); UDP answers from another address or port, with
 * another id or for another question are ignored (RFC 5452), so a stray or spoofed packet cannot end the query.
 * Wire format through `dns-packet`; names are checked before it encodes them. Every expected failure (no answer in
 * time, a garbled or truncated answer, a refused connection, a name that cannot be asked) is a `DnsAnswer` with
 * `error` set, never a rejection. Extended DNS Errors (RFC 8914) say why a validating resolver answered SERVFAIL.
 *
 * The AD bit is only as good as the resolver and the path to it: use a validating resolver on the same host (or a
 * trusted link), as RFC 6698 4.1 and RFC 7672 2.1.1 ask.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as packet from 'dns-packet';
import { quoteBytes } from '../core/bytes.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { deadline } from '../core/deadline.js';
import { normalizeHostName } from './system-files.js';

/** The record types the posture checks ask for. */
export const SECURE_RR_TYPES = ['A', 'AAAA', 'MX', 'TXT', 'TLSA', 'PTR', 'CNAME'] as const;
export type SecureRrType = (typeof SECURE_RR_TYPES)[number];

export interface MxData {
  preference: number;
  /** Lower case, no root dot; "" for a null MX ("."). */
  exchange: string;
}

export interface TlsaData {
  usage: number;
  selector: number;
  matchingType: number;
  /** The certificate association data (a hash, or the full certificate / key for matching type 0). */
  data: Buffer;
}

/** What one record of each type is: addresses and names as text (names lower case, no root dot). */
export interface RecordData {
  A: string;
  AAAA: string;
  MX: MxData;
  /** One record's character-strings joined with nothing between them (RFC 7208 3.3, RFC 8461 3.1). */
  TXT: string;
  TLSA: TlsaData;
  PTR: string;
  CNAME: string;
}

/** RFC 1035 4.1.1 and RFC 6891 names; any other code as `RCODE<n>`. */
export type DnsRcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED' | `RCODE${number}`;

/** Why no usable answer came: `timeout` (nothing valid in time), `malformed` (an answer that does not parse or
 * is cut short), `network` (the socket or connection failed), `aborted` (the caller's signal), `bad-name` (the
 * name cannot be asked: an empty or over-long label, over 253 characters, or not ASCII; nothing was sent). */
export type DnsErrorKind = 'timeout' | 'malformed' | 'network' | 'aborted' | 'bad-name';

/** An Extended DNS Error (RFC 8914) the resolver attached, e.g. 6 "DNSSEC Bogus" to a SERVFAIL. */
export interface ExtendedDnsError {
  code: number;
  /** The code's name from RFC 8914 ("DNSSEC Bogus"), `EDE <code>` for one it does not list. */
  name: string;
  /** The resolver's extra text, quoted and cut (untrusted); "" when none. */
  text: string;
}

export interface DnsAnswer<T extends SecureRrType = SecureRrType> {
  /** The name asked, lower case, no root dot. */
  name: string;
  type: T;
  /** The answer's rcode; null when no usable answer came (`error` says why). */
  rcode: DnsRcode | null;
  /** The resolver's AD bit: it validated the answer (and, with NXDOMAIN/NODATA, the denial). */
  ad: boolean;
  /** The records of `type` for `name`, CNAMEs in the answer followed (empty on NODATA, NXDOMAIN or error). */
  records: RecordData[T][];
  /** The CNAME chain followed from `name` (the names aliased to), empty when there was none. */
  cnames: string[];
  /** Answered over TCP (the UDP answer was truncated). */
  tcp: boolean;
  /** Extended DNS Errors of the answer (why a validating resolver said SERVFAIL); empty when none or no answer. */
  extendedErrors: ExtendedDnsError[];
  error: DnsErrorKind | null;
  /** One line for people: what went wrong, or the rcode and record count. */
  detail: string;
}

/** What checks depend on: a fake answers from a table in tests. */
export interface SecureDns {
  query<T extends SecureRrType>(name: string, type: T): Promise<DnsAnswer<T>>;
}

export interface SecureDnsOptions {
  /** `IP`, `IP:PORT`, `[IPv6]:PORT`; absent: the first `nameserver` of /etc/resolv.conf. */
  server?: string | null;
  /** For one query, UDP and the TCP retry together. */
  timeoutMs: number;
  clock: Clock;
  signal?: AbortSignal;
  /** resolv.conf's text when no server is given (tests); read from /etc/resolv.conf otherwise. */
  resolvConf?: string;
}

export interface DnsServerAddress {
  host: string;
  port: number;
}

/** The EDNS0 UDP payload size advertised (the DNS flag day 2020 value: no IP fragmentation). */
export const EDNS_UDP_PAYLOAD = 1232;
/** CNAME links followed in one answer. */
const MAX_CNAME_CHAIN = 8;
const MAX_TCP_ANSWER = 65535;
/** UDP sends of one query (the same id), evenly over the timeout: a lost datagram costs a third of it, not all. */
export const UDP_SENDS = 3;

/** `IP`, `IP:PORT` or `[IPv6]:PORT` (port 53 when absent) → the address; null when it is not one of those. */
export function parseDnsServer(text: string): DnsServerAddress | null {
  const t = text.trim();
  let host = t;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  const v4 = /^([\d.]+):(\d+)$/.exec(t);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (v4) {
    host = v4[1]!;
    port = Number(v4[2]);
  }
  if (net.isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  if (bracketed && net.isIPv6(host) === false) return null;
  return { host, port };
}

/** The first `nameserver` line of resolv.conf text that is an IP address; null when there is none. */
export function firstNameserver(resolvConf: string): DnsServerAddress | null {
  for (const raw of resolvConf.split('\n')) {
    const [key, value] = raw.replace(/[#;].*/, '').trim().split(/\s+/);
    if (key !== 'nameserver' || !value) continue;
    const host = value.replace(/%.*$/, ''); // a scope id (fe80::1%eth0) is not ours to route
    if (net.isIP(host) !== 0) return { host, port: 53 };
  }
  return null;
}

/**
 * A client asking one server. Throws only for bad configuration (a server that is not IP[:PORT], no nameserver
 * in resolv.conf), with the value named; every query then answers a `DnsAnswer`.
 */
export function createSecureDns(options: SecureDnsOptions): SecureDns {
  const server = resolveServer(options);
  return {
    query: <T extends SecureRrType>(name: string, type: T) => secureQuery(server, name, type, options),
  };
}

/**
 * One posture run's view of DNS: each name and type asked once, later askers (other checks, other MX hosts)
 * share the first answer, errors included (a run sees one consistent DNS, and a dead server costs one timeout
 * per question, not one per check). Made per run and dropped with it: nothing outlives the run, no TTLs.
 */
export function memoizeSecureDns(inner: SecureDns): SecureDns {
  const asked = new Map<string, Promise<DnsAnswer>>();
  return {
    query<T extends SecureRrType>(name: string, type: T): Promise<DnsAnswer<T>> {
      const key = `${normalizeHostName(name)} ${type}`;
      let p = asked.get(key);
      if (!p) {
        p = inner.query(name, type);
        asked.set(key, p);
      }
      return p as Promise<DnsAnswer<T>>;
    },
  };
}

function resolveServer(options: SecureDnsOptions): DnsServerAddress {
  if (options.server) {
    const s = parseDnsServer(options.server);
    if (!s) throw new Error(`DNS server "${options.server}": expected IP, IP:PORT or [IPv6]:PORT`);
    return s;
  }
  let text = options.resolvConf;
  if (text === undefined) {
    try {
      text = readFileSync('/etc/resolv.conf', 'latin1');
    } catch (e) {
      throw new Error(`/etc/resolv.conf: cannot read it (${(e as Error).message}); give a DNS server`);
    }
  }
  const s = firstNameserver(text);
  if (!s) throw new Error('/etc/resolv.conf: no nameserver line with an IP address; give a DNS server');
  return s;
}


/**
 * Why a name (normalized) cannot go into a question, or null when it can: labels of 1 to 63 characters, 253 in
 * all, printable ASCII (an internationalized name is asked in its A-label form, xn--...). Checked here because
 * dns-packet encodes "a..b" as "a" and a 64-character label as garbage without a word.
 */
export function badDnsName(name: string): string | null {
  if (name === '') return null; // the root
  if (name.length > 253) return `${name.length} characters (at most 253)`;
  if (!/^[\x21-\x7e]+$/.test(name)) return 'not printable ASCII (give an internationalized name as its xn-- form)';
  for (const label of name.split('.')) {
    if (label.length === 0) return 'an empty label';
    if (label.length > 63) return `a label of ${label.length} characters (at most 63)`;
  }
  return null;
}

/** The query's bytes: a random id, RD, one question, an OPT record with DO and a 1232-byte payload. */
export function buildQuery(id: number, name: string, type: SecureRrType): Buffer {
  return packet.encode({
    type: 'query',
    id,
    flags: packet.RECURSION_DESIRED,
    questions: [{ type, name: normalizeHostName(name) || '.', class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: packet.DNSSEC_OK, flag_do: true, options: [] }],
  });
}

type Decoded = packet.DecodedPacket;

/** How one received datagram or TCP message relates to our query. */
type Received = { kind: 'answer'; msg: Decoded } | { kind: 'foreign'; why: string } | { kind: 'malformed'; why: string };

/** Decode an answer and match it to the query (id, QR, the one question); never throws. */
export function matchAnswer(buf: Buffer, id: number, name: string, type: SecureRrType): Received {
  if (buf.length < 12) return { kind: 'malformed', why: `${buf.length}-byte answer (a header is 12)` };
  if (buf.readUInt16BE(0) !== id) return { kind: 'foreign', why: 'wrong query id' };
  let msg: Decoded;
  try {
    msg = packet.decode(buf);
  } catch (e) {
    return { kind: 'malformed', why: `answer does not parse (${(e as Error).message})` };
  }
  if (!msg.flag_qr) return { kind: 'malformed', why: 'a query came back, not an answer' };
  const q = msg.questions ?? [];
  if (q.length !== 1 || normalizeHostName(q[0]!.name) !== normalizeHostName(name) || q[0]!.type !== type) {
    return { kind: 'foreign', why: 'answer for another question' };
  }
  return { kind: 'answer', msg };
}

async function secureQuery<T extends SecureRrType>(server: DnsServerAddress, rawName: string, type: T, options: SecureDnsOptions): Promise<DnsAnswer<T>> {
  const name = normalizeHostName(rawName);
  const base = { name, type, rcode: null, ad: false, records: [], cnames: [], tcp: false, extendedErrors: [] };
  const bad = badDnsName(name);
  if (bad !== null) return { ...base, error: 'bad-name', detail: `cannot ask for ${JSON.stringify(rawName.slice(0, 80))}: ${bad}` };
  const id = randomInt(0, 0x10000);
  const query = buildQuery(id, name, type);
  const deadline = startDeadline(options);
  try {
    const udp = await udpExchange(server, query, id, name, type, deadline);
    if (udp.kind !== 'answer') return { ...base, error: udp.error, detail: udp.detail };
    if (!udp.msg.flag_tc) return toAnswer(name, type, udp.msg, false);
    const tcp = await tcpExchange(server, query, id, name, type, deadline);
    if (tcp.kind !== 'answer') return { ...base, tcp: true, error: tcp.error, detail: `truncated over UDP, then over TCP: ${tcp.detail}` };
    return toAnswer(name, type, tcp.msg, true);
  } finally {
    deadline.dispose();
  }
}

type Exchange = { kind: 'answer'; msg: Decoded } | { kind: 'error'; error: DnsErrorKind; detail: string };

/** One promise that settles when time is up or the caller aborts, for both transports to race against. */
interface Deadline {
  /** Resolves with the reason when the query must end. */
  ended: Promise<DnsErrorKind>;
  timeoutMs: number;
  clock: Clock;
  dispose(): void;
}

function startDeadline(options: SecureDnsOptions): Deadline {
  const bound = deadline(options.timeoutMs, [options.signal], options.clock);
  const ended = new Promise<DnsErrorKind>((resolve) => {
    const end = (): void => resolve(options.signal?.aborted ? 'aborted' : 'timeout');
    if (bound.signal.aborted) end();
    else bound.signal.addEventListener('abort', end, { once: true });
  });
  return { ended, timeoutMs: options.timeoutMs, clock: options.clock, dispose: () => bound.dispose() };
}

function endedDetail(kind: DnsErrorKind, timeoutMs: number, ignored: string[]): string {
  if (kind === 'aborted') return 'query aborted';
  const extra = ignored.length > 0 ? `; ignored ${ignored.length} answer(s) that did not match (${[...new Set(ignored)].join(', ')})` : '';
  return `no answer within ${timeoutMs} ms${extra}`;
}

function udpExchange(server: DnsServerAddress, query: Buffer, id: number, name: string, type: SecureRrType, deadline: Deadline): Promise<Exchange> {
  return new Promise<Exchange>((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const ignored: string[] = [];
    let done = false;
    let resend: TimerHandle | null = null;
    const finish = (r: Exchange): void => {
      if (done) return;
      done = true;
      resend?.cancel();
      socket.close();
      resolve(r);
    };
    void deadline.ended.then((kind) => finish({ kind: 'error', error: kind, detail: endedDetail(kind, deadline.timeoutMs, ignored) }));
    socket.on('error', (e) => finish({ kind: 'error', error: 'network', detail: `UDP to ${hostPort(server)}: ${e.message}` }));
    socket.on('message', (buf, rinfo) => {
      if (!sameAddress(rinfo.address, server.host) || rinfo.port !== server.port) return void ignored.push(`from ${rinfo.address}:${rinfo.port}`);
      const r = matchAnswer(buf, id, name, type);
      if (r.kind === 'foreign') ignored.push(r.why);
      else if (r.kind === 'malformed') finish({ kind: 'error', error: 'malformed', detail: `UDP from ${hostPort(server)}: ${r.why}` });
      else finish(r);
    });
    const send = (left: number): void => {
      socket.send(query, server.port, server.host, (e) => {
        if (e) finish({ kind: 'error', error: 'network', detail: `UDP to ${hostPort(server)}: ${e.message}` });
      });
      if (left > 1) resend = deadline.clock.setTimer(deadline.timeoutMs / UDP_SENDS, () => done || send(left - 1));
    };
    send(UDP_SENDS);
  });
}

function tcpExchange(server: DnsServerAddress, query: Buffer, id: number, name: string, type: SecureRrType, deadline: Deadline): Promise<Exchange> {
  return new Promise<Exchange>((resolve) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (r: Exchange): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(r);
    };
    const fail = (error: DnsErrorKind, why: string): void => finish({ kind: 'error', error, detail: `TCP to ${hostPort(server)}: ${why}` });
    void deadline.ended.then((kind) => fail(kind, endedDetail(kind, deadline.timeoutMs, [])));
    socket.on('error', (e) => fail('network', e.message));
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      socket.write(Buffer.concat([len, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_TCP_ANSWER + 2) return fail('malformed', 'answer longer than a DNS message can be');
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const r = matchAnswer(buf.subarray(2, 2 + buf.readUInt16BE(0)), id, name, type);
      if (r.kind === 'answer') finish(r);
      else fail('malformed', r.why);
    });
    socket.on('close', () => fail('malformed', `connection closed after ${buf.length} bytes, before a whole answer`));
  });
}

/** Two IP addresses as text are the same address (IPv6 has many spellings: 0:0::1, ::1, ::ffff:127.0.0.1...). */
export function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  if (!net.isIPv6(a) || !net.isIPv6(b)) return false;
  const canonical = (ip: string): string => new URL(`http://[${ip.replace(/%.*$/, '')}]/`).hostname;
  return canonical(a) === canonical(b);
}

function hostPort(s: DnsServerAddress): string {
  return net.isIPv6(s.host) ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

const RCODE_NAMES: Record<number, DnsRcode> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };

/** The full rcode: the header's 4 bits and, with EDNS0, the OPT record's upper 8 (RFC 6891 6.1.3). */
export function rcodeOf(msg: Decoded): DnsRcode {
  const low = (msg.flags ?? 0) & 0xf;
  const opt = (msg.additionals ?? []).find((a) => a.type === 'OPT') as packet.OptAnswer | undefined;
  const code = ((opt?.extendedRcode ?? 0) << 4) | low;
  return RCODE_NAMES[code] ?? `RCODE${code}`;
}

/** The decoded answer → a DnsAnswer: the rcode, AD, and the records of `type` at the end of the CNAME chain. */
export function toAnswer<T extends SecureRrType>(name: string, type: T, msg: Decoded, tcp: boolean): DnsAnswer<T> {
  const rcode = rcodeOf(msg);
  const answers = msg.answers ?? [];
  const { owner, cnames, broken } = type === 'CNAME' ? { owner: name, cnames: [], broken: null } : followCnames(name, answers);
  const records: RecordData[T][] = [];
  for (const a of answers) {
    if (broken !== null || a.type !== type || normalizeHostName(a.name) !== owner) continue;
    const r = recordData(type, a);
    if (r !== null) records.push(r as RecordData[T]);
  }
  const extendedErrors = extendedErrorsOf(msg);
  const ede = extendedErrors.map((e) => `; EDE ${e.code} ${e.name}${e.text ? `: ${e.text}` : ''}`).join('');
  const via = cnames.length ? ` via CNAME ${cnames.join(' -> ')}${broken ? ` (${broken}: no records taken)` : ''}` : '';
  const detail = `${rcode}${msg.flag_ad ? ' AD' : ''}, ${records.length} ${type} record(s)${via}${tcp ? ' over TCP' : ''}${ede}`;
  return { name, type, rcode, ad: msg.flag_ad, records, cnames, tcp, extendedErrors, error: null, detail };
}

/**
 * The CNAME chain in the answer from `name`: the name at its end, the names aliased to, and whether it is broken
 * (a loop, or longer than MAX_CNAME_CHAIN links): then no records are taken, as a resolver would fail it.
 */
function followCnames(name: string, answers: packet.Answer[]): { owner: string; cnames: string[]; broken: string | null } {
  const cnames: string[] = [];
  const seen = new Set([name]);
  let owner = name;
  for (;;) {
    const alias = answers.find((a) => a.type === 'CNAME' && normalizeHostName(a.name) === owner);
    if (!alias) return { owner, cnames, broken: null };
    owner = normalizeHostName(String((alias as { data?: unknown }).data));
    cnames.push(owner);
    if (seen.has(owner)) return { owner, cnames, broken: 'a CNAME loop' };
    if (cnames.length > MAX_CNAME_CHAIN) return { owner, cnames, broken: `over ${MAX_CNAME_CHAIN} CNAME links` };
    seen.add(owner);
  }
}

/** RFC 8914 section 4's codes. */
const EDE_NAMES: Record<number, string> = {
  0: 'Other', 1: 'Unsupported DNSKEY Algorithm', 2: 'Unsupported DS Digest Type', 3: 'Stale Answer', 4: 'Forged Answer',
  5: 'DNSSEC Indeterminate', 6: 'DNSSEC Bogus', 7: 'Signature Expired', 8: 'Signature Not Yet Valid', 9: 'DNSKEY Missing',
  10: 'RRSIGs Missing', 11: 'No Zone Key Bit Set', 12: 'NSEC Missing', 13: 'Cached Error', 14: 'Not Ready', 15: 'Blocked',
  16: 'Censored', 17: 'Filtered', 18: 'Prohibited', 19: 'Stale NXDOMAIN Answer', 20: 'Not Authoritative', 21: 'Not Supported',
  22: 'No Reachable Authority', 23: 'Network Error', 24: 'Invalid Data',
};
const EDE_OPTION = 15;
/** At most this many EDE options are read from one answer, their text cut to this many characters. */
const MAX_EDE = 4;
const MAX_EDE_TEXT = 120;

/** The EDE options (RFC 8914) of the answer's OPT record. */
export function extendedErrorsOf(msg: Decoded): ExtendedDnsError[] {
  const opt = (msg.additionals ?? []).find((a) => a.type === 'OPT') as packet.OptAnswer | undefined;
  const out: ExtendedDnsError[] = [];
  // dns-packet's types list only the options it decodes; the others come as { code, data }.
  for (const o of (opt?.options ?? []) as { code: number; data?: Buffer }[]) {
    const data = o.data;
    if (o.code !== EDE_OPTION || !data || data.length < 2 || out.length >= MAX_EDE) continue;
    const code = data.readUInt16BE(0);
    out.push({ code, name: EDE_NAMES[code] ?? `EDE ${code}`, text: quoteBytes(data.subarray(2).toString('utf8'), MAX_EDE_TEXT) });
  }
  return out;
}

function recordData(type: SecureRrType, a: packet.Answer): RecordData[SecureRrType] | null {
  const data = (a as { data?: unknown }).data;
  switch (type) {
    case 'A':
    case 'AAAA':
      return typeof data === 'string' ? data : null;
    case 'PTR':
    case 'CNAME':
      return typeof data === 'string' ? normalizeHostName(data) : null;
    case 'MX': {
      const mx = data as packet.MxData;
      return { preference: mx.preference ?? 0, exchange: normalizeHostName(mx.exchange) };
    }
    case 'TXT': {
      const parts = Array.isArray(data) ? data : [data];
      return parts.map((p) => (Buffer.isBuffer(p) ? p.toString('utf8') : String(p))).join('');
    }
    case 'TLSA': {
      const t = data as packet.TlsaData;
      return { usage: t.usage, selector: t.selector, matchingType: t.matchingType, data: Buffer.from(t.certificate) };
    }
  }
}
