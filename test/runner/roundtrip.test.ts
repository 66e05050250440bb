/** The round-trip orchestration with a scripted mailbox: found, not found in time, late and never, failures. */
import { systemClock } from '../../src/core/clock.js';
import { describe, expect, test } from 'vitest';
import { ProbeError } from '../../src/core/errors.js';
import type { RoundtripPlan } from '../../src/core/plan.js';
import { makePlan, makeSend } from '../../src/plan/build.js';
import type { CheckResult } from '../../src/core/result.js';
import type { FoundMessage, MailboxClient, MailboxSession } from '../../src/mailbox/types.js';
import { RoundtripTracker, runRoundtrip } from '../../src/runner/roundtrip.js';
import { fullSuccess } from '../metrics/fixtures.js';

const plan = makePlan({ name: 'mx1', host: '127.0.0.1', port: 25, send: makeSend({ from: 'a@b.test', to: ['c@d.test'] }) });
const rt: RoundtripPlan = {
  mailbox: { protocol: 'pop3s', host: 'mail.test', port: 995, username: 'u', password: 'p', starttls: false, allowPlaintext: false, servername: 'mail.test', insecure: false },
  timeoutMs: 400,
  pollMs: 20,
};
const sent = (over: Partial<CheckResult> = {}): CheckResult => fullSuccess('mx1', { messageId: 'm@x', probeId: 'id-now', ...over });

const RAW = [
  'Received: from mail.test by mail.test with LMTP id 2; Thu, 26 Nov 2026 03:30:02 +0000',
  'Received: from client.test (client.test [192.0.2.1]) by mail.test (Postfix) with ESMTPS id 1; Thu, 26 Nov 2026 03:30:01 +0000',
  'Date: Thu, 26 Nov 2026 03:30:00 +0000',
  'X-Smtp-Probe-Id: id-now',
  '',
  'body',
].join('\r\n');

/** A mailbox whose messages appear after some polls; records what it was asked. */
function mailbox(script: { arrivesAfterPolls?: number; ids?: Record<string, number>; failOpen?: Error } = {}) {
  const asked: string[] = [];
  const cleaned: [string, number][] = [];
  let polls = 0;
  const session: MailboxSession = {
    async take(id) {
      asked.push(id);
      if (id === 'id-now') {
        polls += 1;
        if (polls > (script.arrivesAfterPolls ?? 0)) return { raw: RAW, folder: 'INBOX', seenAt: Date.now() } satisfies FoundMessage;
        return null;
      }
      return (script.ids?.[id] ?? 0) > 0 ? { raw: RAW, folder: 'Junk', seenAt: Date.now() } : null;
    },
    async cleanup(target, before) {
      cleaned.push([target, before]);
      return 0;
    },
    async close() {},
  };
  const client: MailboxClient = {
    async open() {
      if (script.failOpen) throw script.failOpen;
      return session;
    },
  };
  return { client, asked, cleaned };
}

const deps = (client: MailboxClient, tracker?: RoundtripTracker) => ({
  now: () => performance.now(), wallNow: () => Date.now(), setTimer: systemClock.setTimer, mailbox: client, ...(tracker ? { tracker } : {}),
});

describe('runRoundtrip', () => {
  test('found after a few polls: roundtrip phase, folder, hops in transit order, cleanup of this target', async () => {
    const mb = mailbox({ arrivesAfterPolls: 2 });
    const r = await runRoundtrip(plan, rt, sent(), deps(mb.client));
    expect(r.ok).toBe(true);
    expect(r.phases.at(-1)).toMatchObject({ phase: 'roundtrip', ok: true });
    expect(r.roundtrip).toMatchObject({ folder: 'INBOX', transitMs: 2000 });
    expect(r.roundtrip!.hops.map((h) => [h.index, h.with, h.delayMs])).toEqual([[1, 'ESMTPS', 1000], [2, 'LMTP', 1000]]);
    expect(mb.asked.filter((id) => id === 'id-now')).toHaveLength(3);
    expect(mb.cleaned).toEqual([['mx1', expect.any(Number)]]);
    expect(r.durationMs).toBeGreaterThan(sent().durationMs);
  });

  test('not there within the round-trip timeout: failure at roundtrip with reason timeout, bounded', async () => {
    const mb = mailbox({ arrivesAfterPolls: 1e9 });
    const t0 = Date.now();
    const r = await runRoundtrip(plan, rt, sent(), deps(mb.client));
    expect(Date.now() - t0).toBeLessThan(rt.timeoutMs + 500);
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ phase: 'roundtrip', reason: 'timeout' });
    expect(r.roundtrip).toMatchObject({ deliveredMs: null });
  });

  test('a failed send is not followed by a round trip', async () => {
    const mb = mailbox();
    const failed = { ...sent(), ok: false, failure: { phase: 'rcpt' as const, reason: 'reply' as const, code: 550, enhancedCode: null, message: 'no' } };
    expect(await runRoundtrip(plan, rt, failed, deps(mb.client))).toBe(failed);
    expect(mb.asked).toEqual([]);
  });

  test('mailbox errors keep their reason (auth, connect, ...) and never the password', async () => {
    const mb = mailbox({ failOpen: new ProbeError('auth', 'roundtrip', 'login refused: -ERR [AUTH] Authentication failed') });
    const r = await runRoundtrip(plan, rt, sent(), deps(mb.client));
    expect(r.failure).toMatchObject({ phase: 'roundtrip', reason: 'auth' });
    expect(JSON.stringify(r)).not.toContain('"p"');
  });

  test('late and never: a message found on a later run counts late; one away for ten timeouts counts never', async () => {
    const tracker = new RoundtripTracker();
    const gone = mailbox({ arrivesAfterPolls: 1e9 });
    await runRoundtrip(plan, rt, sent({ probeId: 'id-now' }), deps(gone.client, tracker)); // gives up on id-now
    tracker.gaveUp('id-old', Date.now() - 11 * rt.timeoutMs); // an older one, long gone
    const later = mailbox({ ids: { 'id-now': 1 } });
    // The next run's own message is found at once; the sweep then finds the earlier one and gives up on the old one.
    await runRoundtrip(plan, rt, sent({ probeId: 'id-now' }), deps(later.client, tracker));
    expect(tracker.late).toBe(1);
    expect(tracker.never).toBe(1);
  });
});
