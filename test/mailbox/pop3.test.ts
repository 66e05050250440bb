/**
 * The POP3 client against in-process servers on 127.0.0.1:0: a small POP3 responder with a shared maildrop
 * (QUIT commits DELE, each connection sees the maildrop as it was at login) for whole sessions, and byte-exact
 * scripts for hostile servers.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { isProbeError, type ProbeError } from '../../src/core/errors.js';
import { Pop3Client } from '../../src/mailbox/pop3/index.js';
import type { MailboxLimits, MailboxSettings } from '../../src/mailbox/types.js';
import { serverCert, testCa, TEST_SERVER_NAME, type KeyPair } from '../helpers/certs.js';
import { closeAll } from '../helpers/cleanup.js';
import { startScriptedServer, type ScriptedConnection, type ScriptStep } from '../helpers/scripted-server.js';

afterEach(closeAll);

const PASSWORD = 'pop-s3cret-Pa55';

function settings(port: number, over: Partial<MailboxSettings> = {}): MailboxSettings {
  return {
    protocol: 'pop3',
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

const signal = (ms = 5000): AbortSignal => AbortSignal.timeout(ms);

/** The rejection of a promise that must reject, as a ProbeError. */
async function failure(p: Promise<unknown>): Promise<ProbeError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!isProbeError(e)) throw new Error(`expected a ProbeError, got ${String(e)}`);
  return e;
}

// ------------------------------------------------------------------------------------------ the responder ---

interface Stored {
  uid: string;
  text: string;
  gone?: boolean;
}

function msg(headers: Record<string, string>, body = 'hello\r\n'): string {
  const head = Object.entries({ Date: 'Thu, 26 Nov 2026 03:20:00 +0000', From: '<a@example.test>', ...headers })
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  return `${head}\r\n\r\n${body}`;
}

/** RFC 1939 3: multi-line data, dot-stuffed, ended by a lone ".". */
function multi(text: string): string {
  const body = text.endsWith('\r\n') ? text : `${text}\r\n`;
  return `+OK\r\n${body.replace(/^\./gm, '..')}.\r\n`;
}

interface ResponderOptions {
  caps?: string[];
  cert?: KeyPair;
  /** Extra bytes written right after STLS's +OK, in the same write (a response injection). */
  inject?: string;
}

/** A POP3 server good enough for whole sessions: the maildrop is shared, each connection sees a snapshot. */
function pop3(drop: Stored[], o: ResponderOptions = {}): ScriptStep {
  return {
    run: async (c: ScriptedConnection) => {
      const caps = o.caps ?? ['USER', 'UIDL', 'TOP', 'STLS', 'PIPELINING'];
      c.write('+OK POP3 scripted ready\r\n');
      const view = drop.filter((m) => !m.gone);
      const dele = new Set<number>();
      const at = (arg: string | undefined): Stored | undefined => view[Number(arg) - 1];
      for (;;) {
        const line = await c.nextLine();
        if (!line) return;
        const [cmd = '', ...args] = line.text.split(' ');
        const m = at(args[0]);
        switch (cmd.toUpperCase()) {
          case 'CAPA':
            c.write(multi(caps.join('\r\n')));
            break;
          case 'STLS':
            c.write(`+OK Begin TLS negotiation\r\n${o.inject ?? ''}`);
            await c.upgrade(o.cert ?? serverCert());
            break;
          case 'USER':
            c.write('+OK\r\n');
            break;
          case 'PASS':
            c.write(args.join(' ') === PASSWORD ? '+OK logged in\r\n' : '-ERR [AUTH] Authentication failed.\r\n');
            break;
          case 'STAT':
            c.write(`+OK ${view.length} ${view.reduce((n, s) => n + Buffer.byteLength(s.text), 0)}\r\n`);
            break;
          case 'LIST':
            if (args[0] !== undefined) c.write(m ? `+OK ${args[0]} ${Buffer.byteLength(m.text)}\r\n` : '-ERR no such message\r\n');
            else c.write(multi(view.map((s, i) => `${i + 1} ${Buffer.byteLength(s.text)}`).join('\r\n') || ''));
            break;
          case 'UIDL':
            if (args[0] !== undefined) c.write(m ? `+OK ${args[0]} ${m.uid}\r\n` : '-ERR no such message\r\n');
            else c.write(multi(view.map((s, i) => `${i + 1} ${s.uid}`).join('\r\n')));
            break;
          case 'TOP':
            c.write(m ? multi(`${m.text.split('\r\n\r\n')[0]}\r\n\r\n`) : '-ERR no such message\r\n');
            break;
          case 'RETR':
            c.write(m ? multi(m.text) : '-ERR no such message\r\n');
            break;
          case 'DELE':
            if (m) dele.add(Number(args[0]));
            c.write(m ? '+OK marked\r\n' : '-ERR no such message\r\n');
            break;
          case 'QUIT':
            for (const n of dele) view[n - 1]!.gone = true;
            c.write('+OK bye\r\n');
            c.socket.end();
            return;
          default:
            c.write('-ERR unknown command\r\n');
        }
      }
    },
  };
}

