/**
 * What `vrfy` and `expn` share: the command for each probe name, the answers, and the rule: 250 or 251 (the
 * mailbox or list confirmed) is a fail; 252 (cannot verify, will accept), 502, 550, 530 and any other 5xx pass;
 * a 4xx says nothing (n/a, unless another name already decided). Stops at the first confirmation.
 */
import type { PostureFinding } from '../../src/core/posture.js';
import { oneLine } from '../../src/smtp/message.js';
import { addressFinding, exchange, finish, openSession, unreachable, unreachableFinding, type Exchange, type SmtpDeps, type SmtpTarget, type Unreachable } from './smtp.js';
import type { SchemaKit } from '../step.js';

export interface VerifyOptions {
  /** Names to ask about: postmaster (RFC 5321 requires it to exist) and the probe's own. */
  names: string[];
}

export const DEFAULT_VERIFY_NAMES = ['postmaster', 'smtp-probe'];

/** Config keys of `vrfy` and `expn`. */
export function verifyOptionsShape({ z, oneLine }: SchemaKit) {
  return {
    names: z.array(oneLine('names').min(1).max(64)).min(1).max(10).optional()
      .meta({ description: 'Names to ask about, in order (stops at the first confirmed). Example: [postmaster, smtp-probe]' }),
  };
}

export type VerifySeen = { kind: 'answers'; answers: Exchange[] } | Unreachable;

export function judgeVerify(
  check: 'vrfy' | 'expn',
  where: Pick<SmtpTarget, 'mxHost' | 'address'>,
  seen: VerifySeen,
): PostureFinding[] {
  if (seen.kind === 'unreachable') return [unreachableFinding(check, where, seen)];
  const said = seen.answers.map((a) => `${a.command} → ${a.text}`).join('; ');
  const confirmed = seen.answers.find((a) => a.code === 250 || a.code === 251);
  if (confirmed) return [addressFinding(check, where, 'fail', `${check}-enabled`, said)];
  const decided = seen.answers.filter((a) => a.code === 252 || a.code >= 500);
  if (decided.length > 0) return [addressFinding(check, where, 'pass', null, said)];
  return [addressFinding(check, where, 'n/a', 'no-answer', said || 'nothing asked')];
}

export async function gatherVerify(verb: 'VRFY' | 'EXPN', t: SmtpTarget, deps: SmtpDeps, opts: VerifyOptions): Promise<VerifySeen> {
  let open;
  try {
    open = await openSession(t, deps);
  } catch (e) {
    return unreachable(e);
  }
  const answers: Exchange[] = [];
  try {
    for (const who of opts.names) {
      const a = await exchange(open.session, `${verb} ${oneLine(who)}`, 'noop');
      answers.push(a);
      if (a.code === 250 || a.code === 251) break;
    }
  } catch (e) {
    if (answers.length === 0) return unreachable(e);
  } finally {
    await finish(open.session, deps);
  }
  return { kind: 'answers', answers };
}
