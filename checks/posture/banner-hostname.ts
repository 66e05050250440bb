/**
 * `banner_hostname`: the host name the server gives in its 220 greeting (the first word after the code) and in
 * the first line of its EHLO reply should be the name its address is known by: the forward-confirmed PTR name
 * (fcrdns.ts), or the MX host name when the address has none. Receivers compare a sender's EHLO name with its
 * rDNS, and a greeting naming another host hints at a load balancer or a copied configuration.
 *
 * Rules: both names equal the expected one (case-insensitive, a final dot ignored): pass. Either differs, or the
 * EHLO was refused (no name to compare): warn `hostname-mismatch`, naming what each said and what was expected
 * (and why: a confirmed PTR, or the MX name with the PTR state). No greeting (connection refused, a greeting that
 * is not 220, a timeout): n/a `unreachable`, said so. One short session: greeting, EHLO, QUIT.
 */
import type { PostureFinding } from '../../src/core/posture.js';
import type { SmtpReply } from '../../src/core/reply.js';
import { confirmedName, gatherFcrdns, type FcrdnsSeen } from './fcrdns.js';
import { isEmpty, isFailed, type NameDns } from './reverse.js';
import { addressFinding, finish, openSession, unreachable, unreachableFinding, type SmtpDeps, type SmtpTarget, type Unreachable } from './smtp.js';
import { quote } from './txt.js';

export const name = 'banner_hostname' as const;

export interface BannerHostnameDeps extends SmtpDeps {
  dns: NameDns;
}

/** The address whose PTR is asked, when the session goes elsewhere (`--connect-to`); default the target's. */
export interface BannerHostnameTarget extends SmtpTarget {
  dnsAddress?: string;
}

/** What the session said: the greeting and EHLO reply's first lines (code and text), or why there was none. */
export type BannerSession =
  | { kind: 'session'; greeting: string; ehloCode: number; ehlo: string }
  | Unreachable;

export interface BannerHostnameSeen {
  session: BannerSession;
  /** The PTR and forward lookups of the address (what `fcrdns` judges). */
  fcrdns: FcrdnsSeen;
}

type Where = Pick<SmtpTarget, 'mxHost' | 'address'>;

/** The host name a reply line starts with: its first word, an enhanced status code before it skipped; "" if none. */
export function hostWord(text: string): string {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  const first = /^[245]\.\d{1,3}\.\d{1,3}$/.test(words[0] ?? '') ? words[1] : words[0];
  return first ?? '';
}

function normal(n: string): string {
  return n.toLowerCase().replace(/\.$/, '');
}

/** The name expected, and why that one. */
function expected(where: Where, seen: BannerHostnameSeen): { name: string; why: string } {
  const ptr = confirmedName(seen.fcrdns);
  if (ptr !== null) return { name: ptr, why: 'the forward-confirmed PTR name' };
  return { name: normal(where.mxHost), why: `the MX host name (${ptrState(seen.fcrdns)})` };
}

/** Why there is no confirmed PTR name, in a few words. */
function ptrState(f: FcrdnsSeen): string {
  const p = f.ptr;
  if (p === null) return 'not an IP address';
  if (isFailed(p)) return 'PTR lookup failed';
  if (isEmpty(p)) return 'no PTR';
  return `PTR ${p.records.join(', ')} not confirmed`;
}

/** Pure: the session and the address's reverse DNS → one finding for the address. */
export function judgeBannerHostname(where: Where, seen: BannerHostnameSeen): PostureFinding[] {
  const s = seen.session;
  if (s.kind === 'unreachable') return [unreachableFinding(name, where, { ...s, detail: `no greeting: ${s.detail}` })];
  const want = expected(where, seen);
  const greeting = hostWord(s.greeting);
  const ehlo = s.ehloCode === 250 ? hostWord(s.ehlo) : '';
  const ehloSaid = s.ehloCode === 250 ? (ehlo === '' ? 'EHLO names nothing' : `EHLO says ${quote(ehlo, 80)}`) : `EHLO refused (${quote(`${s.ehloCode} ${s.ehlo}`, 80)})`;
  const greetingSaid = greeting === '' ? 'the 220 greeting names nothing' : `the 220 greeting says ${quote(greeting, 80)}`;
  const ok = (n: string): boolean => n !== '' && normal(n) === want.name;
  if (ok(greeting) && ok(ehlo)) return [addressFinding(name, where, 'pass', null, `greeting and EHLO name ${want.name}, ${want.why}`)];
  return [addressFinding(name, where, 'warn', 'hostname-mismatch', `${greetingSaid}, ${ehloSaid}; expected ${want.name}, ${want.why}`)];
}

function firstLine(r: SmtpReply): string {
  return r.lines[0] ?? '';
}

/** One short session (greeting, EHLO, QUIT) to read what the server calls itself. */
export async function gatherBannerSession(t: SmtpTarget, deps: SmtpDeps): Promise<BannerSession> {
  let open;
  try {
    open = await openSession(t, deps);
  } catch (e) {
    return unreachable(e);
  }
  await finish(open.session, deps);
  return { kind: 'session', greeting: firstLine(open.greeting), ehloCode: open.ehlo.code, ehlo: firstLine(open.ehlo) };
}

/** The session and the reverse DNS of the address (`dnsAddress`, else the target's), side by side. */
export async function gatherBannerHostname(t: BannerHostnameTarget, deps: BannerHostnameDeps): Promise<BannerHostnameSeen> {
  const [session, fcrdns] = await Promise.all([gatherBannerSession(t, deps), gatherFcrdns(t.dnsAddress ?? t.address, deps)]);
  return { session, fcrdns };
}

export async function runBannerHostname(t: BannerHostnameTarget, deps: BannerHostnameDeps): Promise<PostureFinding[]> {
  return judgeBannerHostname({ mxHost: t.mxHost, address: t.dnsAddress ?? t.address }, await gatherBannerHostname(t, deps));
}