const listing = (text: string): string => multi(text);

// ----------------------------------------------------------------------------------------------- sessions ---

describe('a whole session', () => {
  it('logs in after STLS, finds the probe message among others by TOP, RETRs only it, DELE then QUIT commits', async () => {
    const target = msg({ 'X-Smtp-Probe-Id': 'id-2', 'X-Smtp-Probe-Target': 'mx1' }, 'the one\r\n');
    const drop: Stored[] = [
      { uid: 'u1', text: msg({ 'X-Smtp-Probe-Id': 'id-1' }) },
      { uid: 'u2', text: target },
      // Same id as a substring, and in the body: not a match.
      { uid: 'u3', text: msg({ 'X-Smtp-Probe-Id': 'id-2-not' }, 'X-Smtp-Probe-Id: id-2\r\n') },
    ];
    const s = await startScriptedServer([pop3(drop)]);
    const session = await new Pop3Client().open(settings(s.port), signal());
    const found = await session.take('id-2');
    expect(found).toMatchObject({ raw: target, folder: 'INBOX' });
    expect(found!.seenAt).toBeGreaterThan(Date.now() - 5000);
    expect(drop[1]!.gone).toBeUndefined(); // not before QUIT
    await session.close();
    expect(drop.map((m) => m.gone ?? false)).toEqual([false, true, false]);
    // Newest first; the server pipelines, so the window's TOPs go out together. LIST 2: the size before RETR.
    expect(s.conn.commands()).toEqual([
      'CAPA', 'STLS', 'CAPA', 'USER probe@example.test', `PASS ${PASSWORD}`, 'STAT', 'UIDL',
      'TOP 3 0', 'TOP 2 0', 'TOP 1 0', 'LIST 2', 'RETR 2', 'DELE 2', 'QUIT',
    ]);
    // Nothing of the login went over plaintext.
    expect(s.conn.lines.filter((l) => /^(USER|PASS)/.test(l.text)).every((l) => l.tls)).toBe(true);
  });

  it('dot-unstuffing: lines starting with dots come back as sent, a lone dot in the body does not end it', async () => {
    const body = '.leading dot\r\n..two dots\r\n.\r\nafter a lone dot\r\n...\r\nend\r\n';
    const text = msg({ 'X-Smtp-Probe-Id': 'dots' }, body);
    const s = await startScriptedServer([pop3([{ uid: 'd', text }])]);
    const session = await new Pop3Client().open(settings(s.port), signal());
    const found = await session.take('dots');
    await session.close();
    expect(found?.raw).toBe(text);
    expect(s.conn.text()).not.toContain('-ERR');
  });

  it('pop3s: implicit TLS, verified against the server name', async () => {
    const s = await startScriptedServer([pop3([{ uid: 'a', text: msg({ 'X-Smtp-Probe-Id': 'tls' }) }], { caps: ['USER', 'UIDL', 'TOP'] })], {
      implicitTls: serverCert(),
    });
    const session = await new Pop3Client().open(settings(s.port, { protocol: 'pop3s', starttls: false }), signal());
    expect(await session.take('tls')).not.toBeNull();
    await session.close();
    expect(s.conn.lines.every((l) => l.tls)).toBe(true);
  });

  it('take() of an id it already missed QUITs and logs in again; headers read before are not read again', async () => {
    const drop: Stored[] = [{ uid: 'u1', text: msg({ 'X-Smtp-Probe-Id': 'other' }) }];
    const s = await startScriptedServer([pop3(drop)]);
    const session = await new Pop3Client().open(settings(s.port), signal());
    expect(await session.take('late')).toBeNull();
    drop.push({ uid: 'u2', text: msg({ 'X-Smtp-Probe-Id': 'late' }) });
    expect(await session.take('late')).not.toBeNull();
    await session.close();
    expect(s.connections).toHaveLength(2);
    expect(s.connections[0]!.commands().slice(-2)).toEqual(['TOP 1 0', 'QUIT']);
    const second = s.connections[1]!.commands().filter((c) => /^(TOP|RETR|DELE|QUIT)/.test(c));
    expect(second).toEqual(['TOP 2 0', 'RETR 2', 'DELE 2', 'QUIT']);
    expect(drop[1]!.gone).toBe(true);
  });

  it('cleanup() DELEs only this target\'s probe messages with one Date before the cutoff, committed at close()', async () => {
    const cutoff = Date.parse('2026-11-26T00:00:00Z');
    const old = 'Wed, 25 Nov 2026 20:00:00 +0000';
    const drop: Stored[] = [
      { uid: 'a', text: msg({ Date: old, 'X-Smtp-Probe-Id': 'a', 'X-Smtp-Probe-Target': 'mx1' }) }, // goes
      { uid: 'b', text: msg({ Date: 'Thu, 26 Nov 2026 00:00:01 +0000', 'X-Smtp-Probe-Target': 'mx1' }) }, // after the cutoff
      { uid: 'c', text: msg({ Date: old, 'X-Smtp-Probe-Target': 'mx10' }) }, // another target
      { uid: 'd', text: msg({ Date: old }) }, // no probe message
      { uid: 'e', text: msg({ Date: 'someday', 'X-Smtp-Probe-Target': 'mx1' }) }, // unreadable Date
      // 19:30 -0500 is 00:30 UTC on the 26th: after the cutoff, although the local date is the 25th.
      { uid: 'f', text: msg({ Date: 'Wed, 25 Nov 2026 19:30:00 -0500', 'X-Smtp-Probe-Target': 'mx1' }) },
      { uid: 'g', text: `X-Smtp-Probe-Target: mx1\r\n${msg({ Date: old, 'X-Smtp-Probe-Target': 'mx2' })}` }, // two targets
      { uid: 'h', text: msg({ Date: '25 Nov 2026 18:00 EST', 'X-Smtp-Probe-Target': ' mx1 ' }) }, // 23:00 UTC: goes
    ];
    const s = await startScriptedServer([pop3(drop)]);
    const session = await new Pop3Client().open(settings(s.port), signal());
    expect(await session.cleanup('mx1', cutoff)).toBe(2);
    expect(drop.some((m) => m.gone)).toBe(false);
    await session.close();
    expect(drop.filter((m) => m.gone).map((m) => m.uid)).toEqual(['a', 'h']);
  });

  it('RETR instead of TOP when the server has no TOP; a message over the size limit is neither read nor taken', async () => {
    const big = msg({ 'X-Smtp-Probe-Id': 'big' }, `${'x'.repeat(70)}\r\n`.repeat(200));
    const drop: Stored[] = [{ uid: 'big', text: big }, { uid: 's', text: msg({ 'X-Smtp-Probe-Id': 'small' }) }];
    const s = await startScriptedServer([pop3(drop, { caps: ['USER', 'UIDL', 'STLS'] })]);
    const limits: MailboxLimits = { maxLineBytes: 1024, maxMessageBytes: 4096 };
    const session = await new Pop3Client({ limits }).open(settings(s.port), signal());
    expect(await session.take('small')).not.toBeNull();
    expect(await session.take('big')).toBeNull();
    await session.close();
    expect(s.conn.commands().filter((c) => /^(TOP|RETR)/.test(c))).toEqual(['RETR 2']);
  });
});

