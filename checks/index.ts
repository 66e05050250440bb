import type { StepKind } from '../src/core/plan.js';
import { auth } from './auth.js';
import { banner } from './banner.js';
import { ehlo } from './ehlo.js';
import { noop } from './noop.js';
import { quit } from './quit.js';
import { send } from './send.js';
import type { CheckModule, SchemaKit } from './step.js';
import { starttls } from './starttls.js';

/**
 * Every check kind by name. Adding one is a new file and one line here (and its name in core/plan.ts
 * STEP_KINDS, which fixes the order steps run in); the config schema takes the module keys it owns from here.
 */
export const CHECKS = { banner, ehlo, starttls, auth, send, noop, quit } as const satisfies Readonly<Record<StepKind, CheckModule>>;

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** The module keys all checks own together, with their exact zod types. */
export type CheckOptionShape = UnionToIntersection<
  { [K in StepKind]: (typeof CHECKS)[K] extends { options(kit: SchemaKit): infer S } ? S : Record<never, never> }[StepKind]
>;

/** Every check's own module keys, merged: what config/schema.ts adds to a module. */
export function checkOptionShape(kit: SchemaKit): CheckOptionShape {
  const shape: Record<string, unknown> = {};
  for (const check of Object.values(CHECKS) as CheckModule[]) Object.assign(shape, check.options?.(kit));
  return shape as CheckOptionShape;
}

export type { CheckModule, RunState, SchemaKit, StepContext, StepOutcome } from './step.js';
