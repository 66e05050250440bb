/**
 * The AUTHORIZATION state of a POP3 session (RFC 1939 4): connect, TLS (implicit, or STLS, RFC 2595), greeting,
 * CAPA (RFC 2449), USER/PASS. What it hands on is a connection in the TRANSACTION state.
 */
import type { Clock } from '../../core/clock.js';
import { ProbeError } from '../../core/errors.js';
import { credentialSecrets } from '../../core/redact.js';
import { MAILBOX_PHASE as PHASE, oneLine, plaintextRefusal } from '../policy.js';
import type { MailboxLimits, MailboxSettings } from '../types.js';
import { Pop3Connection } from './connection.js';

/** A logged-in connection, and the capabilities the server listed (null: it knows no CAPA). */
interface LoggedIn {
  conn: Pop3Connection;
  caps: Set<string> | null;
}

/** Connect, TLS (implicit or STLS), greeting, CAPA, USER/PASS. Closes the connection when any of it fails. */
export async function logIn(settings: MailboxSettings, signal: AbortSignal, clock: Clock, limits: MailboxLimits): Promise<LoggedIn> {
  const conn = new Pop3Connection(signal, clock, limits);
  conn.redact(credentialSecrets(settings.username, settings.password));
  try {
    await conn.connect(settings.host, settings.port);
    if (settings.protocol === 'pop3s') await conn.startTls(settings);
    const hello = await conn.greeting();
    if (!hello.ok) throw new ProbeError('reply', PHASE, `server refused the session: -ERR ${conn.cleanText(hello.text)}`);
    let caps = await capabilities(conn);
    if (settings.protocol === 'pop3' && settings.starttls) caps = await upgrade(conn, settings, caps);
    if (!conn.encrypted && !settings.allowPlaintext) throw plaintextRefusal({ ...settings, starttls: false })!;
    await userPass(conn, settings);
    return { conn, caps };
  } catch (e) {
    conn.close();
    throw e;
  }
}

/** CAPA (RFC 2449): upper-cased first words, or null when the server does not know CAPA. */
async function capabilities(conn: Pop3Connection): Promise<Set<string> | null> {
  const r = await conn.request('CAPA', true);
  if (!r.ok) return null;
  return new Set(r.lines.map((l) => l.toString('utf8').trim().split(/\s+/)[0]!.toUpperCase()).filter((w) => w.length > 0));
}

/** STLS when offered (or when CAPA is unknown); without it, fail unless plaintext is allowed. */
async function upgrade(conn: Pop3Connection, settings: MailboxSettings, caps: Set<string> | null): Promise<Set<string> | null> {
  const missing = (why: string): Set<string> | null => {
    if (settings.allowPlaintext) return caps;
    throw new ProbeError('expectation', PHASE, `STLS required but ${why}`);
  };
  if (caps && !caps.has('STLS')) return missing('the server does not offer it (CAPA)');
  const r = await conn.request('STLS', false);
  if (!r.ok) return missing(`refused: -ERR ${conn.cleanText(r.text)}`);
  await conn.startTls(settings);
  // RFC 2595 4: capabilities may differ after the upgrade.
  return capabilities(conn);
}

async function userPass(conn: Pop3Connection, settings: MailboxSettings): Promise<void> {
  const user = await conn.request(`USER ${oneLine(settings.username)}`, false);
  if (!user.ok) throw new ProbeError('auth', PHASE, `authentication failed (USER): -ERR ${conn.cleanText(user.text)}`);
  const pass = await conn.request(`PASS ${oneLine(settings.password)}`, false, 'PASS ***');
  if (!pass.ok) throw new ProbeError('auth', PHASE, `authentication failed (PASS): -ERR ${conn.cleanText(pass.text)}`);
}
