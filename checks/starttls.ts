import { ProbeError } from '../src/core/errors.js';
import { hasCapability, parseCapabilities } from '../src/smtp/ehlo.js';
import { oneLine } from '../src/smtp/message.js';
import { isStartTls, unmet } from './ehlo.js';
import { OK, STOP, acceptTls, failPhase, judge, type CheckModule } from './step.js';

/**
 * STARTTLS (RFC 3207): the command, the handshake (`tls_upgrade`, certificate verified against the server name),
 * then EHLO again (`ehlo_tls`), whose capabilities replace the plaintext ones.
 */
export const starttls: CheckModule = {
  kind: 'starttls',
  summary: 'STARTTLS, the handshake and certificate, EHLO again',
  async run(ctx) {
    const { plan, state, session } = ctx;
    if (plan.tls === 'none' || plan.tls === 'implicit' || state.usedHelo) {
      if (plan.tls === 'starttls') {
        throw failPhase(ctx, new ProbeError('expectation', 'starttls', 'STARTTLS required but the server refused EHLO'));
      }
      return OK;
    }
    if (!hasCapability(state.capabilities, 'STARTTLS')) {
      if (plan.tls === 'starttls') {
        throw failPhase(ctx, new ProbeError('expectation', 'starttls', 'STARTTLS required but not advertised'));
      }
      state.warnings.push('STARTTLS not advertised; the session stayed in plaintext');
      return OK;
    }
    const reply = await session.command('STARTTLS', 'starttls');
    if (judge(ctx, 'starttls', reply)) return STOP;
    const { info, discardedBytes } = await session.startTls(plan.tlsParams, 'tls_upgrade');
    acceptTls(ctx, 'tls_upgrade', info, discardedBytes);
    const again = await session.command(`EHLO ${oneLine(plan.ehlo)}`, 'ehlo_tls');
    state.capabilitiesBeforeTls = state.capabilities;
    state.capabilities = again.code === 250 ? parseCapabilities(again) : null;
    const caps = state.capabilities ?? {};
    const problem = unmet(caps, plan.requireCapabilities.filter((r) => !isStartTls(r)));
    return judge(ctx, 'ehlo_tls', again, {}, problem) ? STOP : OK;
  },
};
