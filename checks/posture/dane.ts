/**
 * `dane` (RFC 7672): the TLSA records at `_PORT._tcp.MXHOST` against the chain one address of the MX host serves.
 * One finding per address (scope address): each address serves its own chain, and a sender authenticates the one
 * it reached. Trusted only when the resolver set AD on the MX RRset, the host's A/AAAA (the caller's knowledge)
 * and the TLSA RRset (queried here); DANE results therefore need a validating resolver.
 *
 * Rules: MX or address not validated, or the TLSA RRset insecure (AD=0): n/a `insecure`. SERVFAIL (a bogus
 * zone), any other failed lookup: fail `dnssec-invalid` (RFC 7672 2.2.1: the sender defers). A validated
 * NXDOMAIN/NODATA: n/a `no-tlsa`. Records but none usable (only PKIX usages 0/1, unknown selectors or matching
 * types): n/a `no-usable-tlsa`, as RFC 7672 3.1.3 and 2.2 treat them as no usable TLSA (senders still require
 * TLS, so a missing STARTTLS then fails `dane-required`). Usable records and no STARTTLS: fail `dane-required`.
 * No usable record matches: fail `tlsa-invalid`. DANE-EE(3) matching the leaf: pass, name and dates not checked
 * (RFC 7672 3.1.1). DANE-TA(2) matching a certificate above the leaf: the chain up to it must verify, the leaf's
 * name must match the TLSA base domain or the MX name (RFC 7672 3.2.2; the base domain is the MX host, SNI too),
 * and every certificate from the leaf to the anchor must be valid `at` (`--at`): else fail
 * `validation-failure`, `certificate-host-mismatch` or `certificate-expired`.
 */
import { X509Certificate } from 'node:crypto';
import type { PostureFinding } from '../../src/core/posture.js';
import { addressFinding, finish, tlsSession, unreachableFinding, type SmtpDeps, type SmtpTarget, type Unreachable } from './smtp.js';
import { DANE_EE, isUsableTlsa, matchTlsa, tlsaText, type TlsaData } from './tlsa.js';

export const name = 'dane' as const;

export interface DaneOptions {
  /** Validate the served chain as of this instant (ms since the epoch; `--at`); absent: the clock's now. */
  at?: number;
}

export const DANE_DEFAULTS: DaneOptions = {};

/** One address of one MX host, with what the caller learned of the MX and A/AAAA answers' AD bits. */
export interface DaneTarget extends SmtpTarget {
  /** The resolver set AD on the domain's MX RRset. */
  mxSecure: boolean;
  /** The resolver set AD on the MX host's A/AAAA RRset this address came from. */
  addressSecure: boolean;
  /** The port in the TLSA owner name (`_25._tcp`); default `port` (differs only when a test server listens elsewhere). */
  tlsaPort?: number;
}

/** A TLSA lookup that reads the resolver's AD bit: `(name) => secureDns.query(name, 'TLSA')` (`src/dns/secure.ts`)
 * plugs in as it is. `rcode` null with `error` set when no usable answer came. */
export type TlsaLookup = (name: string) => Promise<{
  name: string;
  rcode: string | null;
  ad: boolean;
  error: string | null;
  records: TlsaData[];
  detail: string;
}>;

export interface DaneDeps extends SmtpDeps {
  tlsa: TlsaLookup;
}

/** The TLSA lookup as the judge needs it. */
export interface TlsaSeen {
  /** `_25._tcp.mx.example.net` */
  name: string;
  rcode: string | null;
  ad: boolean;
  error: string | null;
  records: TlsaData[];
  detail: string;
}

/** What the gather saw at the address: the chain (DER, leaf first), or why there was none. */
export type DaneSession =
  | { kind: 'tls'; chain: Buffer[] }
  | { kind: 'no-starttls'; detail: string }
  | { kind: 'handshake-failed'; detail: string }
  | Unreachable
  /** No connection was needed (the TLSA answer decided). */
  | { kind: 'skipped' };

export interface DaneSeen {
  mxSecure: boolean;
  addressSecure: boolean;
  tlsa: TlsaSeen | null;
  session: DaneSession;
}

type Where = Pick<SmtpTarget, 'mxHost' | 'address'>;

/** The TLSA records decide before any connection: n/a or fail, or null when the chain must be seen. */
function judgeRecords(where: Where, seen: DaneSeen): PostureFinding | null {
  const f = (result: PostureFinding['result'], reason: string | null, detail: string): PostureFinding =>
    addressFinding(name, where, result, reason, detail);
  if (!seen.mxSecure) return f('n/a', 'insecure', 'MX RRset not validated (no AD bit): DANE does not apply');
  if (!seen.addressSecure) return f('n/a', 'insecure', `A/AAAA of ${where.mxHost} not validated (no AD bit): DANE does not apply`);
  const t = seen.tlsa;
  if (!t) return f('n/a', 'insecure', 'no TLSA lookup');
  if (t.error !== null || (t.rcode !== 'NOERROR' && t.rcode !== 'NXDOMAIN')) {
    return f('fail', 'dnssec-invalid', `TLSA ${t.name}: ${t.detail}`);
  }
  if (!t.ad) return f('n/a', 'insecure', `TLSA ${t.name} not validated (no AD bit): DANE does not apply`);
  if (t.records.length === 0) return f('n/a', 'no-tlsa', `no TLSA at ${t.name} (validated ${t.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : 'NODATA'})`);
  const usable = t.records.filter(isUsableTlsa);
  const s = seen.session;
  if (s.kind === 'no-starttls') return f('fail', 'dane-required', `TLSA published at ${t.name} but ${s.detail}`);
  if (usable.length === 0) {
    return f('n/a', 'no-usable-tlsa', `no usable TLSA at ${t.name} (${t.records.map(tlsaText).join(', ')}): RFC 7672 3.1.3`);
  }
  if (s.kind === 'unreachable') return unreachableFinding(name, where, s);
  if (s.kind === 'handshake-failed') return f('fail', 'validation-failure', s.detail);
  if (s.kind === 'skipped') return f('n/a', 'unreachable', 'no TLS session');
  return null;
}

