import { ProbeError } from '../src/core/errors.js';
import { TLS_MODES, certDaysProblem, parseCertDays, type CertDays, type TlsMode } from '../src/core/tls.js';
import { hasCapability, parseCapabilities } from '../src/smtp/ehlo.js';
import { oneLine } from '../src/smtp/message.js';
import { isStartTls, unmet } from './ehlo.js';
import { OK, STOP, acceptTls, failPhase, judge, type CheckModule, type SchemaKit } from './step.js';

/**
 * STARTTLS (RFC 3207): the command, the handshake (`tls_upgrade`, certificate verified against the server name),
 * then EHLO again (`ehlo_tls`), whose capabilities replace the plaintext ones.
 */
export const starttls = {
  kind: 'starttls',
  summary: 'STARTTLS, the handshake and certificate, EHLO again',
  options: ({ z, oneLine, file }) => ({
    tls: z
      .enum(TLS_MODES as [TlsMode, ...TlsMode[]])
      .optional()
      .meta({ description: 'none | opportunistic (default for smtp://: STARTTLS when offered) | starttls (required, verified) | implicit (default for smtps://)' }),
    tls_config: z
      .strictObject({
        ca_file: file.optional().meta({ description: 'PEM file of the CAs to trust instead of the system store. Example: /etc/smtp-probe/mail-ca.pem' }),
        cert_file: file.optional().meta({ description: 'PEM client certificate, for servers that ask for one (with key_file)' }),
        key_file: file.optional().meta({ description: 'PEM private key of the client certificate (with cert_file)' }),
        server_name: oneLine('server_name').optional().meta({ description: 'Name the certificate must match, and SNI (default: the host)' }),
        insecure_skip_verify: z.boolean().optional().meta({ description: 'Do not fail on an untrusted certificate (still recorded as verified: false)' }),
        min_version: z.enum(['TLS10', 'TLS11', 'TLS12', 'TLS13']).optional().meta({ description: "Lowest TLS version offered: TLS10, TLS11, TLS12 or TLS13 (default: Node's, TLS12)" }),
      })
      .optional()
      .meta({ description: "TLS settings, with blackbox_exporter's key names" }),
    min_cert_days: certDaysOption(z),
  }),
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
      state.warnings.add('starttls_missing', 'STARTTLS not advertised; the session stayed in plaintext');
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
} satisfies CheckModule;

/**
 * `min_cert_days`: 14 (a warning under 14 days, as before), "14,7" (check_smtp's -D: and a failure under 7) or
 * { warning: 14, critical: 7 }; converted to the two levels once, here.
 */
function certDaysOption(z: SchemaKit['z']) {
  const days = z.number().int().nonnegative();
  return z
    .union([days, z.string(), z.strictObject({
      warning: days.optional().meta({ description: 'Fewer days left than this: a warning. Example: 14' }),
      critical: days.optional().meta({ description: 'Fewer days left than this: a failure (reason tls). Example: 7' }),
    })], {
      error: 'must be days (14), "WARN,CRIT" ("14,7") or { warning: 14, critical: 7 }',
    })
    .transform((v, ctx): CertDays => {
      const d = typeof v === 'number' ? { warning: v, critical: null }
        : typeof v === 'string' ? parseCertDays(v)
          : certDaysProblem({ warning: v.warning ?? null, critical: v.critical ?? null });
      if (typeof d === 'string') {
        ctx.addIssue({ code: 'custom', message: d });
        return z.NEVER;
      }
      return d;
    })
    .optional()
    .meta({
      description: 'Certificate days left: fewer than the warning level is a warning (WARNING in nagios format), fewer than the critical level a failure at tls/tls_upgrade (reason tls). Examples: 14, "14,7", { warning: 14, critical: 7 }',
    });
}
