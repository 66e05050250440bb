/**
 * The SMTP exposure posture checks against the real Postfix 3.7 of test/real/mailstack.sh (127.0.0.1 only; .ci/run
 * starts it): 2525 (an MX: STARTTLS offered, no AUTH, no relay), 2587 (submission: STARTTLS required, AUTH only
 * after TLS), 2465 (implicit TLS). Its safe defaults must pass; the verdicts it gets from the checks that depend on
 * Debian's Postfix and OpenSSL defaults (TLS versions and suites, VRFY) are asserted as measured, with why. A
 * private second instance (ports 35xx, its own directory, started and stopped here) is made unsafe on purpose:
 * AUTH offered before TLS and relaying for loopback clients.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { SmtpTarget } from '../../checks/posture/smtp.js';
import { runStarttls } from '../../checks/posture/starttls.js';
import { runTlsVersions } from '../../checks/posture/tls-versions.js';
import { runTlsCiphers } from '../../checks/posture/tls-ciphers.js';
import { runCertificate } from '../../checks/posture/certificate.js';
import { runStarttlsInjection } from '../../checks/posture/starttls-injection.js';
import { runAuthBeforeTls } from '../../checks/posture/auth-before-tls.js';
import { runVrfy } from '../../checks/posture/vrfy.js';
import { runExpn } from '../../checks/posture/expn.js';
import { runOpenRelay } from '../../checks/posture/open-relay.js';

const env = process.env;
if (!env.MAILSTACK_HOST) {
  throw new Error('MAILSTACK_* not set: start the stack with `bash test/real/mailstack.sh start` and eval its `env` output');
}
const deps = { clock: systemClock, timeoutMs: 15_000, ehloName: 'posture.probe.test' };
const at = (port: string | undefined): SmtpTarget => ({
  mxHost: env.MAILSTACK_HOSTNAME ?? 'mail.probe.test',
  address: env.MAILSTACK_HOST!,
  port: Number(port),
  ca: readFileSync(env.MAILSTACK_CA!, 'utf8'),
});
const mx = at(env.MAILSTACK_SMTP_PORT);
const submission = at(env.MAILSTACK_SUBMISSION_PORT);
const smtps = { ...at(env.MAILSTACK_SMTPS_PORT), implicitTls: true };

describe('SMTP posture checks against real Postfix (MX port)', () => {
  test('starttls: pass', async () => {
    const [f] = await runStarttls(mx, deps);
    expect(f).toMatchObject({ check: 'starttls', result: 'pass', reason: null });
  });

  test('auth_before_tls: pass (no AUTH on the MX port at all)', async () => {
    expect(await runAuthBeforeTls(mx, deps)).toEqual([expect.objectContaining({ result: 'pass', detail: 'no AUTH before STARTTLS' })]);
  });

  test('open_relay: pass, every form refused with 554 Relay access denied', async () => {
    const [f] = await runOpenRelay(mx, deps);
    expect(f).toMatchObject({ check: 'open_relay', result: 'pass', reason: null });
    expect(f!.detail).toMatch(/^all 26 forms refused \(/);
  }, 60_000);

  test('starttls_injection: pass (Postfix drops input pipelined behind STARTTLS)', async () => {
    const [f] = await runStarttlsInjection(mx, deps, { waitMs: 1_500 });
    expect(f).toMatchObject({ result: 'pass', reason: null });
  });

  test('certificate: pass with the stack CA as --ca, name mail.probe.test', async () => {
    const [f] = await runCertificate(mx, deps);
    expect(f).toMatchObject({ result: 'pass', reason: null });
  });

  test('expn: pass (Postfix has no EXPN: 500 command not recognized)', async () => {
    const [f] = await runExpn(mx, deps);
    expect(f).toMatchObject({ result: 'pass' });
    expect(f!.detail).toBe('EXPN postmaster → 500 5.5.2 Error: command not recognized; EXPN smtp-probe → 500 5.5.2 Error: command not recognized');
  });
});

/**
 * Measured on the stack (Postfix 3.7.11, Debian bookworm): its defaults `smtpd_tls_protocols = >=TLSv1` and
 * `smtpd_tls_ciphers = medium` accept TLS 1.0/1.1 and RSA key exchange, and `disable_vrfy_command = no` answers
 * VRFY with 252 for a mailbox it has and 550 for one it lacks (never 250: a pass by the rule, though the two
 * answers still tell mailboxes apart).
 */
