import { isProbeError } from '../src/core/errors.js';
import { OK, judge, type CheckModule, type StepContext } from './step.js';

/** Longest wait for QUIT's 221: a server that never answers costs little. */
export const QUIT_WAIT_MS = 2000;

/** QUIT. No 221 in time, or the server closing instead, is ok with a warning (README "Phases"). */
export const quit = {
  kind: 'quit',
  summary: 'QUIT; a missing 221 is a warning',
  async run(ctx) {
    await sendQuit(ctx);
    return OK;
  },
} satisfies CheckModule;

export async function sendQuit(ctx: StepContext): Promise<void> {
  const { session, state } = ctx;
  state.quitDone = true;
  try {
    session.send(['QUIT'], 'quit');
    const reply = await session.read('quit', QUIT_WAIT_MS);
    judge(ctx, 'quit', reply);
  } catch (e) {
    if (!isProbeError(e) || (e.reason !== 'closed' && e.reason !== 'timeout')) throw e;
    const what = e.reason === 'closed' ? 'the server closed the connection instead of answering QUIT' : `no reply to QUIT within ${QUIT_WAIT_MS} ms`;
    state.warnings.add('quit_unanswered', what);
    ctx.trace.end('quit', true, { detail: what });
  }
}
