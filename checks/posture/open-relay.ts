/**
 * `open_relay`: does this address accept mail for a domain it has no business with? RCPT only, never DATA:
 * MAIL FROM the null sender and then a probe sender at the relay test domain, RCPT TO a mailbox at that domain in
 * plain form and in the address tricks of nmap's smtp-open-relay script, RSET after each try. Any 2xx to a RCPT:
 * fail `open-relay`, naming the form (the first accepted ends the check); a 530 (authentication required): not
 * open, pass; every form refused: pass. A fresh connection every few tries, so that a server's error limit (Postfix
 * drops a client after 20 errors and slows it after 10) does not cut the check short.
 */
import type { PostureFinding } from '../../src/core/posture.js';
import { oneLine } from '../../src/smtp/message.js';
import { addressFinding, exchange, finish, openSession, unreachable, unreachableFinding, type SmtpDeps, type SmtpTarget, type Unreachable } from './smtp.js';
import type { SchemaKit } from '../step.js';

export const name = 'open_relay' as const;

export interface OpenRelayOptions {
  /** A domain the server should never relay to (`--relay-test-domain`). */
  relayTestDomain: string;
  /** The local part of the probe's sender and test recipient. */
  localPart: string;
  /** Tries (MAIL + RCPT + RSET) per connection. */
  triesPerSession: number;
}

export const DEFAULT_OPEN_RELAY_OPTIONS: OpenRelayOptions = { relayTestDomain: 'example.net', localPart: 'relaytest', triesPerSession: 8 };

/** Config keys of `open_relay` (snake_case), each optional over DEFAULT_OPEN_RELAY_OPTIONS. */
export function options({ z }: SchemaKit) {
  return {
    relay_test_domain: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/, 'must be a domain name')
      .optional().meta({ description: 'A domain the server must never relay to (--relay-test-domain). Example: example.net' }),
    local_part: z.string().regex(/^[A-Za-z0-9._+-]{1,64}$/, 'must be a plain local part').optional()
      .meta({ description: 'Local part of the test sender and recipients. Example: relaytest' }),
    tries_per_session: z.number().int().min(1).max(20).optional()
      .meta({ description: 'Tries (MAIL, RCPT, RSET) per connection, under the server\'s error limit. Example: 8' }),
  };
}

/** The parsed keys over the defaults. */
export function openRelayOptions(c: { relay_test_domain?: string; local_part?: string; tries_per_session?: number } = {}): OpenRelayOptions {
  const d = DEFAULT_OPEN_RELAY_OPTIONS;
  return { relayTestDomain: c.relay_test_domain ?? d.relayTestDomain, localPart: c.local_part ?? d.localPart, triesPerSession: c.tries_per_session ?? d.triesPerSession };
}

export interface RelayTry {
  from: string;
  to: string;
  mail: { code: number; text: string };
  /** Null when MAIL was refused (no RCPT sent). */
  rcpt: { code: number; text: string } | null;
}

export type OpenRelaySeen = { kind: 'tries'; tries: RelayTry[]; planned: number; cutShort: string | null } | Unreachable;

/** The senders: the null sender, then a probe sender at the relay test domain. */
export function relaySenders(o: OpenRelayOptions): string[] {
  return ['<>', `<${o.localPart}@${o.relayTestDomain}>`];
}

/** The recipient forms: plain, then nmap smtp-open-relay's tricks with the address literal and the MX name. */
export function relayRecipients(o: OpenRelayOptions, t: Pick<SmtpTarget, 'mxHost' | 'address'>): string[] {
  const u = o.localPart;
  const d = o.relayTestDomain;
  const lit = t.address.includes(':') ? `[IPv6:${t.address}]` : `[${t.address}]`;
  const mx = t.mxHost;
  return [
    `<${u}@${d}>`,
    `<${u}%${d}@${lit}>`,
    `<${u}%${d}@${mx}>`,
    `<"${u}@${d}">`,
    `<"${u}%${d}">`,
    `<${u}@${d}@${lit}>`,
    `<"${u}@${d}"@${lit}>`,
    `<${u}@${d}@${mx}>`,
    `<@${lit}:${u}@${d}>`,
    `<@${mx}:${u}@${d}>`,
    `<${d}!${u}>`,
    `<${d}!${u}@${lit}>`,
    `<${d}!${u}@${mx}>`,
  ];
}

