/** A target's mailbox client lasts across its runs (what the POP3 client remembers by UIDL is not thrown away). */
import { describe, expect, test } from 'vitest';
import type { MailboxClient, MailboxProtocol } from '../../src/mailbox/types.js';
import { RoundtripTracker } from '../../src/runner/roundtrip.js';

describe('RoundtripTracker.mailboxFor', () => {
  test('one client per target across runs; a new one when the protocol changes', async () => {
    const made: MailboxProtocol[] = [];
    const make = async (p: MailboxProtocol): Promise<MailboxClient> => {
      made.push(p);
      return { open: async () => Promise.reject(new Error(`not opened in this test (${p})`)) };
    };
    const tracker = new RoundtripTracker();
    const first = await tracker.mailboxFor('pop3s', make);
    expect(await tracker.mailboxFor('pop3s', make)).toBe(first);
    const imap = await tracker.mailboxFor('imaps', make);
    expect(imap).not.toBe(first);
    expect(await tracker.mailboxFor('imaps', make)).toBe(imap);
    expect(made).toEqual(['pop3s', 'imaps']);
  });
});
