/**
 * The mailbox clients against the real Dovecot of test/real/mailstack.sh, with Postfix delivering into it:
 * POP3 with STLS, POP3S, IMAP with STARTTLS, IMAPS. Messages are sent over SMTP to probe@probe.test on
 * MAILSTACK_SMTP_PORT and read back by their X-Smtp-Probe-Id. The mailbox is shared with other suites: every
 * message here carries this run's unique ids and target, and only those are touched or removed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { ImapFlow } from 'imapflow';
import { afterAll, describe, expect, test } from 'vitest';
import { isProbeError } from '../../src/core/errors.js';
import { openMailbox } from '../../src/mailbox/index.js';
import type { MailboxSession, MailboxSettings } from '../../src/mailbox/types.js';
import { rfc5322Date } from '../../src/smtp/message.js';

const env = process.env;
if (!env.MAILSTACK_HOST) {
  throw new Error('MAILSTACK_* not set: start the stack with `bash test/real/mailstack.sh start` and eval its `env` output');
}
const host = env.MAILSTACK_HOST;
const ca = readFileSync(env.MAILSTACK_CA!, 'utf8');
const RUN = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
const HOUR = 3_600_000;

const base = {
  host,
  username: env.MAILSTACK_USER!,
  password: env.MAILSTACK_PASS!,
  allowPlaintext: false,
  ca,
  servername: env.MAILSTACK_HOSTNAME ?? 'mail.probe.test',
  insecure: false,
};
const stacks: Array<{ name: string; settings: MailboxSettings }> = [
  { name: 'POP3 + STLS', settings: { ...base, protocol: 'pop3', port: Number(env.MAILSTACK_POP3_PORT), starttls: true } },
  { name: 'POP3S', settings: { ...base, protocol: 'pop3s', port: Number(env.MAILSTACK_POP3S_PORT), starttls: false } },
  { name: 'IMAP + STARTTLS', settings: { ...base, protocol: 'imap', port: Number(env.MAILSTACK_IMAP_PORT), starttls: true } },
  { name: 'IMAPS', settings: { ...base, protocol: 'imaps', port: Number(env.MAILSTACK_IMAPS_PORT), starttls: false } },
];

const uid = (what: string): string => `${what}-${RUN}-${randomBytes(4).toString('hex')}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------------ helpers ---

interface Mail {
  probeId?: string;
  target?: string;
  marker?: string;
  date?: Date;
}

function message(m: Mail): string {
  const headers = [
    `Date: ${rfc5322Date(m.date ?? new Date())}`,
    'From: <mailbox-test@probe.test>',
    'To: <probe@probe.test>',
    `Subject: mailbox test ${RUN}`,
    `Message-ID: <${uid('msg')}@probe.test>`,
    ...(m.probeId ? [`X-Smtp-Probe-Id: ${m.probeId}`] : []),
    ...(m.target ? [`X-Smtp-Probe-Target: ${m.target}`] : []),
    ...(m.marker ? [`X-Mailbox-Test: ${m.marker}`] : []),
  ];
  // The dotted line travels stuffed over SMTP and POP3 and must come back as it was.
  return `${headers.join('\r\n')}\r\n\r\nround trip body\r\n.dotted line\r\nend\r\n`;
}

/** One SMTP transaction to probe@probe.test on the stack's port 2525 (plain, no AUTH needed for local delivery). */
function send(m: Mail): Promise<void> {
  const data = message(m).replace(/^\./gm, '..');
  const script = ['EHLO mailbox-test.probe.test', 'MAIL FROM:<mailbox-test@probe.test>', 'RCPT TO:<probe@probe.test>', 'DATA', `${data}.`, 'QUIT'];
  const want = [220, 250, 250, 250, 354, 250, 221];
  return new Promise<void>((resolve, reject) => {
    const s = net.connect(Number(env.MAILSTACK_SMTP_PORT), host);
    const timer = setTimeout(() => finish(new Error('SMTP send did not finish within 10 s')), 10_000);
    let step = 0;
    let buf = '';
    function finish(err: Error | null): void {
      clearTimeout(timer);
      s.destroy();
      if (err) reject(err);
      else resolve();
    }
    s.on('error', finish);
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let m = /^(\d{3})([ -])[^\n]*\n/.exec(buf); m; m = /^(\d{3})([ -])[^\n]*\n/.exec(buf)) {
        buf = buf.slice(m[0].length);
        if (m[2] === '-') continue;
        if (Number(m[1]) !== want[step]) return finish(new Error(`SMTP: wanted ${want[step]}, got ${m[0].trim()}`));
        if (step === script.length) return finish(null);
        s.write(`${script[step]}\r\n`);
        step += 1;
      }
    });
  });
}

