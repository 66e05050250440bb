/**
 * `starttls_injection` (CVE-2011-0411): `STARTTLS\r\nNOOP\r\n` in one write. A correct server answers STARTTLS
 * with 220 and throws away whatever came after it in plaintext (RFC 3207 section 4.2); a vulnerable one keeps the
 * NOOP in its input buffer and answers it inside TLS. After the 220 we do the handshake and send nothing: a reply
 * arriving within `waitMs` is the injected NOOP answered (fail); silence passes. Replies the server sent in
 * plaintext before the handshake are dropped, as a client must (and counted in the detail).
 */
import type { PostureFinding } from '../../src/core/posture.js';
import { quoteBytes } from '../../src/core/bytes.js';
import { replyText } from '../../src/core/reply.js';
import { addressFinding, openSession, tlsParamsFor, unreachable, unreachableFinding, type SmtpDeps, type SmtpTarget, type Unreachable } from './smtp.js';
import type { SchemaKit } from '../step.js';

export const name = 'starttls_injection' as const;

export interface StarttlsInjectionOptions {
  /** How long to listen inside TLS for the answer to the injected NOOP. */
  waitMs: number;
}

export const DEFAULT_STARTTLS_INJECTION_OPTIONS: StarttlsInjectionOptions = { waitMs: 2_000 };

/** Config keys of `starttls_injection`. */
export function options({ z }: SchemaKit) {
  return {
    wait_ms: z.number().int().min(100).max(60_000).optional()
      .meta({ description: 'How long to listen inside TLS for an answer to the injected NOOP, in ms. Example: 2000' }),
  };
}

export function starttlsInjectionOptions(c: { wait_ms?: number } = {}): StarttlsInjectionOptions {
  return { waitMs: c.wait_ms ?? DEFAULT_STARTTLS_INJECTION_OPTIONS.waitMs };
}

export type StarttlsInjectionSeen =
  /** A reply came inside TLS before we sent anything. */
  | { kind: 'answered'; reply: string }
  | { kind: 'silent'; waitedMs: number; discardedBytes: number }
  | { kind: 'no-starttls'; detail: string }
  | { kind: 'handshake-failed'; detail: string }
  | Unreachable;

export function judgeStarttlsInjection(where: Pick<SmtpTarget, 'mxHost' | 'address'>, seen: StarttlsInjectionSeen): PostureFinding[] {
  switch (seen.kind) {
    case 'unreachable':
      return [unreachableFinding(name, where, seen)];
    case 'no-starttls':
      return [addressFinding(name, where, 'n/a', 'starttls-not-supported', seen.detail)];
    case 'handshake-failed':
      return [addressFinding(name, where, 'n/a', 'validation-failure', seen.detail)];
    case 'answered':
      return [addressFinding(name, where, 'fail', 'starttls-injection', `the NOOP sent in plaintext behind STARTTLS was answered inside TLS: ${seen.reply}`)];
    case 'silent': {
      const dropped = seen.discardedBytes > 0 ? `; ${seen.discardedBytes} bytes sent before the handshake dropped` : '';
      return [addressFinding(name, where, 'pass', null, `no reply inside TLS within ${seen.waitedMs} ms${dropped}`)];
    }
  }
}

export async function gatherStarttlsInjection(
  t: SmtpTarget,
  deps: SmtpDeps,
  o: StarttlsInjectionOptions = DEFAULT_STARTTLS_INJECTION_OPTIONS,
): Promise<StarttlsInjectionSeen> {
  if (t.implicitTls ?? t.port === 465) return { kind: 'no-starttls', detail: 'implicit TLS: no STARTTLS to inject into' };
  let open;
  try {
    open = await openSession(t, deps);
  } catch (e) {
    return unreachable(e);
  }
  const s = open.session;
  try {
    if (!open.caps || !Object.hasOwn(open.caps, 'STARTTLS')) return { kind: 'no-starttls', detail: 'STARTTLS not advertised in EHLO' };
    s.send(['STARTTLS', 'NOOP'], 'starttls');
    const r = await s.read('starttls');
    if (r.code !== 220) return { kind: 'no-starttls', detail: `STARTTLS refused: ${quoteBytes(replyText(r), 120)}` };
    let discardedBytes: number;
    try {
      ({ discardedBytes } = await s.startTls(tlsParamsFor(t), 'tls_upgrade'));
    } catch (e) {
      return { kind: 'handshake-failed', detail: unreachable(e).detail };
    }
    const started = deps.clock.now();
    try {
      const injected = await s.read('noop', o.waitMs);
      return { kind: 'answered', reply: quoteBytes(replyText(injected), 200) };
    } catch {
      // No reply in time (or the server hung up without answering): nothing was injected.
      return { kind: 'silent', waitedMs: Math.round(deps.clock.now() - started), discardedBytes };
    }
  } catch (e) {
    return unreachable(e);
  } finally {
    s.close();
  }
}

export async function runStarttlsInjection(
  t: SmtpTarget,
  deps: SmtpDeps,
  o: StarttlsInjectionOptions = DEFAULT_STARTTLS_INJECTION_OPTIONS,
): Promise<PostureFinding[]> {
  return judgeStarttlsInjection(t, await gatherStarttlsInjection(t, deps, o));
}
