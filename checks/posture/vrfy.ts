/** `vrfy`: `VRFY postmaster` and `VRFY smtp-probe`; 250/251 for any: fail `vrfy-enabled`; 252 and 5xx: pass (verify.ts). */
import type { PostureFinding } from '../../src/core/posture.js';
import type { SmtpDeps, SmtpTarget } from './smtp.js';
import type { SchemaKit } from '../step.js';
import { DEFAULT_VERIFY_NAMES, gatherVerify, judgeVerify, verifyOptionsShape, type VerifyOptions, type VerifySeen } from './verify.js';

export const name = 'vrfy' as const;

export type VrfyOptions = VerifyOptions;
/** Config keys of `vrfy`: `names`. */
export function options(kit: SchemaKit) {
  return verifyOptionsShape(kit);
}

export const DEFAULT_VRFY_OPTIONS: VrfyOptions = { names: DEFAULT_VERIFY_NAMES };

export function judgeVrfy(where: Pick<SmtpTarget, 'mxHost' | 'address'>, seen: VerifySeen): PostureFinding[] {
  return judgeVerify(name, where, seen);
}

export function gatherVrfy(t: SmtpTarget, deps: SmtpDeps, opts: VrfyOptions = DEFAULT_VRFY_OPTIONS): Promise<VerifySeen> {
  return gatherVerify('VRFY', t, deps, opts);
}

export async function runVrfy(t: SmtpTarget, deps: SmtpDeps, opts: VrfyOptions = DEFAULT_VRFY_OPTIONS): Promise<PostureFinding[]> {
  return judgeVrfy(t, await gatherVrfy(t, deps, opts));
}