describe('SMTP posture checks against real Postfix: what its defaults get', () => {
  test('tls_versions: fail, TLS 1.0 and 1.1 accepted (smtpd_tls_protocols = >=TLSv1)', async () => {
    const [f] = await runTlsVersions(mx, deps);
    expect(f).toMatchObject({ result: 'fail', reason: 'legacy-tls' });
    expect(f!.detail).toMatch(/^accepted TLSv1 \(.+\), TLSv1\.1 \(.+\); SSLv3 not tested/);
  });

  test('tls_ciphers: fail, RSA key exchange accepted (smtpd_tls_ciphers = medium)', async () => {
    const [f] = await runTlsCiphers(mx, deps);
    expect(f).toMatchObject({ result: 'fail', reason: 'weak-cipher' });
    expect(f!.detail).toMatch(/^accepted RSA key exchange \(TLS_RSA_WITH_/);
  });

  test('vrfy: pass, 252 for postmaster and 550 for an unknown name (disable_vrfy_command = no)', async () => {
    const [f] = await runVrfy(mx, deps);
    expect(f).toMatchObject({ result: 'pass', reason: null });
    expect(f!.detail).toMatch(/^VRFY postmaster → 252 2\.0\.0 postmaster; VRFY smtp-probe → 550 5\.1\.1 /);
    const [known] = await runVrfy(mx, deps, { names: [env.MAILSTACK_USER!] });
    expect(known!.detail).toBe(`VRFY ${env.MAILSTACK_USER} → 252 2.0.0 ${env.MAILSTACK_USER}`);
  });
});

describe('SMTP posture checks against real Postfix (submission ports)', () => {
  test('587: auth_before_tls pass (smtpd_tls_auth_only), open_relay pass (530 before STARTTLS)', async () => {
    expect(await runAuthBeforeTls(submission, deps)).toEqual([expect.objectContaining({ result: 'pass' })]);
    const [relay] = await runOpenRelay(submission, deps);
    expect(relay).toMatchObject({ result: 'pass' });
    expect(relay!.detail).toContain('530');
  });

  test('465: certificate over implicit TLS passes; auth_before_tls n/a', async () => {
    expect(await runCertificate(smtps, deps)).toEqual([expect.objectContaining({ result: 'pass' })]);
    expect(await runAuthBeforeTls(smtps, deps)).toEqual([expect.objectContaining({ result: 'n/a' })]);
  });
});

/** The unsafe private instance: mailstack.sh with its own directory and ports, then main.cf changed and reloaded. */
const PRIVATE_DIR = '/tmp/smtp-probe-posture-pf';
const PRIVATE_PORTS = {
  MAILSTACK_SMTP_PORT: '3525', MAILSTACK_SUBMISSION_PORT: '3587', MAILSTACK_SMTPS_PORT: '3465', MAILSTACK_POP3_PORT: '3110',
  MAILSTACK_POP3S_PORT: '3995', MAILSTACK_IMAP_PORT: '3143', MAILSTACK_IMAPS_PORT: '3993', MAILSTACK_LIMITED_PORT: '3524',
  MAILSTACK_SINK_PORT: '3526',
};
const stack = (...args: string[]): string =>
  execFileSync('bash', ['test/real/mailstack.sh', ...args], { env: { ...process.env, ...PRIVATE_PORTS }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('SMTP posture checks against a private Postfix made unsafe (AUTH before TLS, relaying for loopback)', () => {
  const unsafe: SmtpTarget = { ...mx, port: Number(PRIVATE_PORTS.MAILSTACK_SMTP_PORT) };

  beforeAll(async () => {
    stack('start', PRIVATE_DIR);
    execFileSync('postconf', ['-c', `${PRIVATE_DIR}/postfix`, '-e', 'smtpd_tls_auth_only=no', 'smtpd_sasl_auth_enable=yes',
      'mynetworks=127.0.0.0/8', 'smtpd_relay_restrictions=permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination']);
    execFileSync('postfix', ['-c', `${PRIVATE_DIR}/postfix`, 'reload'], { stdio: 'ignore' });
    // The reload reaches new smtpd processes only: wait until EHLO shows the change.
    for (let i = 0; i < 100; i++) {
      const [f] = await runAuthBeforeTls(unsafe, deps);
      if (f!.result === 'fail') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the private Postfix never offered AUTH before TLS after its reload');
  }, 60_000);

  afterAll(() => {
    stack('stop', PRIVATE_DIR);
  }, 30_000);

  test('auth_before_tls: fail, AUTH PLAIN LOGIN offered before STARTTLS (smtpd_tls_auth_only = no)', async () => {
    const [f] = await runAuthBeforeTls(unsafe, deps);
    expect(f).toMatchObject({ result: 'fail', reason: 'auth-before-tls' });
    expect(f!.detail).toBe('AUTH PLAIN LOGIN offered before STARTTLS (offered: PLAIN LOGIN)');
  });

  test('open_relay: fail at the first form (permit_mynetworks for 127.0.0.0/8); no message was ever queued', async () => {
    const [f] = await runOpenRelay(unsafe, deps);
    expect(f).toMatchObject({ result: 'fail', reason: 'open-relay' });
    expect(f!.detail).toBe('relayed: MAIL FROM:<> RCPT TO:<relaytest@example.net> → 250 2.1.5 Ok');
    // Postfix logs a queue ID with from=/to= once a message is queued: RCPT and RSET only leave none.
    const log = readFileSync(`${PRIVATE_DIR}/postfix.log`, 'utf8');
    expect(log).not.toMatch(/to=<relaytest@example\.net>/);
    expect(log).not.toMatch(/qmgr.*from=<>/);
  }, 30_000);

  test('the same checks on the safe stack at the same moment: pass', async () => {
    expect((await runAuthBeforeTls(mx, deps))[0]).toMatchObject({ result: 'pass' });
    expect((await runOpenRelay(mx, deps))[0]).toMatchObject({ result: 'pass' });
  }, 30_000);
});
