/**
 * A daemon target under a module with `posture:` → the posture run's request: the target's host is the domain
 * (mx://DOMAIN, or a host name: without an MX record it is its own implicit MX), its port the MX hosts' port
 * (465 and smtps://: implicit TLS), the module's CA and EHLO name, and the module's `posture:` settings.
 */
import type { CheckPlan } from '../core/plan.js';
import type { PostureModuleSettings } from '../core/posture.js';
import { DEFAULTS } from '../plan/defaults.js';
import { postureOptions } from './options.js';
import type { PostureRequest } from './run.js';

export function postureRequestOf(plan: CheckPlan, s: PostureModuleSettings): PostureRequest {
  const ca = plan.tlsParams.ca;
  return {
    domain: plan.host.toLowerCase().replace(/\.$/, ''),
    port: plan.port,
    implicitTls: plan.tls === 'implicit' || plan.port === 465,
    checks: s.checks,
    ca: ca === undefined ? null : String(ca),
    connectTo: s.connectTo,
    options: postureOptions(s.options, null),
    ehloName: plan.ehlo,
    smtpTimeoutMs: Math.min(plan.phaseTimeoutMs, DEFAULTS.posture.smtpTimeoutMs),
    at: null,
  };
}
