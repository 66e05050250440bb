/** `expn`: `EXPN postmaster` and `EXPN smtp-probe`; 250/251 for any: fail `expn-enabled`; 252 and 5xx: pass (verify.ts). */
import type { PostureFinding } from '../../src/core/posture.js';
import type { SmtpDeps, SmtpTarget } from './smtp.js';
import type { SchemaKit } from '../step.js';
import { DEFAULT_VERIFY_NAMES, gatherVerify, judgeVerify, verifyOptionsShape, type VerifyOptions, type VerifySeen } from './verify.js';

export const name = 'expn' as const;

export type ExpnOptions = VerifyOptions;
/** Config keys of `expn`: `names`. */
export function options(kit: SchemaKit) {
  return verifyOptionsShape(kit);
}

export const DEFAULT_EXPN_OPTIONS: ExpnOptions = { names: DEFAULT_VERIFY_NAMES };

export function judgeExpn(where: Pick<SmtpTarget, 'mxHost' | 'address'>, seen: VerifySeen): PostureFinding[] {
  return judgeVerify(name, where, seen);
}

export function gatherExpn(t: SmtpTarget, deps: SmtpDeps, opts: ExpnOptions = DEFAULT_EXPN_OPTIONS): Promise<VerifySeen> {
  return gatherVerify('EXPN', t, deps, opts);
}

export async function runExpn(t: SmtpTarget, deps: SmtpDeps, opts: ExpnOptions = DEFAULT_EXPN_OPTIONS): Promise<PostureFinding[]> {
  return judgeExpn(t, await gatherExpn(t, deps, opts));
}
