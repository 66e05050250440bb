/**
 * The IMAP client's own behaviour around imapflow, against a scripted IMAP server on 127.0.0.1:0: TLS policy,
 * the deadline (imapflow knows no AbortSignal), error mapping and redaction. Whole sessions against a real
 * server are in test/real/mailbox.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isProbeError, type ProbeError } from '../../src/core/errors.js';
import { ImapClient } from '../../src/mailbox/imap.js';
import type { MailboxSettings } from '../../src/mailbox/types.js';
import { serverCert, testCa, TEST_SERVER_NAME } from '../helpers/certs.js';
import { closeAll } from '../helpers/cleanup.js';
import { startScriptedServer, type ScriptedConnection, type ScriptStep } from '../helpers/scripted-server.js';

afterEach(closeAll);

const PASSWORD = 'imap-s3cret-Pa55';

function settings(port: number, over: Partial<MailboxSettings> = {}): MailboxSettings {
  return {
    protocol: 'imap',
    host: '127.0.0.1',
    port,
    username: 'probe@example.test',
    password: PASSWORD,
    starttls: true,
    allowPlaintext: false,
    ca: testCa().cert,
    servername: TEST_SERVER_NAME,
    insecure: false,
    ...over,
  };
}

async function failure(p: Promise<unknown>): Promise<ProbeError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!isProbeError(e)) throw new Error(`expected a ProbeError, got ${String(e)}`);
  return e;
}

interface Imap {
  caps?: string;
  /** What to do with LOGIN: answer OK, or this tagged NO text. */
  loginNo?: string;
  /** Written right after STARTTLS's OK, in the same write. */
  inject?: string;
  /** Never answer these commands. */
  silentOn?: RegExp;
  /** The UIDs every SEARCH finds (default none); FETCH finds nothing. */
  found?: number[];
}

/** Answers what imapflow asks on connect, login, LIST, SELECT and SEARCH; anything else gets BAD. */
function imap(o: Imap = {}): ScriptStep {
  const caps = o.caps ?? 'IMAP4rev1 STARTTLS LOGINDISABLED';
  return {
    run: async (c: ScriptedConnection) => {
      let tlsOn = false;
      const capsNow = (): string => (tlsOn ? caps.replace(/ ?(STARTTLS|LOGINDISABLED)/g, '') : caps);
      c.write(`* OK [CAPABILITY ${capsNow()}] scripted IMAP ready\r\n`);
      for (;;) {
        const line = await c.nextLine();
        if (!line) return;
        const [tag = '*', ...rest] = line.text.split(' ');
        const words = rest.map((w) => w.toUpperCase());
        const cmd = words[0] === 'UID' ? `UID ${words[1]}` : (words[0] ?? '');
        if (o.silentOn?.test(cmd)) continue;
        switch (cmd) {
          case 'CAPABILITY':
            c.write(`* CAPABILITY ${capsNow()}\r\n${tag} OK done\r\n`);
            break;
          case 'STARTTLS':
            c.write(`${tag} OK begin TLS\r\n${o.inject ?? ''}`);
            await c.upgrade(serverCert());
            tlsOn = true;
            break;
          case 'LOGIN':
            c.write(o.loginNo ? `${tag} NO ${o.loginNo}\r\n` : `${tag} OK [CAPABILITY ${capsNow()}] logged in\r\n`);
            break;
          case 'LIST':
            c.write(`* LIST (\\HasNoChildren) "/" INBOX\r\n${tag} OK done\r\n`);
            break;
          case 'SELECT':
            c.write(`* 0 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 1] ok\r\n${tag} OK [READ-WRITE] selected\r\n`);
            break;
          case 'UID SEARCH':
          case 'SEARCH':
            c.write(`* SEARCH${(o.found ?? []).map((u) => ` ${u}`).join('')}\r\n${tag} OK done\r\n`);
            break;
          case 'UID FETCH':
            c.write(`${tag} OK done\r\n`);
            break;
          case 'NOOP':
            c.write(`${tag} OK done\r\n`);
            break;
          case 'LOGOUT':
            c.write(`* BYE bye\r\n${tag} OK done\r\n`);
            c.socket.end();
            return;
          default:
            c.write(`${tag} BAD unknown\r\n`);
        }
      }
    },
  };
}

