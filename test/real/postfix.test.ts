/**
 * Against real Postfix with Dovecot SASL and LMTP delivery, started on 127.0.0.1 by test/real/mailstack.sh
 * (.ci/run does it). Ports: 2525 plain SMTP with STARTTLS, 2587 submission (STARTTLS required + AUTH),
 * 2465 implicit TLS + AUTH. Nothing here can reach outside the machine: see test/real/README.md.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import type { CheckResult } from '../../src/core/result.js';

const env = process.env;
if (!env.MAILSTACK_HOST) {
  throw new Error('MAILSTACK_* not set: start the stack with `bash test/real/mailstack.sh start` and eval its `env` output');
}
const host = env.MAILSTACK_HOST;
const smtp = `smtp://${host}:${env.MAILSTACK_SMTP_PORT}`;
const submission = `smtp://${host}:${env.MAILSTACK_SUBMISSION_PORT}`;
const smtps = `smtps://${host}:${env.MAILSTACK_SMTPS_PORT}`;
const user = env.MAILSTACK_USER!;
const secrets = { PROBE_PASS: env.MAILSTACK_PASS!, WRONG_PASS: 'not-the-password' };
const tls = ['--ca', env.MAILSTACK_CA!, '--servername', 'mail.probe.test'];
const auth = (passVar = 'PROBE_PASS'): string[] => ['--auth-user', user, '--auth-pass-env', passVar];
/** Dovecot delays failed logins (auth_failure_delay, then a per-IP penalty that doubles up to 15 s). */
const slowAuth = ['--phase-timeout', '25s', '--timeout', '40s'];

async function check(...argv: string[]): Promise<{ code: number; result: CheckResult; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['check', ...argv, '--format', 'json', '--transcript'], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: secrets,
  });
  const report = JSON.parse(stdout) as { results: CheckResult[] };
  return { code, result: report.results[0]!, stdout, stderr };
}

/** Dovecot's maildir of the test stack's probe user. */
function maildirFiles(): string[] {
  const base = env.MAILSTACK_MAILDIR!;
  return ['new', 'cur'].flatMap((d) => {
    try {
      return readdirSync(join(base, d)).map((f) => join(base, d, f));
    } catch {
      return [];
    }
  });
}

async function delivered(probeId: string, waitMs = 15_000): Promise<string | null> {
  for (const end = Date.now() + waitMs; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
    for (const f of maildirFiles()) {
      const text = readFileSync(f, 'utf8');
      if (text.includes(`X-Smtp-Probe-Id: ${probeId}`)) return text;
    }
  }
  return null;
}

