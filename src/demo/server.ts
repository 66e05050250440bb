import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { demoCertificate } from './cert.js';

export const DEMO_DOMAIN = 'demo.smtp-probe.test';
export const DEMO_USER = `probe@${DEMO_DOMAIN}`;
/** The mailboxes of the demo domain; any other address there is refused with 550 5.1.1 (user unknown). */
export const DEMO_MAILBOXES = [DEMO_USER, `postmaster@${DEMO_DOMAIN}`];
/** A mailbox the demo server does not have: a check that sends to it fails at RCPT. */
export const DEMO_UNKNOWN = `former-colleague@${DEMO_DOMAIN}`;
/** Public on purpose: the demo server exists only inside the demo process. */
export const DEMO_PASSWORD = 'demo-password';

export interface DemoServer {
  port: number;
  /** Messages accepted so far. */
  accepted(): number;
  /** The last message accepted, as received (at most 1 MiB kept). */
  lastMessage(): string | null;
  close(): Promise<void>;
}

/**
 * A small, realistic SMTP server on 127.0.0.1 (smtp-server): STARTTLS with a localhost certificate made at start-up, AUTH
 * PLAIN/LOGIN for one demo user, mail accepted for the demo domain's mailboxes only (another address of the domain:
 * 550 5.1.1 user unknown; another domain: 554 5.7.1 relay denied).
 */
export async function startDemoServer(port = 0): Promise<DemoServer> {
  let accepted = 0;
  let last: string | null = null;
  const { cert, key } = demoCertificate();
  const options: SMTPServerOptions = {
    name: `mail.${DEMO_DOMAIN}`,
    banner: 'smtp-probe demo server',
    key,
    cert,
    size: 10 * 1024 * 1024,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === DEMO_USER && auth.password === DEMO_PASSWORD) cb(null, { user: auth.username });
      else cb(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, cb) {
      const to = address.address.toLowerCase();
      if (DEMO_MAILBOXES.includes(to)) cb();
      else if (to.endsWith(`@${DEMO_DOMAIN}`)) cb(Object.assign(new Error(`5.1.1 <${to}>: Recipient address rejected: User unknown`), { responseCode: 550 }));
      else cb(Object.assign(new Error('5.7.1 Relay access denied'), { responseCode: 554 }));
    },
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: Buffer) => {
        if (size < 1 << 20) chunks.push(c);
        size += c.length;
      });
      stream.on('end', () => {
        accepted += 1;
        last = Buffer.concat(chunks).toString('utf8');
        cb(null, 'Ok: queued');
      });
    },
  };
  const server = new SMTPServer(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    accepted: () => accepted,
    lastMessage: () => last,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
