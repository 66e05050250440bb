import type { MailboxProtocol } from './types.js';

const DEFAULT_PORTS: Record<MailboxProtocol, number> = { pop3: 110, pop3s: 995, imap: 143, imaps: 993 };

/** `pop3s://host[:port]`, `pop3://`, `imap://`, `imaps://` → protocol, host, port; or what is wrong with it. */
export function parseMailboxUrl(text: string): { protocol: MailboxProtocol; host: string; port: number } | string {
  const m = /^(pop3s?|imaps?):\/\/(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9_.-]+))(?::(\d{1,5}))?\/?$/i.exec(text.trim());
  if (!m) {
    return text.includes('@')
      ? `"${text.replace(/\/\/[^@]*@/, '//***@')}": credentials do not belong in a URL`
      : `"${text}" is not a mailbox URL (pop3s://host[:port], pop3://, imaps://, imap://)`;
  }
  const protocol = m[1]!.toLowerCase() as MailboxProtocol;
  const port = m[4] === undefined ? DEFAULT_PORTS[protocol] : Number(m[4]);
  if (port < 1 || port > 65535) return `"${text}": port out of range`;
  return { protocol, host: (m[2] ?? m[3])!.toLowerCase(), port };
}