describe('IMAP', () => {
  it('a whole (empty) session: STARTTLS, LOGIN over TLS only, SEARCH HEADER in INBOX, LOGOUT', async () => {
    const s = await startScriptedServer([imap()]);
    const session = await new ImapClient().open(settings(s.port), AbortSignal.timeout(5000));
    expect(await session.take('id-1')).toBeNull();
    expect(await session.take('id-1')).toBeNull(); // polling: NOOP before the second SEARCH
    await session.close();
    const cmds = s.conn.commands().map((l) => l.replace(/^\S+ /, ''));
    expect(cmds).toContain('STARTTLS');
    expect(cmds.filter((c) => /SEARCH/.test(c))).toEqual([
      'UID SEARCH HEADER X-SMTP-PROBE-ID id-1 UNDELETED',
      'UID SEARCH HEADER X-SMTP-PROBE-ID id-1 UNDELETED',
    ]);
    expect(cmds.filter((c) => c === 'NOOP')).toHaveLength(1);
    expect(s.conn.lines.filter((l) => /LOGIN/.test(l.text)).every((l) => l.tls)).toBe(true);
    expect(cmds.at(-1)).toBe('LOGOUT');
  });

  it('imap:// without STARTTLS and without allowPlaintext: refused before connecting', async () => {
    const s = await startScriptedServer([imap()]);
    const e = await failure(new ImapClient().open(settings(s.port, { starttls: false }), AbortSignal.timeout(5000)));
    expect(e.reason).toBe('tls');
    expect(e.message).toMatch(/without TLS \(imap:\/\/ without STARTTLS\)/);
    expect(s.connections).toHaveLength(0);
  });

  it('a server that never greets: timeout when the signal fires', async () => {
    const s = await startScriptedServer([{ silence: true }]);
    const started = Date.now();
    const e = await failure(new ImapClient().open(settings(s.port), AbortSignal.timeout(300)));
    expect(e.reason).toBe('timeout');
    expect(e.message).toMatch(/deadline reached during connect and login/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a SEARCH that is never answered: take() times out with the signal, naming it', async () => {
    const s = await startScriptedServer([imap({ silentOn: /SEARCH/ })]);
    const ac = new AbortController();
    const session = await new ImapClient().open(settings(s.port), ac.signal);
    setTimeout(() => ac.abort(), 200);
    const e = await failure(session.take('id-1'));
    expect(e.reason).toBe('timeout');
    expect(e.message).toMatch(/during SEARCH in INBOX/);
    await session.close(); // no LOGOUT wait on a dead connection
  });

  it('STARTTLS required but not offered: expectation, and no LOGIN is sent', async () => {
    const s = await startScriptedServer([imap({ caps: 'IMAP4rev1' })]);
    const e = await failure(new ImapClient().open(settings(s.port), AbortSignal.timeout(5000)));
    expect(e.reason).toBe('expectation');
    expect(e.message).toMatch(/STARTTLS required/);
    expect(s.text()).not.toMatch(/LOGIN/);
  });

  it('data injected after STARTTLS\'s OK: tls failure, and no LOGIN is sent', async () => {
    const s = await startScriptedServer([imap({ inject: '* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n' })]);
    const e = await failure(new ImapClient().open(settings(s.port), AbortSignal.timeout(5000)));
    expect(e.reason).toBe('tls');
    expect(s.text()).not.toMatch(/LOGIN/);
  });

  it('LOGIN refused: auth, and the password is not in the message even when the server echoes it', async () => {
    const s = await startScriptedServer([imap({ loginNo: `[AUTHENTICATIONFAILED] wrong password ${PASSWORD}` })]);
    const e = await failure(new ImapClient().open(settings(s.port), AbortSignal.timeout(5000)));
    expect(e.reason).toBe('auth');
    expect(e.message).toMatch(/authentication failed/i);
    expect(e.message).not.toContain(PASSWORD);
  });

  it('imaps with a certificate the CA did not issue: tls', async () => {
    const s = await startScriptedServer([imap({ caps: 'IMAP4rev1' })], { implicitTls: serverCert() });
    const e = await failure(new ImapClient().open(settings(s.port, { protocol: 'imaps', ca: undefined }), AbortSignal.timeout(5000)));
    expect(e.reason).toBe('tls');
    expect(e.message).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });
});

/** The UIDs named by the client's UID FETCH commands, in the order asked. */
function fetchedUids(s: { conn: ScriptedConnection }): number[] {
  return s.conn.commands().flatMap((l) => {
    const m = /^\S+ UID FETCH (\S+) /i.exec(l);
    if (!m) return [];
    return m[1]!.split(',').flatMap((part) => {
      const [a, b] = part.split(':').map(Number);
      if (b === undefined) return [a!];
      const out: number[] = [];
      for (let u = Math.min(a!, b); u <= Math.max(a!, b); u += 1) out.push(u);
      return out;
    });
  });
}

describe('IMAP: newest first, bounded', () => {
  it('take(): of many SEARCH matches, the newest (highest UIDs) are fetched first, at most ten', async () => {
    const s = await startScriptedServer([imap({ found: Array.from({ length: 30 }, (_, i) => i + 1) })]);
    const session = await new ImapClient().open(settings(s.port), AbortSignal.timeout(5000));
    expect(await session.take('id-1')).toBeNull();
    await session.close();
    expect(fetchedUids(s)).toEqual([30, 29, 28, 27, 26, 25, 24, 23, 22, 21]);
  });

  it('cleanup(): of 5,000 SEARCH matches, only the newest maxMessages are fetched', async () => {
    const s = await startScriptedServer([imap({ found: Array.from({ length: 5000 }, (_, i) => i + 1) })]);
    const session = await new ImapClient().open(settings(s.port, { maxMessages: 100 }), AbortSignal.timeout(10_000));
    expect(await session.cleanup('mx1', Date.now())).toBe(0);
    await session.close();
    const uids = fetchedUids(s);
    expect(uids).toHaveLength(100);
    expect(Math.min(...uids)).toBe(4901);
    expect(Math.max(...uids)).toBe(5000);
  });
});
