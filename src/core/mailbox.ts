/** Where and how to read the test message back (a plan's round trip); the clients are mailbox/. */
export type MailboxProtocol = 'pop3' | 'pop3s' | 'imap' | 'imaps';

export interface MailboxSettings {
  protocol: MailboxProtocol;
  host: string;
  port: number;
  username: string;
  /** Read from an env var or a file; never logged. */
  password: string;
  /** pop3/imap: upgrade with STLS/STARTTLS (required unless `allowPlaintext`). */
  starttls: boolean;
  allowPlaintext: boolean;
  ca?: string | undefined;
  servername: string;
  insecure: boolean;
  /** IMAP folders to search, in order (default INBOX then the Junk folder if the server has one). */
  folders?: readonly string[] | undefined;
  /**
   * Most messages looked at in a mailbox (folder), the newest (highest numbers, UIDs) first: a huge or hostile
   * mailbox costs no more (config `roundtrip.max_messages`; absent: mailbox/policy.ts MAX_MESSAGES).
   */
  maxMessages?: number | undefined;
}
