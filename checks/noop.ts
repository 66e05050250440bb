import { OK, STOP, judge, type CheckModule } from './step.js';

export const noop = {
  kind: 'noop',
  summary: 'NOOP: the session is still responsive',
  async run(ctx) {
    const reply = await ctx.session.command('NOOP', 'noop');
    return judge(ctx, 'noop', reply) ? STOP : OK;
  },
} satisfies CheckModule;
