import { OK, judge, type CheckModule } from './step.js';

/** The greeting: code 220 (or what `expect.banner` says) and, optionally, a text pattern. */
export const banner = {
  kind: 'banner',
  summary: 'read the greeting; expected code and optional text pattern',
  options: ({ z }) => ({
    banner_pattern: z.string().optional().meta({ description: "A regular expression the greeting text must match, else banner fails. Example: '\\.example\\.test ESMTP'" }),
  }),
  async run(ctx) {
    const reply = await ctx.session.read('banner');
    const text = reply.lines.join('\n');
    ctx.state.banner = text;
    const pattern = ctx.plan.bannerPattern;
    const problem = pattern && !pattern.test(text) ? `banner does not match /${pattern.source}/` : null;
    judge(ctx, 'banner', reply, {}, problem);
    return OK;
  },
} satisfies CheckModule;