const is2xx = (code: number): boolean => code >= 200 && code < 300;

export function judgeOpenRelay(where: Pick<SmtpTarget, 'mxHost' | 'address'>, seen: OpenRelaySeen): PostureFinding[] {
  if (seen.kind === 'unreachable') return [unreachableFinding(name, where, seen)];
  const accepted = seen.tries.find((t) => t.rcpt && is2xx(t.rcpt.code));
  if (accepted) {
    const detail = `relayed: MAIL FROM:${accepted.from} RCPT TO:${accepted.to} → ${accepted.rcpt!.text}`;
    return [addressFinding(name, where, 'fail', 'open-relay', detail)];
  }
  const auth = seen.tries.find((t) => t.mail.code === 530 || t.rcpt?.code === 530);
  if (auth) return [addressFinding(name, where, 'pass', null, `not open: authentication required (${(auth.rcpt ?? auth.mail).text})`)];
  if (seen.cutShort !== null || seen.tries.length < seen.planned) {
    const why = seen.cutShort ?? 'stopped early';
    return [addressFinding(name, where, 'n/a', 'incomplete', `${seen.tries.length} of ${seen.planned} forms tried, none accepted; ${why}`)];
  }
  const codes = [...new Set(seen.tries.map((t) => (t.rcpt ?? t.mail).code))].join('/');
  return [addressFinding(name, where, 'pass', null, `all ${seen.tries.length} forms refused (${codes})`)];
}

/** Every (sender, recipient) pair in order. */
function plannedTries(o: OpenRelayOptions, t: SmtpTarget): { from: string; to: string }[] {
  const rcpts = relayRecipients(o, t);
  return relaySenders(o).flatMap((from) => rcpts.map((to) => ({ from, to })));
}

export async function gatherOpenRelay(t: SmtpTarget, deps: SmtpDeps, o: OpenRelayOptions = DEFAULT_OPEN_RELAY_OPTIONS): Promise<OpenRelaySeen> {
  const plan = plannedTries(o, t);
  const tries: RelayTry[] = [];
  while (tries.length < plan.length) {
    const batch = plan.slice(tries.length, tries.length + Math.max(1, o.triesPerSession));
    const stop = await tryBatch(t, deps, batch, tries);
    if (stop === 'done') break;
    if (stop !== null) return tries.length === 0 ? stop.error : { kind: 'tries', tries, planned: plan.length, cutShort: stop.error.detail };
  }
  return { kind: 'tries', tries, planned: plan.length, cutShort: null };
}

/** One connection's tries; 'done' once a RCPT is accepted or a 530 answers, the failure when the session broke. */
async function tryBatch(
  t: SmtpTarget,
  deps: SmtpDeps,
  batch: { from: string; to: string }[],
  tries: RelayTry[],
): Promise<'done' | { error: Unreachable } | null> {
  let open;
  try {
    open = await openSession(t, deps);
  } catch (e) {
    return { error: unreachable(e) };
  }
  const s = open.session;
  try {
    for (const { from, to } of batch) {
      const mail = await exchange(s, `MAIL FROM:${oneLine(from)}`, 'mail');
      const rcpt = is2xx(mail.code) ? await exchange(s, `RCPT TO:${oneLine(to)}`, 'rcpt') : null;
      tries.push({ from, to, mail: { code: mail.code, text: mail.text }, rcpt: rcpt && { code: rcpt.code, text: rcpt.text } });
      await exchange(s, 'RSET', 'rset');
      if ((rcpt && is2xx(rcpt.code)) || mail.code === 530 || rcpt?.code === 530) return 'done';
    }
    return null;
  } catch (e) {
    return { error: unreachable(e) };
  } finally {
    await finish(s, deps);
  }
}

export async function runOpenRelay(t: SmtpTarget, deps: SmtpDeps, o: OpenRelayOptions = DEFAULT_OPEN_RELAY_OPTIONS): Promise<PostureFinding[]> {
  return judgeOpenRelay(t, await gatherOpenRelay(t, deps, o));
}
