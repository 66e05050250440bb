/**
 * Reading the test message back: `openMailbox` picks the client for settings.protocol. The IMAP client (and
 * imapflow with it) is loaded only when an IMAP mailbox is opened.
 */
import type { Clock } from '../core/clock.js';
import { Pop3Client } from './pop3/index.js';
import type { MailboxClient, MailboxDeps, MailboxProtocol, MailboxSession, MailboxSettings } from './types.js';

export { parseMailboxUrl } from './url.js';
export { MAILBOX_LIMITS } from './policy.js';
export type { FoundMessage, MailboxClient, MailboxDeps, MailboxLimits, MailboxProtocol, MailboxSession, MailboxSettings } from './types.js';

/** Open a session on the mailbox the settings name (POP3 for pop3/pop3s, IMAP for imap/imaps); a MailboxClient's open. */
export async function openMailbox(
  settings: MailboxSettings,
  signal: AbortSignal,
  clock?: Clock,
  deps: MailboxDeps = {},
): Promise<MailboxSession> {
  const client = await createMailboxClient(settings.protocol, deps);
  return client.open(settings, signal, clock);
}

/**
 * A client to keep across polls of one mailbox: the POP3 client remembers the probe headers of messages it has
 * read (by UIDL), so later sessions read only new messages' headers.
 */
export async function createMailboxClient(protocol: MailboxProtocol, deps: MailboxDeps = {}): Promise<MailboxClient> {
  if (protocol === 'pop3' || protocol === 'pop3s') return new Pop3Client(deps);
  const { ImapClient } = await import('./imap.js');
  return new ImapClient(deps);
}