/** Pure: what was gathered → one finding for the address. `at`: ms since the epoch the dates are judged at. */
export function judgeDane(where: Where, seen: DaneSeen, at: number): PostureFinding[] {
  const early = judgeRecords(where, seen);
  if (early) return [early];
  const t = seen.tlsa!;
  const chain = seen.session.kind === 'tls' ? seen.session.chain : [];
  const f = (result: PostureFinding['result'], reason: string | null, detail: string): PostureFinding[] =>
    [addressFinding(name, where, result, reason, detail)];
  const match = matchTlsa(t.records, chain);
  if (!match) return f('fail', 'tlsa-invalid', `no usable TLSA at ${t.name} matches the ${chain.length} certificate(s) served`);
  const rec = tlsaText(match.record);
  if (match.record.usage === DANE_EE) return f('pass', null, `DANE-EE ${rec} matches the leaf`);
  const certs = parseChain(chain.slice(0, match.certIndex + 1));
  if (!certs) return f('fail', 'validation-failure', 'a served certificate does not parse');
  for (let i = 0; i < match.certIndex; i++) {
    const [child, parent] = [certs[i]!, certs[i + 1]!];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      return f('fail', 'validation-failure', `DANE-TA ${rec}: certificate ${i} is not issued by certificate ${i + 1}`);
    }
  }
  const names = [...new Set([t.name.replace(/^_\d+\._tcp\./, ''), where.mxHost])];
  if (!names.some((n) => certs[0]!.checkHost(n, { wildcards: true, singleLabelSubdomains: false }) !== undefined)) {
    return f('fail', 'certificate-host-mismatch', `DANE-TA ${rec}: leaf names none of ${names.join(', ')}`);
  }
  const on = new Date(at).toISOString();
  for (const [i, c] of certs.entries()) {
    if (Date.parse(c.validTo) <= at || Date.parse(c.validFrom) > at) {
      return f('fail', 'certificate-expired', `DANE-TA ${rec}: certificate ${i} valid ${c.validFrom} .. ${c.validTo}, not on ${on}`);
    }
  }
  return f('pass', null, `DANE-TA ${rec} matches certificate ${match.certIndex}; leaf names ${where.mxHost}, valid on ${on}`);
}

function parseChain(ders: Buffer[]): X509Certificate[] | null {
  try {
    return ders.map((d) => new X509Certificate(d));
  } catch {
    return null;
  }
}

/** `_25._tcp.mx.example.net`: the TLSA owner name of an MX host and port (RFC 7672 2.2.3). */
export function tlsaName(mxHost: string, port: number): string {
  return `_${port}._tcp.${mxHost.replace(/\.$/, '').toLowerCase()}`;
}

export async function gatherTlsa(lookup: TlsaLookup, mxHost: string, port: number): Promise<TlsaSeen> {
  const a = await lookup(tlsaName(mxHost, port));
  return { name: a.name, rcode: a.rcode, ad: a.ad, error: a.error, records: a.records, detail: a.detail };
}

/** Look the TLSA records up and, when they are usable and trusted, open a TLS session (SNI: the MX host). */
export async function gatherDane(t: DaneTarget, deps: DaneDeps): Promise<DaneSeen> {
  const seen: DaneSeen = { mxSecure: t.mxSecure, addressSecure: t.addressSecure, tlsa: null, session: { kind: 'skipped' } };
  if (!t.mxSecure || !t.addressSecure) return seen;
  seen.tlsa = await gatherTlsa(deps.tlsa, t.mxHost, t.tlsaPort ?? t.port);
  const reason = judgeRecords(t, seen)?.reason;
  if (reason !== 'unreachable' && reason !== 'no-usable-tlsa') return seen;
  const out = await tlsSession({ ...t, servername: t.mxHost, ca: undefined }, deps);
  if (out.kind !== 'tls') return { ...seen, session: out };
  const chain = out.tls.chain(); // read while the connection is open
  await finish(out.session, deps);
  return { ...seen, session: { kind: 'tls', chain } };
}

/** The `dane` finding of one address (what a `posture` command or the daemon calls). */
export async function runDane(t: DaneTarget, deps: DaneDeps, opts: DaneOptions = DANE_DEFAULTS): Promise<PostureFinding[]> {
  const seen = await gatherDane(t, deps);
  return judgeDane(t, seen, opts.at ?? deps.clock.wallNow());
}
