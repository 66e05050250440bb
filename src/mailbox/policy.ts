/**
 * What both mailbox clients (our POP3, IMAP through imapflow) hold to, whatever the protocol: failures reported at
 * the round-trip phase, bounds on what is read, no password in the clear, certificates checked against
 * settings.servername, and no line break carried from the settings into a command.
 */
import tls from 'node:tls';
import { ProbeError } from '../core/errors.js';
import type { MailboxLimits, MailboxSettings } from './types.js';

/** The phase every mailbox failure is reported in. */
export const MAILBOX_PHASE = 'roundtrip';

export const MAILBOX_LIMITS: MailboxLimits = { maxLineBytes: 64 * 1024, maxMessageBytes: 10 * 1024 * 1024 };

/**
 * Messages looked at per mailbox when the settings do not say (config and CLI pass plan/defaults.ts's, which is
 * this number): only the newest, so memory and time stay bounded however many the server lists.
 */
export const MAX_MESSAGES = 5000;

export function maxMessagesOf(settings: MailboxSettings): number {
  return Math.max(1, settings.maxMessages ?? MAX_MESSAGES);
}

/** Refuse before connecting when the settings would send the password in the clear. */
export function plaintextRefusal(settings: MailboxSettings): ProbeError | null {
  const secure = settings.protocol === 'pop3s' || settings.protocol === 'imaps' || settings.starttls;
  if (secure || settings.allowPlaintext) return null;
  const upgrade = settings.protocol === 'pop3' ? 'STLS' : 'STARTTLS';
  return new ProbeError(
    'tls',
    MAILBOX_PHASE,
    `refusing to send the mailbox password without TLS (${settings.protocol}:// without ${upgrade}); enable starttls, use ${settings.protocol}s://, or allow plaintext explicitly`,
  );
}

/** Certificate verification against settings.servername (not the host connected to); `insecure` turns it off. */
export function verifyOptions(settings: MailboxSettings): Pick<tls.ConnectionOptions, 'ca' | 'rejectUnauthorized' | 'checkServerIdentity'> {
  const name = settings.servername;
  return {
    ca: settings.ca,
    rejectUnauthorized: !settings.insecure,
    checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
  };
}

/** Rule 11: a configured value never carries a line break into a command. */
export function oneLine(value: string): string {
  return value.replace(/[\r\n\0]+/g, '');
}
