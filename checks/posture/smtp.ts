/**
 * What the SMTP exposure checks share: one address of one MX host to probe, a session opened to it (greeting and
 * EHLO read), STARTTLS on it, a finding about it, and a failure to reach it as data. Each check opens its own
 * session(s); nothing here judges.
 */
import { createSecureContext, rootCertificates } from 'node:tls';
import type { Clock } from '../../src/core/clock.js';
import { ProbeError } from '../../src/core/errors.js';
import type { PostureCheckName, PostureFinding, PostureVerdict } from '../../src/core/posture.js';
import type { Phase } from '../../src/core/result.js';
import { quoteBytes } from '../../src/core/bytes.js';
import { replyText, type SmtpReply } from '../../src/core/reply.js';
import type { TlsParams } from '../../src/core/tls.js';
import { parseCapabilities, type Capabilities } from '../../src/smtp/ehlo.js';
import { oneLine } from '../../src/smtp/message.js';
import { SmtpSession, type TlsHello } from '../../src/smtp/session.js';

/** One address of one MX host (the gather functions' subject). */
export interface SmtpTarget {
  mxHost: string;
  address: string;
  port: number;
  /** Name the certificate must match and SNI (default: the MX host). */
  servername?: string;
  /** Extra trust anchors (PEM), added to Node's root store (`--ca`). */
  ca?: string | Buffer;
  /** TLS from the first byte; default: port 465. */
  implicitTls?: boolean;
}

/** What a gather function needs from its caller: time, a bound on every wait, the name we give in EHLO. */
export interface SmtpDeps {
  clock: Clock;
  /** Longest wait for any single connect, reply or handshake. */
  timeoutMs: number;
  /** Our EHLO name. */
  ehloName: string;
  /** Stops everything (the command's deadline or shutdown). */
  signal?: AbortSignal;
}

export const DEFAULT_SMTP_TIMEOUT_MS = 15_000;

/** A session with the greeting read and EHLO answered. */
export interface OpenSession {
  session: SmtpSession;
  greeting: SmtpReply;
  /** The EHLO reply (any code), and its capabilities when it was a 250. */
  ehlo: SmtpReply;
  caps: Capabilities | null;
}

/** Why a gather could not see what it came for: the judges turn it into n/a (`unreachable`) or their own verdict. */
export interface Unreachable {
  kind: 'unreachable';
  detail: string;
}

export function unreachable(e: unknown): Unreachable {
  const detail = e instanceof ProbeError ? `${e.phase}: ${e.message}` : `internal: ${String(e)}`;
  return { kind: 'unreachable', detail };
}

/** The TLS settings of a probe of this target: verification is judged by the certificate check, never enforced. */
export function tlsParamsFor(t: SmtpTarget): TlsParams {
  return { servername: t.servername ?? t.mxHost, ca: t.ca === undefined ? undefined : withSystemRoots(t.ca), insecure: true };
}

/** The last `--ca` seen and the bundle made of it: Node's root store, then the extra anchors (WebPKI stays trusted). */
let bundled: { ca: string | Buffer; pem: string } | null = null;

function withSystemRoots(ca: string | Buffer): string {
  if (bundled?.ca !== ca) bundled = { ca, pem: `${rootCertificates.join('\n')}\n${ca.toString()}` };
  return bundled.pem;
}

/** Connect, read the greeting (must be 220) and say EHLO. Rejects with a ProbeError. */
export async function openSession(t: SmtpTarget, deps: SmtpDeps): Promise<OpenSession> {
  const session = newSession(deps);
  try {
    await session.open(t.address, t.port);
    const greeting = await session.read('banner');
    if (greeting.code !== 220) throw ProbeError.fromReply('reply', 'banner', greeting, 'greeting is not 220');
    const ehlo = await session.command(`EHLO ${oneLine(deps.ehloName)}`, 'ehlo');
    return { session, greeting, ehlo, caps: ehlo.code === 250 ? parseCapabilities(ehlo) : null };
  } catch (e) {
    session.close();
    throw e;
  }
}

/** STARTTLS, then the handshake (with the plan's settings, or only what `hello` offers). */
export async function upgrade(s: SmtpSession, t: SmtpTarget, hello?: TlsHello): Promise<Awaited<ReturnType<SmtpSession['startTls']>>> {
  const reply = await s.command('STARTTLS', 'starttls');
  if (reply.code !== 220) throw ProbeError.fromReply('reply', 'starttls', reply, 'STARTTLS refused');
  return s.startTls(tlsParamsFor(t), 'tls_upgrade', hello);
}

/** QUIT when the session still lives (its reply not awaited for long), then close. Never throws. */
export async function finish(s: SmtpSession, deps: SmtpDeps): Promise<void> {
  try {
    if (s.isOpen && s.owed === 0) {
      s.send(['QUIT'], 'quit');
      await s.read('quit', Math.min(deps.timeoutMs, 2_000));
    }
  } catch {
    // the server may hang up first
  }
  s.close();
}

/** One command and its reply, recorded for the judge. */
export interface Exchange {
  command: string;
  code: number;
  text: string;
}

export async function exchange(s: SmtpSession, command: string, phase: Phase): Promise<Exchange> {
  const r = await s.command(command, phase);
  return { command, code: r.code, text: quoteBytes(replyText(r), 200) };
}