describe('submission port: STARTTLS + AUTH (Postfix with Dovecot SASL)', () => {
  test('full transaction with AUTH PLAIN passes and the message reaches the mailbox', async () => {
    const { code, result, stdout } = await check(submission, '--tls', 'starttls', ...tls, ...auth(), '--to', user, '--from', user);
    expect(result.failure).toBeNull();
    expect(code).toBe(0);
    expect(result.phases.map((p) => p.phase)).toEqual([
      'connect', 'banner', 'ehlo', 'starttls', 'tls_upgrade', 'ehlo_tls', 'auth', 'mail', 'rcpt', 'data', 'message', 'noop', 'quit',
    ]);
    expect(result.phases.find((p) => p.phase === 'auth')).toMatchObject({ code: 235, mechanism: 'PLAIN' });
    expect(result.tls).toMatchObject({ verified: true, subject: 'mail.probe.test' });
    expect(result.capabilitiesBeforeTls).not.toHaveProperty('AUTH'); // smtpd_tls_auth_only
    expect(result.capabilities).toHaveProperty('AUTH');
    expect(stdout).not.toContain(secrets.PROBE_PASS);
    const message = await delivered(result.probeId);
    expect(message).not.toBeNull();
    expect(message).toContain('Auto-Submitted: auto-generated');
    expect(message).toContain(`Message-ID: <${result.messageId}>`);
  });

  test('AUTH LOGIN passes', async () => {
    const { code, result } = await check(submission, '--tls', 'starttls', ...tls, ...auth(), '--auth-mech', 'LOGIN');
    expect(result.failure).toBeNull();
    expect(code).toBe(0);
    expect(result.phases.find((p) => p.phase === 'auth')).toMatchObject({ code: 235, mechanism: 'LOGIN' });
    expect(result.transcript!.filter((l) => l.dir === 'C' && l.line === '***')).toHaveLength(2);
  });

  test('wrong password fails at auth with 535', async () => {
    const { code, result, stdout } = await check(submission, '--tls', 'starttls', ...tls, ...auth('WRONG_PASS'), ...slowAuth);
    expect(code).toBe(1);
    expect(result.failure).toMatchObject({ phase: 'auth', reason: 'reply', code: 535, enhancedCode: '5.7.8' });
    expect(stdout).not.toContain(secrets.WRONG_PASS);
  });

  test('a negative check for the wrong password passes', async () => {
    const { code, result } = await check(submission, '--tls', 'starttls', ...tls, ...auth('WRONG_PASS'), '--expect', 'auth=535', ...slowAuth);
    expect(code).toBe(0);
    expect(result.phases.find((p) => p.phase === 'auth')).toMatchObject({ ok: true, code: 535 });
  });

  test('without TLS, credentials are not sent', async () => {
    const { code, result } = await check(submission, '--tls', 'none', ...auth());
    expect(code).toBe(1);
    expect(result.failure).toMatchObject({ phase: 'auth', reason: 'auth' });
    expect(result.transcript!.some((l) => l.line.startsWith('AUTH'))).toBe(false);
  });

  test('MAIL before STARTTLS is refused by Postfix (530)', async () => {
    const { code, result } = await check(submission, '--tls', 'none', '--to', user);
    expect(code).toBe(1);
    expect(result.failure).toMatchObject({ phase: 'mail', reason: 'reply', code: 530 });
  });

  test('a certificate for another name fails the required STARTTLS', async () => {
    const { code, result } = await check(submission, '--tls', 'starttls', '--ca', env.MAILSTACK_CA!, '--servername', 'wrong.probe.test');
    expect(code).toBe(1);
    expect(result.failure).toMatchObject({ phase: 'tls_upgrade', reason: 'tls' });
    expect(result.tls?.verifyError).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  test('without the test CA the certificate is untrusted; --insecure goes on and says so', async () => {
    const strict = await check(submission, '--tls', 'starttls', '--servername', 'mail.probe.test');
    expect(strict.result.failure).toMatchObject({ phase: 'tls_upgrade', reason: 'tls' });
    const insecure = await check(submission, '--tls', 'starttls', '--servername', 'mail.probe.test', '--insecure', ...auth());
    expect(insecure.code).toBe(0);
    expect(insecure.result.tls).toMatchObject({ verified: false, verificationSkipped: true });
    expect(insecure.result.warnings.join()).toMatch(/verification disabled/);
  });
});

describe('implicit TLS port', () => {
  test('full transaction with AUTH passes; the handshake is the tls phase', async () => {
    const { code, result } = await check(smtps, ...tls, ...auth(), '--to', user, '--from', user);
    expect(result.failure).toBeNull();
    expect(code).toBe(0);
    expect(result.phases.map((p) => p.phase).slice(0, 4)).toEqual(['connect', 'tls', 'banner', 'ehlo']);
    expect(result.tls).toMatchObject({ verified: true });
    expect(await delivered(result.probeId)).not.toBeNull();
  });
});

describe('plain SMTP port', () => {
  test('an outside-domain RCPT without AUTH is refused (relay denied)', async () => {
    const { code, result } = await check(smtp, ...tls, '--to', 'someone@example.com');
    expect(code).toBe(1);
    expect(result.failure).toMatchObject({ phase: 'rcpt', reason: 'reply', code: 554, enhancedCode: '5.7.1' });
    // DATA may ride in the pipelined group (RFC 2920), but with no valid recipient it is refused: no message.
    expect(result.transcript!.some((l) => l.dir === 'S' && l.line.startsWith('354'))).toBe(false);
    expect(result.phases.some((p) => p.phase === 'message')).toBe(false);
  });

  test('the open-relay check passes: --expect rcpt=5xx, and DATA is never sent', async () => {
    const { code, result } = await check(smtp, ...tls, '--to', 'someone@example.com', '--expect', 'rcpt=5xx');
    expect(code).toBe(0);
    const sent = result.transcript!.filter((l) => l.dir === 'C').map((l) => l.line.split(' ')[0]);
    expect(sent).not.toContain('DATA');
    expect(sent).toContain('RSET');
    expect(sent.at(-1)).toBe('QUIT');
  });

  test('local delivery over opportunistic STARTTLS passes', async () => {
    const { code, result } = await check(smtp, ...tls, '--to', user, '--require-capability', 'PIPELINING', '--require-capability', 'SIZE>=1000000');
    expect(result.failure).toBeNull();
    expect(code).toBe(0);
    expect(result.tls?.verified).toBe(true);
    expect(await delivered(result.probeId)).not.toBeNull();
  });

  test('an unknown local user is refused at RCPT', async () => {
    const { code, result } = await check(smtp, ...tls, '--to', 'nobody-here@probe.test');
    expect(code).toBe(1);
    expect(result.failure).toMatchObject({ phase: 'rcpt', reason: 'reply' });
    expect(result.failure!.code).toBeGreaterThanOrEqual(550);
  });

  test('AUTH is not offered on the plain port: reason auth', async () => {
    const { code, result } = await check(smtp, ...tls, ...auth());
    expect(code).toBe(1);
    expect(result.failure).toMatchObject({ phase: 'auth', reason: 'auth' });
  });

  test('--no-deliver checks MAIL and RCPT, then RSET', async () => {
    const { code, result } = await check(smtp, ...tls, '--to', user, '--no-deliver');
    expect(code).toBe(0);
    expect(result.phases.map((p) => p.phase)).toContain('rset');
    expect(result.phases.map((p) => p.phase)).not.toContain('data');
  });
});