// ------------------------------------------------------------------------------------------------ failures ---

const greeting: ScriptStep = { send: '+OK ready\r\n' };
const capaStls: ScriptStep[] = [{ expect: /^CAPA$/ }, { send: listing('USER\r\nSTLS') }];

describe('failures', () => {
  it('-ERR to PASS: auth, "authentication failed", and the password nowhere in the message even when echoed', async () => {
    const s = await startScriptedServer([
      greeting,
      ...capaStls,
      { expect: /^STLS$/ },
      { send: '+OK go\r\n' },
      { starttls: serverCert() },
      { expect: /^CAPA$/ },
      { send: '-ERR no CAPA here\r\n' },
      { expect: /^USER / },
      { send: '+OK\r\n' },
      { expect: /^PASS / },
      { send: `-ERR [AUTH] Authentication failed for password ${PASSWORD}\r\n` },
      { silence: true },
    ]);
    const e = await failure(new Pop3Client().open(settings(s.port), signal()));
    expect(e.reason).toBe('auth');
    expect(e.message).toMatch(/authentication failed/i);
    expect(e.message).not.toContain(PASSWORD);
    expect(e.message).toContain('***');
  });

  it('a server that never answers: timeout when the signal fires, naming what it waited for', async () => {
    const s = await startScriptedServer([{ silence: true }]);
    const started = Date.now();
    const e = await failure(new Pop3Client().open(settings(s.port), signal(300)));
    expect(e.reason).toBe('timeout');
    expect(e.message).toMatch(/greeting/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a server that stops answering mid-session: take() times out with the signal', async () => {
    const s = await startScriptedServer([pop3([{ uid: 'a', text: msg({}) }], { caps: ['USER', 'STLS'] })]);
    const ac = new AbortController();
    const session = await new Pop3Client().open(settings(s.port), ac.signal);
    // The server stops reading: STAT goes unanswered until the signal fires.
    s.conn.socket.pause();
    setTimeout(() => ac.abort(), 100);
    const e = await failure(session.take('x'));
    expect(e.reason).toBe('timeout');
    expect(e.message).toMatch(/STAT/);
    await session.close();
  });

  it('a flood without a newline: protocol error at the line limit, and the client stops reading', async () => {
    const total = 64 * 1024 * 1024;
    const s = await startScriptedServer([{ flood: total, line: 'x' }]);
    const started = Date.now();
    const e = await failure(new Pop3Client().open(settings(s.port), signal()));
    expect(e.reason).toBe('protocol');
    expect(e.message).toMatch(/longer than 65536 bytes/);
    expect(e.message.length).toBeLessThan(300);
    expect(Date.now() - started).toBeLessThan(3000);
    await s.conn.whenClosed();
    expect(s.conn.sentBytes).toBeLessThan(total);
  });

  it('a multi-line answer over the size limit: protocol error naming the limit', async () => {
    const huge = `+OK\r\n${'Subject: x\r\n'.repeat(1000)}`; // never terminated: the limit ends it
    const s = await startScriptedServer([
      greeting,
      { expect: /^CAPA$/ },
      { send: listing('USER\r\nTOP') },
      { expect: /^USER / },
      { send: '+OK\r\n' },
      { expect: /^PASS / },
      { send: '+OK\r\n' },
      { expect: /^STAT$/ },
      { send: '+OK 1 100\r\n' },
      { expect: /^UIDL$/ },
      { send: '-ERR no UIDL\r\n' },
      { expect: /^TOP 1 0$/ },
      { send: huge },
      { silence: true },
    ]);
    const limits: MailboxLimits = { maxLineBytes: 1024, maxMessageBytes: 4096 };
    const session = await new Pop3Client({ limits }).open(settings(s.port, { starttls: false, allowPlaintext: true }), signal());
    const e = await failure(session.take('x'));
    expect(e.reason).toBe('protocol');
    expect(e.message).toMatch(/TOP 1 0 is larger than the 4096-byte limit/);
    await session.close();
  });

  it('pop3:// without STLS and without allowPlaintext: refused before connecting', async () => {
    const s = await startScriptedServer([greeting, { silence: true }]);
    const e = await failure(new Pop3Client().open(settings(s.port, { starttls: false }), signal()));
    expect(e.reason).toBe('tls');
    expect(e.message).toMatch(/refusing to send the mailbox password without TLS/);
    expect(s.connections).toHaveLength(0);
  });

  it('STLS required but not offered: expectation, and neither USER nor PASS is sent', async () => {
    const s = await startScriptedServer([greeting, { expect: /^CAPA$/ }, { send: listing('USER\r\nTOP') }, { silence: true }]);
    const e = await failure(new Pop3Client().open(settings(s.port), signal()));
    expect(e.reason).toBe('expectation');
    expect(e.message).toMatch(/STLS required/);
    expect(s.text()).not.toMatch(/USER|PASS/);
  });

  it('STLS: lines injected before the handshake are discarded, not taken as answers to later commands', async () => {
    const drop: Stored[] = [{ uid: 'a', text: msg({ 'X-Smtp-Probe-Id': 'inj' }) }];
    const s = await startScriptedServer([pop3(drop, { inject: '+OK\r\nSTLS\r\n.\r\n+OK injected\r\n' })]);
    const session = await new Pop3Client().open(settings(s.port), signal());
    expect(await session.take('inj')).not.toBeNull();
    await session.close();
    expect(s.conn.commands().slice(0, 5)).toEqual(['CAPA', 'STLS', 'CAPA', 'USER probe@example.test', `PASS ${PASSWORD}`]);
    expect(s.conn.lines.slice(2).every((l) => l.tls)).toBe(true);
  });

  it('an answer nobody asked for (outside STLS): protocol error before the next command is sent', async () => {
    const s = await startScriptedServer([greeting, { expect: /^CAPA$/ }, { send: `${listing('USER')}+OK extra\r\n` }, { silence: true }]);
    const e = await failure(new Pop3Client().open(settings(s.port, { starttls: false, allowPlaintext: true }), signal()));
    expect(e.reason).toBe('protocol');
    expect(e.message).toMatch(/nobody asked for: "\+OK extra"/);
    expect(s.text()).not.toMatch(/USER/);
  });

  it('bytes that are not POP3: protocol error quoting them, sanitised', async () => {
    const s = await startScriptedServer([{ send: '220 mx.example.test ESMTP\x1b[0m\r\n' }, { silence: true }]);
    const e = await failure(new Pop3Client().open(settings(s.port), signal()));
    expect(e.reason).toBe('protocol');
    expect(e.message).toContain('not a POP3 answer to greeting: "220 mx.example.test ESMTP\\x1b[0m"');
  });

  it('a certificate the CA did not issue: tls, and nothing sent after STLS', async () => {
    const s = await startScriptedServer([pop3([], { caps: ['USER', 'STLS'] })]);
    const e = await failure(new Pop3Client().open(settings(s.port, { ca: undefined }), signal()));
    expect(e.reason).toBe('tls');
    expect(e.message).toMatch(/TLS handshake failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(s.conn.commands()).toEqual(['CAPA', 'STLS']);
  });

  it('the server closes the connection: closed, naming the command', async () => {
    const s = await startScriptedServer([greeting, { expect: /^CAPA$/ }, { close: true }]);
    const e = await failure(new Pop3Client().open(settings(s.port, { starttls: false, allowPlaintext: true }), signal()));
    expect(e.reason).toBe('closed');
    expect(e.message).toMatch(/during CAPA/);
  });

  it('a -ERR greeting: reply', async () => {
    const s = await startScriptedServer([{ send: '-ERR too many connections\r\n' }, { silence: true }]);
    const e = await failure(new Pop3Client().open(settings(s.port), signal()));
    expect(e.reason).toBe('reply');
    expect(e.message).toMatch(/too many connections/);
  });

  it('close() rejects when DELE was made but QUIT is refused (the deletion did not happen)', async () => {
    const s = await startScriptedServer([
      greeting,
      { expect: /^CAPA$/ },
      { send: listing('USER\r\nTOP\r\nUIDL') },
      { expect: /^USER / },
      { send: '+OK\r\n' },
      { expect: /^PASS / },
      { send: '+OK\r\n' },
      { expect: /^STAT$/ },
      { send: '+OK 1 50\r\n' },
      { expect: /^UIDL$/ },
      { send: listing('1 u1') },
      { expect: /^TOP 1 0$/ },
      { send: multi('Date: Wed, 25 Nov 2026 20:00:00 +0000\r\nX-Smtp-Probe-Target: t\r\n\r\n') },
      { expect: /^DELE 1$/ },
      { send: '+OK\r\n' },
      { expect: /^QUIT$/ },
      { send: '-ERR [SYS/TEMP] could not expunge\r\n' },
      { silence: true },
    ]);
    const session = await new Pop3Client().open(settings(s.port, { starttls: false, allowPlaintext: true }), signal());
    expect(await session.cleanup('t', Date.parse('2026-11-26T00:00:00Z'))).toBe(1);
    const e = await failure(session.close());
    expect(e.reason).toBe('reply');
    expect(e.message).toMatch(/deletions not committed/);
  });
});

// ------------------------------------------------------------------------------------ a hostile maildrop ---

/**
 * A maildrop of `count` messages made up on demand (nothing stored per message, so the heap measured is the
 * client's): message n has UID `uid-n`, 200 bytes, and plain headers unless `special` gives its text. Answers
 * STAT, LIST/UIDL (whole or for one message), TOP, RETR, DELE, QUIT; PIPELINING among its capabilities.
 */
function bigDrop(count: () => number, special: Map<number, string> = new Map()): ScriptStep {
  const textOf = (n: number): string => special.get(n) ?? msg({ 'Message-ID': `<m${n}@example.test>` });
  const lines = (f: (n: number) => string): string => {
    const parts: string[] = [];
    for (let n = 1; n <= count(); n += 1) parts.push(f(n));
    return multi(parts.join('\r\n'));
  };
  return {
    run: async (c: ScriptedConnection) => {
      c.write('+OK POP3 big ready\r\n');
      for (;;) {
        const line = await c.nextLine();
        if (!line) return;
        const [cmd = '', arg] = line.text.split(' ');
        const n = Number(arg);
        const known = arg !== undefined && n >= 1 && n <= count();
        switch (cmd.toUpperCase()) {
          case 'CAPA': c.write(multi('USER\r\nUIDL\r\nTOP\r\nPIPELINING')); break;
          case 'USER': case 'PASS': case 'DELE': c.write('+OK\r\n'); break;
          case 'STAT': c.write(`+OK ${count()} ${count() * 200}\r\n`); break;
          case 'LIST': c.write(arg === undefined ? lines((k) => `${k} 200`) : known ? `+OK ${n} 200\r\n` : '-ERR no such message\r\n'); break;
          case 'UIDL': c.write(arg === undefined ? lines((k) => `${k} uid-${k}`) : known ? `+OK ${n} uid-${n}\r\n` : '-ERR no such message\r\n'); break;
          case 'TOP': c.write(known ? multi(`${textOf(n).split('\r\n\r\n')[0]}\r\n\r\n`) : '-ERR no such message\r\n'); break;
          case 'RETR': c.write(known ? multi(textOf(n)) : '-ERR no such message\r\n'); break;
          case 'QUIT': c.write('+OK bye\r\n'); c.socket.end(); return;
          default: c.write('-ERR unknown command\r\n');
        }
      }
    },
  };
}

/** The heap after a full collection (V8's gc, reached without --expose-gc on the command line). */
function heapAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

describe('a maildrop of 200,000 messages', () => {
  const COUNT = 200_000;
  const plain = (port: number, over: Partial<MailboxSettings> = {}) => settings(port, { starttls: false, allowPlaintext: true, ...over });

  it('the client keeps what it looks at, not the listing: the heap it holds stays small', async () => {
    const special = new Map([[COUNT, msg({ 'X-Smtp-Probe-Id': 'newest' })]]);
    const s = await startScriptedServer([bigDrop(() => COUNT, special)]);
    const before = heapAfterGc();
    const session = await new Pop3Client().open(plain(s.port, { maxMessages: 1000 }), signal(15_000));
    expect(await session.take('newest')).not.toBeNull();
    const held = heapAfterGc() - before;
    await session.close();
    console.log(`heap held by an open session over ${COUNT} messages: ${(held / 1e6).toFixed(2)} MB`);
    expect(held).toBeLessThan(4e6);
  });

  it('only the newest max_messages are looked at, newest first; TOPs go out pipelined', async () => {
    const s = await startScriptedServer([bigDrop(() => COUNT)]);
    const session = await new Pop3Client().open(plain(s.port, { maxMessages: 1000 }), signal(10_000));
    expect(await session.take('absent')).toBeNull();
    await session.close();
    const tops = s.conn.commands().filter((c) => c.startsWith('TOP ')).map((c) => Number(c.split(' ')[1]));
    expect(tops).toHaveLength(1000);
    expect(tops[0]).toBe(COUNT);
    expect(Math.min(...tops)).toBe(COUNT - 999);
    expect(tops).toEqual([...tops].sort((a, b) => b - a));
    // Pipelined: several TOP commands arrive in one chunk.
    const chunks = new Set(s.conn.lines.filter((l) => l.text.startsWith('TOP ')).map((l) => l.chunk));
    expect(chunks.size).toBeLessThan(200);
  });

  it('a listing longer than the answer limit is read all the same (nothing of it is held), up to what STAT allows', async () => {
    const special = new Map([[3000, msg({ 'X-Smtp-Probe-Id': 'top' })]]);
    const s = await startScriptedServer([bigDrop(() => 3000, special)]);
    const limits: MailboxLimits = { maxLineBytes: 1024, maxMessageBytes: 4096 }; // UIDL here is ~40 KB
    const session = await new Pop3Client({ limits }).open(plain(s.port, { maxMessages: 10 }), signal());
    expect(await session.take('top')).not.toBeNull();
    await session.close();
    // A server whose UIDL runs far past what its STAT count allows: the answer limit still ends it.
    const lines = Array.from({ length: 4000 }, (_, i) => `${i + 1} uid-${i + 1}`).join('\r\n');
    const liar = await startScriptedServer([
      greeting,
      { expect: /^CAPA$/ }, { send: listing('USER\r\nUIDL\r\nTOP') },
      { expect: /^USER / }, { send: '+OK\r\n' },
      { expect: /^PASS / }, { send: '+OK\r\n' },
      { expect: /^STAT$/ }, { send: '+OK 1 100\r\n' },
      { expect: /^UIDL$/ }, { send: listing(lines) },
      { silence: true },
    ]);
    const lied = await new Pop3Client({ limits }).open(plain(liar.port), signal());
    const e = await failure(lied.take('x'));
    await lied.close();
    expect(e.reason).toBe('protocol');
    expect(e.message).toMatch(/answer to UIDL is larger than the 4096-byte limit/);
  });

  it('a later poll does not read the listing again: new messages only, by number', async () => {
    let count = COUNT;
    const special = new Map([[COUNT + 1, msg({ 'X-Smtp-Probe-Id': 'arrives' })]]);
    const s = await startScriptedServer([bigDrop(() => count, special)]);
    const session = await new Pop3Client().open(plain(s.port, { maxMessages: 1000 }), signal(10_000));
    expect(await session.take('arrives')).toBeNull();
    count += 1;
    expect(await session.take('arrives')).not.toBeNull();
    await session.close();
    expect(s.connections).toHaveLength(2);
    const second = s.connections[1]!.commands().slice(4); // after CAPA, USER, PASS... (no STLS here)
    expect(second.filter((c) => c === 'LIST' || c === 'UIDL')).toEqual([]);
    expect(second.filter((c) => c.startsWith('TOP '))).toEqual([`TOP ${COUNT + 1} 0`]);
  });
});
