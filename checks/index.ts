import type { StepKind } from '../src/core/plan.js';
import { auth } from './auth.js';
import { banner } from './banner.js';
import { ehlo } from './ehlo.js';
import { noop } from './noop.js';
import { quit } from './quit.js';
import { send } from './send.js';
import type { CheckModule } from './step.js';
import { starttls } from './starttls.js';

/** Every check kind by name. Adding one is a new file and one line here. */
export const CHECKS: Readonly<Record<StepKind, CheckModule>> = { banner, ehlo, starttls, auth, send, noop, quit };

export type { CheckModule, RunState, StepContext, StepOutcome } from './step.js';