/** A finding about one address of one MX host. */
export function addressFinding(
  check: PostureCheckName,
  where: Pick<SmtpTarget, 'mxHost' | 'address'>,
  result: PostureVerdict,
  reason: string | null,
  detail: string,
): PostureFinding {
  return { check, scope: 'address', mxHost: where.mxHost, address: where.address, result, reason, detail };
}

/** The finding of a target that could not be reached: the check does not apply (n/a, `unreachable`). */
export function unreachableFinding(check: PostureCheckName, where: Pick<SmtpTarget, 'mxHost' | 'address'>, u: Unreachable): PostureFinding {
  return addressFinding(check, where, 'n/a', 'unreachable', u.detail);
}

/** A TLS session for the TLS checks: implicit TLS on 465, else STARTTLS after EHLO; or why there is none. */
export type TlsSessionOutcome =
  | { kind: 'tls'; session: SmtpSession; tls: Awaited<ReturnType<SmtpSession['startTls']>> }
  | { kind: 'no-starttls'; detail: string }
  /** The TCP connection and greeting worked; the STARTTLS reply or the handshake did not. */
  | { kind: 'handshake-failed'; detail: string }
  | Unreachable;

/** Port 465 speaks TLS from the first byte (RFC 8314); every other port upgrades with STARTTLS. */
export function isImplicitTls(t: SmtpTarget): boolean {
  return t.implicitTls ?? t.port === 465;
}

export async function tlsSession(t: SmtpTarget, deps: SmtpDeps, hello?: TlsHello): Promise<TlsSessionOutcome> {
  if (isImplicitTls(t)) return implicitSession(t, deps, hello);
  let open: OpenSession;
  try {
    open = await openSession(t, deps);
  } catch (e) {
    return unreachable(e);
  }
  const { session, caps, ehlo } = open;
  if (!caps || !Object.hasOwn(caps, 'STARTTLS')) {
    await finish(session, deps);
    const why = caps ? 'STARTTLS not advertised in EHLO' : `EHLO refused: ${quoteBytes(replyText(ehlo), 120)}`;
    return { kind: 'no-starttls', detail: why };
  }
  try {
    const tls = await upgrade(session, t, hello);
    return { kind: 'tls', session, tls };
  } catch (e) {
    session.close();
    const refused = e instanceof ProbeError && e.phase === 'starttls' && e.reply !== null;
    return { kind: refused ? 'no-starttls' : 'handshake-failed', detail: unreachable(e).detail };
  }
}

async function implicitSession(t: SmtpTarget, deps: SmtpDeps, hello?: TlsHello): Promise<TlsSessionOutcome> {
  const session = newSession(deps);
  try {
    await session.open(t.address, t.port);
  } catch (e) {
    session.close();
    return unreachable(e);
  }
  try {
    const tls = await session.startTls(tlsParamsFor(t), 'tls', hello);
    // The greeting comes inside TLS; the TLS facts stand even when it does not (finish then only closes).
    await session.read('banner').catch(() => undefined);
    return { kind: 'tls', session, tls };
  } catch (e) {
    session.close();
    return { kind: 'handshake-failed', detail: unreachable(e).detail };
  }
}

function newSession(deps: SmtpDeps): SmtpSession {
  return new SmtpSession({ signal: deps.signal ?? new AbortController().signal, phaseTimeoutMs: deps.timeoutMs, clock: deps.clock });
}

/** One handshake offering only `hello`: accepted (what was agreed), refused, or not offerable by this OpenSSL. */
export type HelloOutcome =
  | { kind: 'accepted'; version: string | null; cipher: string | null }
  | { kind: 'refused'; detail: string }
  | { kind: 'unavailable'; detail: string }
  | { kind: 'no-starttls'; detail: string }
  | Unreachable;

/** Client-side OpenSSL errors: our hello could not be built (this OpenSSL cannot offer it), nothing was refused. */
const CANNOT_OFFER = /no protocols available|no ciphers available|no cipher match|unsupported protocol.*client|ERR_SSL_NO_PROTOCOLS_AVAILABLE/i;

/** Why this OpenSSL cannot offer `hello`, or null when it can build it. */
export function cannotOffer(hello: TlsHello): string | null {
  const key = `${hello.minVersion ?? '-'} ${hello.maxVersion ?? '-'} ${hello.ciphers ?? '-'}`;
  let why = offerable.get(key);
  if (why === undefined) {
    try {
      createSecureContext(hello);
      why = null;
    } catch (e) {
      why = `this OpenSSL (${process.versions.openssl}) cannot offer it: ${(e as Error).message}`;
    }
    offerable.set(key, why);
  }
  return why;
}

/** What this OpenSSL said of each hello: the same for every address of a run (a few hellos in all). */
const offerable = new Map<string, string | null>();

/** A new connection (STARTTLS or implicit TLS) whose handshake offers only `hello`. */
export async function tryHello(t: SmtpTarget, deps: SmtpDeps, hello: TlsHello): Promise<HelloOutcome> {
  const why = cannotOffer(hello);
  if (why) return { kind: 'unavailable', detail: why };
  const out = await tlsSession(t, deps, hello);
  switch (out.kind) {
    case 'tls':
      await finish(out.session, deps);
      return { kind: 'accepted', version: out.tls.info.version, cipher: out.tls.info.cipher };
    case 'handshake-failed':
      if (CANNOT_OFFER.test(out.detail)) {
        return { kind: 'unavailable', detail: `this OpenSSL (${process.versions.openssl}) cannot offer it: ${out.detail}` };
      }
      return { kind: 'refused', detail: out.detail };
    default:
      return out;
  }
}
