/**
 * A realistic SMTP server (nodemailer's smtp-server) on 127.0.0.1, port 0: STARTTLS or implicit TLS with a
 * certificate from certs.ts, AUTH against a users map, recipient rules, SIZE, and every accepted message kept
 * with its envelope and raw content. Reverse lookups and logging are always off.
 */
import type net from 'node:net';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerOptions } from 'smtp-server';
import { serverCert, type KeyPair } from './certs.js';
import { track, untrack } from './cleanup.js';

export interface RcptRule {
  match: RegExp;
  code: number;
  /** Reply text; put an enhanced code first ("5.7.1 Relay access denied") to have one. */
  message: string;
}

export interface FakeMxOptions {
  /** Implicit TLS (smtps). */
  secure?: boolean;
  /** Certificate and key (PEM) for STARTTLS / implicit TLS; default: serverCert() signed by the test CA. */
  cert?: string;
  key?: string;
  hideSTARTTLS?: boolean;
  hidePIPELINING?: boolean;
  /** Advertise DSN (smtp-server hides it by default). */
  dsn?: boolean;
  /** SASL mechanisms offered; AUTH is only enabled when `users` is given. */
  authMethods?: string[];
  /** username → password (or bearer token for XOAUTH2). */
  users?: Record<string, string>;
  /** AUTH before MAIL is required (default: optional). */
  requireAuth?: boolean;
  /** Accept AUTH over plaintext (default: refused until STARTTLS, as real servers do). */
  allowInsecureAuth?: boolean;
  /** Recipients: the first matching rule's reply refuses; none matching accepts. */
  rcptRules?: RcptRule[];
  /** Accept only these recipient domains; any other gets 554 5.7.1 (relay refused). */
  localDomains?: string[];
  disabledCommands?: string[];
  /** SIZE limit advertised and enforced (oversized messages get 552). */
  size?: number;
  /** Refuse every message after the final dot with this reply. */
  rejectMessage?: { code: number; message: string };
}

export interface ReceivedMessage {
  mailFrom: string | null;
  rcptTo: string[];
  /** RCPT parameters per recipient, upper-case keys (e.g. NOTIFY). */
  rcptArgs: Record<string, string | true>[];
  /** Message content as received (dot-stuffing already removed by smtp-server). */
  raw: Buffer;
  text: string;
  /** Authenticated user, if any. */
  user: string | null;
  secure: boolean;
}

export interface AuthAttempt {
  method: string;
  username: string | undefined;
  ok: boolean;
}

export interface FakeMx {
  port: number;
  received: ReceivedMessage[];
  auths: AuthAttempt[];
  close(): Promise<void>;
}

export async function startFakeMx(o: FakeMxOptions = {}): Promise<FakeMx> {
  const pair: KeyPair = o.cert && o.key ? { cert: o.cert, key: o.key } : serverCert();
  const received: ReceivedMessage[] = [];
  const auths: AuthAttempt[] = [];
  const withAuth = o.users !== undefined;
  const disabled = [...(o.disabledCommands ?? []), ...(withAuth ? [] : ['AUTH'])];

  const options: SMTPServerOptions = {
    secure: o.secure ?? false,
    key: pair.key,
    cert: pair.cert,
    name: 'mail.example.test',
    banner: 'fake-mx ready',
    logger: false,
    disableReverseLookup: true,
    hideSTARTTLS: o.hideSTARTTLS ?? false,
    hidePIPELINING: o.hidePIPELINING ?? false,
    hideDSN: !(o.dsn ?? false),
    authMethods: o.authMethods ?? ['PLAIN', 'LOGIN'],
    authOptional: !(o.requireAuth ?? false),
    allowInsecureAuth: o.allowInsecureAuth ?? false,
    disabledCommands: disabled,
    closeTimeout: 100,
    socketTimeout: 30_000,
    onAuth(auth: SMTPServerAuthentication, _session, callback) {
      const want = auth.username !== undefined ? o.users?.[auth.username] : undefined;
      const ok =
        want !== undefined &&
        (auth.method === 'XOAUTH2'
          ? auth.accessToken === want
          : auth.method === 'CRAM-MD5'
            ? auth.validatePassword(want)
            : auth.password === want);
      auths.push({ method: auth.method, username: auth.username, ok });
      if (!ok) {
        const err = Object.assign(new Error('5.7.8 Error: authentication failed'), { responseCode: 535 });
        callback(err);
        return;
      }
      callback(null, { user: auth.username });
    },
    onRcptTo(address, _session, callback) {
      const rule = o.rcptRules?.find((r) => r.match.test(address.address));
      if (rule) {
        callback(Object.assign(new Error(rule.message), { responseCode: rule.code }));
        return;
      }
      const domain = address.address.split('@').pop()?.toLowerCase() ?? '';
      if (o.localDomains && !o.localDomains.includes(domain)) {
        callback(Object.assign(new Error('5.7.1 Relay access denied'), { responseCode: 554 }));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const parts: Buffer[] = [];
      stream.on('data', (b: Buffer) => parts.push(b));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error('5.3.4 Message size exceeds the limit'), { responseCode: 552 }));
          return;
        }
        if (o.rejectMessage) {
          callback(Object.assign(new Error(o.rejectMessage.message), { responseCode: o.rejectMessage.code }));
          return;
        }
        const raw = Buffer.concat(parts);
        const env = session.envelope;
        received.push({
          mailFrom: env.mailFrom ? env.mailFrom.address : null,
          rcptTo: env.rcptTo.map((r) => r.address),
          rcptArgs: env.rcptTo.map((r) => (r.args ? { ...r.args } : {})),
          raw,
          text: raw.toString('utf8'),
          user: typeof session.user === 'string' ? session.user : null,
          secure: session.secure,
        });
        callback(null, '2.0.0 queued as FAKE1');
      });
    },
  };
  if (o.size !== undefined) options.size = o.size;

  const server = new SMTPServer(options);
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address() as net.AddressInfo;
  const handle: FakeMx = {
    port: address.port,
    received,
    auths,
    close: async () => {
      untrack(handle);
      // Destroy the topmost socket of each session: tearing a TLS wrap down from below (destroying the TCP
      // socket under a server-side TLSSocket) crashes Node 20 with a segfault.
      for (const c of server.connections) c._socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return track(handle);
}
