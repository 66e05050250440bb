import { ProbeError } from '../src/core/errors.js';
import type { CheckPlan } from '../src/core/plan.js';
import { credentialSecrets, type Secret } from '../src/core/redact.js';
import { SASL_MECHANISMS } from '../src/core/sasl.js';
import { authMechanisms } from '../src/smtp/ehlo.js';
import { chooseMechanism, decodeChallenge, startSasl } from '../src/smtp/sasl.js';
import { OK, STOP, failPhase, judge, type CheckModule } from './step.js';

/** Most 334 challenges answered before giving up on a server that keeps asking. */
const MAX_CHALLENGES = 4;

/**
 * What the session masks for a plan with credentials: the password and every base64 form a mechanism sends it
 * in (LOGIN, PLAIN with and without authzid, XOAUTH2). The runner hands them to the session before the first
 * byte, so a server that repeats them (in a banner, a discarded reply, a later connection) is masked too.
 */
export function authSecrets(plan: Pick<CheckPlan, 'auth'>): Secret[] {
  return plan.auth ? credentialSecrets(plan.auth.username, plan.auth.password) : [];
}

/**
 * SMTP AUTH (RFC 4954). Credentials go only over TLS whose certificate verified (or was not checked on purpose,
 * `insecure`), or wherever `allowPlaintext` says they may; the transcript shows `***`.
 */
export const auth = {
  kind: 'auth',
  summary: 'AUTH PLAIN/LOGIN/CRAM-MD5/XOAUTH2; refuses plaintext and unverified TLS unless allowed',
  options: ({ z, oneLine, file }) => ({
    auth: z
      .strictObject({
        mechanism: z
          .enum(SASL_MECHANISMS)
          .optional()
          .meta({ description: `SASL mechanism: ${SASL_MECHANISMS.join(', ')} (default: PLAIN when offered, else LOGIN); XOAUTH2 takes a token as password` }),
        username: oneLine('username').meta({ description: 'Login name sent with AUTH. Example: probe@example.test' }),
        password: z.string().optional().meta({ description: 'The password from ${ENV_VAR} (a literal is warned about); or password_file. One of the two is required' }),
        password_file: file.optional().meta({ description: 'File holding the password (relative to the config file; one trailing newline stripped). Example: /run/secrets/smtp_password' }),
        allow_plaintext: z.boolean().optional().meta({ description: 'Send credentials without TLS, or over TLS whose certificate did not verify (default false)' }),
      })
      .optional()
      .meta({ description: 'SMTP AUTH (RFC 4954) credentials: the auth step runs when they are given, over verified TLS only' }),
  }),
  async run(ctx) {
    const { plan, session, state } = ctx;
    const a = plan.auth;
    if (!a) return OK;
    if (!session.encrypted && !a.allowPlaintext) {
      throw failPhase(
        ctx,
        new ProbeError('auth', 'auth', 'refusing to send credentials over an unencrypted connection (use TLS, or allow plaintext explicitly)'),
      );
    }
    // An unverified certificate protects nothing against whoever sits in the middle: treat it like plaintext.
    if (session.encrypted && state.tls && !state.tls.verified && !plan.tlsParams.insecure && !a.allowPlaintext) {
      throw failPhase(
        ctx,
        new ProbeError('auth', 'auth', 'refusing to send credentials: the TLS certificate did not verify (give --ca / tls_config.ca_file, or --insecure / insecure_skip_verify)'),
      );
    }
    const offered = authMechanisms(state.capabilities);
    const choice = chooseMechanism(offered, a.mechanism);
    if ('error' in choice) throw failPhase(ctx, new ProbeError('auth', 'auth', choice.error));
    const mechanism = choice.mechanism;
    const exchange = startSasl(mechanism, { username: a.username, password: a.password });
    const shown = exchange.command.includes(' ', 5) ? `AUTH ${mechanism} ***` : exchange.command;
    let reply = await session.command(exchange.command, 'auth', shown);
    for (let step = 0; reply.code === 334 && step < MAX_CHALLENGES; step += 1) {
      const answer = exchange.respond(decodeChallenge(reply.lines[0] ?? ''), step);
      reply = await session.command(answer, 'auth', '***');
    }
    return judge(ctx, 'auth', reply, { mechanism }) ? STOP : OK;
  },
} satisfies CheckModule;
