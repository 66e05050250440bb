import { ProbeError } from '../src/core/errors.js';
import { checkRequirement, hasCapability, parseCapabilities, type Capabilities } from '../src/smtp/ehlo.js';
import { oneLine } from '../src/smtp/message.js';
import { OK, STOP, judge, type CheckModule, type StepContext } from './step.js';

/** EHLO and its capabilities; HELO when EHLO is refused with 5xx (RFC 5321 4.1.4). */
export const ehlo = {
  kind: 'ehlo',
  summary: 'EHLO (HELO fallback), capabilities, required capabilities',
  options: ({ z, oneLine }) => ({
    ehlo: oneLine('ehlo').optional().meta({ description: "The name sent with EHLO/HELO (default: global.ehlo, the machine's FQDN)" }),
    require_capabilities: z
      .array(z.string().regex(/^[A-Za-z0-9-]+((>=\d+)|(=\S+))?$/, 'must be NAME, NAME>=N or NAME=WORD'))
      .optional()
      .meta({ description: 'EHLO keywords the server must offer (STARTTLS judged before TLS, the rest after). Example: [STARTTLS, "SIZE>=10240000", AUTH=PLAIN]' }),
  }),
  async run(ctx) {
    const name = oneLine(ctx.plan.ehlo);
    const reply = await ctx.session.command(`EHLO ${name}`, 'ehlo');
    if (reply.code >= 500 && reply.code !== 554 && !ctx.plan.expect.ehlo) {
      ctx.trace.end('ehlo', false, { code: reply.code, detail: 'refused; falling back to HELO' });
      const helo = await ctx.session.command(`HELO ${name}`, 'helo');
      ctx.state.usedHelo = true;
      ctx.state.capabilities = {};
      ctx.state.warnings.add('helo_fallback', `EHLO refused with ${reply.code}; HELO accepted, so no ESMTP extensions are available`);
      const missing = ctx.plan.requireCapabilities.length > 0 ? `server refused EHLO, so it advertises no capabilities` : null;
      return judge(ctx, 'helo', helo, {}, missing) ? STOP : OK;
    }
    const caps = reply.code === 250 ? parseCapabilities(reply) : null;
    ctx.state.capabilities = caps;
    const problem = caps ? unmet(caps, ctx.plan.requireCapabilities.filter((r) => !tlsWillFollow(ctx, caps) || isStartTls(r))) : null;
    return judge(ctx, 'ehlo', reply, {}, problem) ? STOP : OK;
  },
} satisfies CheckModule;

/** The first requirement not met, or null. */
export function unmet(caps: Capabilities, requirements: string[]): string | null {
  for (const r of requirements) {
    const problem = checkRequirement(caps, r);
    if (problem) return problem;
  }
  return null;
}

export function isStartTls(requirement: string): boolean {
  return requirement.trim().toUpperCase() === 'STARTTLS';
}

/** Capabilities other than STARTTLS are judged on the EHLO after the upgrade when one will happen. */
function tlsWillFollow(ctx: StepContext, caps: Capabilities): boolean {
  const { tls, steps } = ctx.plan;
  if (!steps.includes('starttls')) return false;
  return tls === 'starttls' || (tls === 'opportunistic' && hasCapability(caps, 'STARTTLS'));
}

export function requireEhlo(ctx: StepContext): Capabilities {
  if (ctx.state.capabilities === null) throw new ProbeError('internal', 'ehlo', 'a step needs EHLO first');
  return ctx.state.capabilities;
}
