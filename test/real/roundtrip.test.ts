/**
 * Round trip against the real Postfix + Dovecot pair (test/real/mailstack.sh): send through Postfix, read the
 * message back over POP3 and IMAP (STARTTLS and implicit TLS), time it, check the hop table against the
 * message's own headers, and leave the mailbox clean.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import type { CheckResult } from '../../src/core/result.js';

const env = process.env;
if (!env.MAILSTACK_HOST) throw new Error('MAILSTACK_* not set: run under .ci/run or eval `bash test/real/mailstack.sh env`');
const host = env.MAILSTACK_HOST;
const smtp = `smtp://${host}:${env.MAILSTACK_SMTP_PORT}`;
const user = env.MAILSTACK_USER!;
const secrets = { MB_PASS: env.MAILSTACK_PASS! };
const tls = ['--ca', env.MAILSTACK_CA!, '--servername', 'mail.probe.test'];

const MAILBOXES: [string, string][] = [
  ['POP3 with STLS', `pop3://${host}:${env.MAILSTACK_POP3_PORT}`],
  ['POP3S', `pop3s://${host}:${env.MAILSTACK_POP3S_PORT}`],
  ['IMAP with STARTTLS', `imap://${host}:${env.MAILSTACK_IMAP_PORT}`],
  ['IMAPS', `imaps://${host}:${env.MAILSTACK_IMAPS_PORT}`],
];

async function check(argv: string[]): Promise<{ code: number; result: CheckResult; stdout: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['check', ...argv, '--format', 'json'], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: secrets });
  if (!stdout) throw new Error(stderr);
  return { code, result: (JSON.parse(stdout) as { results: CheckResult[] }).results[0]!, stdout };
}

const mailboxFlags = (url: string, to = user): string[] => [
  smtp, ...tls, '--to', to, '--from', user, '--mailbox', url, '--mailbox-user', user, '--mailbox-pass-env', 'MB_PASS',
  '--mailbox-ca', env.MAILSTACK_CA!, '--roundtrip-timeout', '15s',
];

/** Probe messages still in the probe user's maildir (Dovecot's files). */
function probeMessagesLeft(probeId: string): number {
  let n = 0;
  for (const d of ['new', 'cur']) {
    const dir = join(env.MAILSTACK_MAILDIR!, d);
    let files: string[] = [];
    try {
      files = readdirSync(dir);
    } catch {
      continue;
    }
    for (const f of files) if (readFileSync(join(dir, f), 'utf8').includes(`X-Smtp-Probe-Id: ${probeId}`)) n += 1;
  }
  return n;
}

describe.each(MAILBOXES)('round trip over %s', (_name, url) => {
  test('sent, found, timed, deleted; the hop table matches the message', async () => {
    const { code, result, stdout } = await check(mailboxFlags(url));
    expect(result.failure).toBeNull();
    expect(code).toBe(0);
    const rt = result.roundtrip!;
    expect(rt.deliveredMs).toBeGreaterThanOrEqual(0);
    expect(rt.deliveredMs).toBeLessThan(15_000);
    expect(rt.folder).toBe('INBOX');
    expect(result.phases.at(-1)).toMatchObject({ phase: 'roundtrip', ok: true });
    // Postfix's smtpd hop, then Dovecot's LMTP delivery: as the test stack writes them.
    expect(rt.hops.map((h) => h.with)).toEqual(['ESMTPS', 'LMTP']);
    expect(rt.hops[0]).toMatchObject({ index: 1, by: 'mail.probe.test' });
    expect(rt.hops[1]).toMatchObject({ index: 2, by: 'mail.probe.test' });
    for (const h of rt.hops) expect(h.date).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(stdout).not.toContain(secrets.MB_PASS);
    expect(probeMessagesLeft(result.probeId)).toBe(0);
  });
});

describe('a message that never arrives', () => {
  test('fails at roundtrip with reason timeout', async () => {
    // Sent to the other user: the probe user's mailbox never gets it.
    const argv = mailboxFlags(`pop3s://${host}:${env.MAILSTACK_POP3S_PORT}`, env.MAILSTACK_OTHER_USER!);
    argv[argv.indexOf('--roundtrip-timeout') + 1] = '3s';
    const started = Date.now();
    const { code, result } = await check(argv);
    expect(code).toBe(1);
    expect(result.failure).toMatchObject({ phase: 'roundtrip', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.phases.find((p) => p.phase === 'message')).toMatchObject({ ok: true, code: 250 });
  });

  test('wrong mailbox password: fails at roundtrip with reason auth, password not echoed', async () => {
    let stdout = '';
    const code = await runCli(['check', ...mailboxFlags(`imaps://${host}:${env.MAILSTACK_IMAPS_PORT}`), '--format', 'json'], {
      stdout: (t) => (stdout += t), stderr: () => undefined, env: { MB_PASS: 'not-the-password' },
    });
    expect(code).toBe(1);
    const r = (JSON.parse(stdout) as { results: CheckResult[] }).results[0]!;
    expect(r.failure).toMatchObject({ phase: 'roundtrip', reason: 'auth' });
    expect(stdout).not.toContain('not-the-password');
  });
});

describe('IMAP IDLE', () => {
  test('the new mail is seen as Dovecot announces it, not at the next poll 15 s later', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-idle-'));
    const file = join(dir, 'idle.yaml');
    writeFileSync(file, `modules:
  delivery:
    tls_config: { ca_file: ${env.MAILSTACK_CA}, server_name: mail.probe.test }
    send: { from: ${user}, to: [${user}] }
    roundtrip:
      mailbox: "imaps://${host}:${env.MAILSTACK_IMAPS_PORT}"
      username: ${user}
      password: "\${MB_PASS}"
      ca_file: ${env.MAILSTACK_CA}
      server_name: mail.probe.test
      timeout: 30s
      poll_interval: 15s
targets:
  - { name: idle, url: "${smtp}", module: delivery, interval: 2m }
`);
    let stdout = '';
    const code = await runCli(['check', '--config', file, '--format', 'json'], { stdout: (t) => (stdout += t), stderr: () => undefined, env: secrets });
    const r = (JSON.parse(stdout) as { results: CheckResult[] }).results[0]!;
    expect(r.failure).toBeNull();
    expect(code).toBe(0);
    // The first search runs right after the send and usually misses; IDLE then wakes on Dovecot's EXISTS
    // (about half a second here, a few seconds when the machine is busy), well before the 15 s poll.
    expect(r.phases.at(-1)!.durationMs).toBeLessThan(10_000);
  });
});