/** imapflow straight, for looking at the mailbox from outside the code under test. */
async function withImap<T>(fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = new ImapFlow({
    host,
    port: Number(env.MAILSTACK_IMAPS_PORT),
    secure: true,
    servername: base.servername,
    tls: { ca },
    auth: { user: base.username, pass: base.password },
    logger: false,
    disableAutoIdle: true,
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.logout().catch(() => c.close());
  }
}

async function inInbox(c: ImapFlow, header: string, value: string): Promise<number[]> {
  const lock = await c.getMailboxLock('INBOX');
  try {
    return (await c.search({ header: { [header]: value }, deleted: false }, { uid: true })) || [];
  } finally {
    lock.release();
  }
}

const count = (header: string, value: string): Promise<number> => withImap(async (c) => (await inInbox(c, header, value)).length);

/** Wait until `n` messages with this header value are in INBOX (Postfix → LMTP → Dovecot takes a moment). */
async function delivered(header: string, value: string, n: number): Promise<void> {
  for (const end = Date.now() + 15_000; Date.now() < end; await sleep(150)) {
    if ((await count(header, value)) >= n) return;
  }
  throw new Error(`${n} message(s) with ${header}: ${value} not delivered within 15 s`);
}

/** Remove whatever this run left (by the marker header, or this run's target). */
async function purge(header: string, value: string): Promise<void> {
  await withImap(async (c) => {
    const lock = await c.getMailboxLock('INBOX');
    try {
      const uids = (await c.search({ header: { [header]: value } }, { uid: true })) || [];
      if (uids.length > 0) await c.messageDelete(uids.join(','), { uid: true });
    } finally {
      lock.release();
    }
  });
}

async function pollTake(session: MailboxSession, probeId: string, waitMs = 15_000): Promise<Awaited<ReturnType<MailboxSession['take']>>> {
  for (const end = Date.now() + waitMs; Date.now() < end; await sleep(200)) {
    const found = await session.take(probeId);
    if (found) return found;
  }
  return null;
}

afterAll(async () => {
  await purge('X-Mailbox-Test', RUN);
  for (const s of stacks) await purge('X-Smtp-Probe-Target', `target-${s.settings.protocol}-${RUN}`);
});

// ------------------------------------------------------------------------------------------------- tests ---

describe.each(stacks)('$name', ({ settings }) => {
  const target = `target-${settings.protocol}-${RUN}`;

  test('take() finds the message that arrived after the session opened, returns it whole and deletes it', async () => {
    const probeId = uid('take');
    const signal = AbortSignal.timeout(30_000);
    const session = await openMailbox(settings, signal);
    // IMAP's SEARCH HEADER matches substrings: the decoy's id contains the real one and must be left alone.
    const decoy = `${probeId}-decoy`;
    try {
      const sentAt = Date.now();
      await send({ probeId: decoy, target });
      await send({ probeId, target });
      const found = await pollTake(session, probeId);
      expect(found, 'message not found within 15 s').not.toBeNull();
      expect(found!.folder).toBe('INBOX');
      expect(found!.raw).toContain(`\r\nX-Smtp-Probe-Id: ${probeId}\r\n`);
      expect(found!.raw).toContain('\r\n.dotted line\r\nend\r\n');
      expect(found!.raw).toMatch(/^Return-Path: |^Received: |^Delivered-To: /);
      expect(found!.seenAt).toBeGreaterThanOrEqual(sentAt - 1000);
      expect(found!.seenAt).toBeLessThanOrEqual(Date.now());
    } finally {
      await session.close();
    }
    // Gone for a new session and for an outside look (for POP3: QUIT committed the DELE).
    const again = await openMailbox(settings, AbortSignal.timeout(15_000));
    try {
      expect(await again.take(probeId)).toBeNull();
    } finally {
      await again.close();
    }
    expect(await count('X-Smtp-Probe-Id', probeId)).toBe(1); // the decoy: a substring match
    await delivered('X-Smtp-Probe-Id', decoy, 1);
    const tidy = await openMailbox(settings, AbortSignal.timeout(15_000));
    try {
      expect((await tidy.take(decoy))?.raw).toContain(`X-Smtp-Probe-Id: ${decoy}\r\n`);
    } finally {
      await tidy.close();
    }
    expect(await count('X-Smtp-Probe-Id', probeId)).toBe(0);
  });

  test('cleanup() removes only this target\'s probe messages dated before the cutoff', async () => {
    const ids = { old: uid('old'), fresh: uid('fresh'), otherTarget: uid('other') };
    const marker = `${RUN} ${settings.protocol}`;
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR);
    await send({ probeId: ids.old, target, date: twoHoursAgo });
    await send({ probeId: ids.fresh, target });
    await send({ probeId: ids.otherTarget, target: `${target}-other`, date: twoHoursAgo });
    await send({ marker, date: twoHoursAgo });
    await delivered('X-Smtp-Probe-Target', target, 3); // substring search: the other target's counts too
    await delivered('X-Mailbox-Test', marker, 1);

    const session = await openMailbox(settings, AbortSignal.timeout(30_000));
    try {
      expect(await session.cleanup(target, Date.now() - HOUR)).toBe(1);
    } finally {
      await session.close();
    }
    expect(await count('X-Smtp-Probe-Id', ids.old)).toBe(0);
    expect(await count('X-Smtp-Probe-Id', ids.fresh)).toBe(1);
    expect(await count('X-Smtp-Probe-Id', ids.otherTarget)).toBe(1);
    expect(await count('X-Mailbox-Test', marker)).toBe(1);

    // The survivors can still be taken (and that tidies them away).
    const after = await openMailbox(settings, AbortSignal.timeout(30_000));
    try {
      expect((await after.take(ids.fresh))?.raw).toContain(ids.fresh);
      expect((await after.take(ids.otherTarget))?.raw).toContain(ids.otherTarget);
    } finally {
      await after.close();
    }
    await purge('X-Mailbox-Test', marker);
  });

  test('a certificate for another name fails at TLS, before any login', async () => {
    const wrong = { ...settings, servername: 'wrong.probe.test' };
    const e = await openMailbox(wrong, AbortSignal.timeout(15_000)).then(
      (s) => s.close().then(() => null),
      (err: unknown) => err,
    );
    expect(isProbeError(e) && e.reason).toBe('tls');
    expect((e as Error).message).toMatch(/does not match|altname|wrong\.probe\.test/i);
  });
});

test('IMAP looks in the Junk folder after INBOX and reports where it found the message', async () => {
  const probeId = uid('junk');
  const created = await withImap(async (c) => {
    const made = (await c.list()).some((m) => m.path === 'Junk') ? false : (await c.mailboxCreate('Junk'), true);
    await c.append('Junk', message({ probeId, target: `target-junk-${RUN}` }));
    return made;
  });
  try {
    const settings = stacks.find((s) => s.settings.protocol === 'imaps')!.settings;
    const session = await openMailbox(settings, AbortSignal.timeout(15_000));
    try {
      const found = await session.take(probeId);
      expect(found?.folder).toBe('Junk');
      expect(await session.take(probeId)).toBeNull();
    } finally {
      await session.close();
    }
  } finally {
    if (created) await withImap((c) => c.mailboxDelete('Junk'));
  }
});
