/**
 * A small POP3 server on 127.0.0.1, port 0, for round trips in tests: its maildrop is whatever `source()` returns
 * at login (the messages a fake MX received), less those deleted. `hold` hides every message from new sessions,
 * so a run's message is "not delivered yet" and found by a later run. USER/PASS accept anything.
 */
import net from 'node:net';
import { track, untrack } from '../helpers/cleanup.js';

export interface FakePop3 {
  port: number;
  /** New sessions see an empty maildrop while true. */
  hold: boolean;
  /** Logins so far. */
  logins: number;
  close(): Promise<void>;
}

interface Message {
  uid: string;
  raw: string;
}

export async function startFakePop3(source: () => string[]): Promise<FakePop3> {
  const deleted = new Set<string>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let view: Message[] = [];
    const dele = new Set<string>();
    const answer = (line: string): string => {
      const [cmd = '', a1, a2] = line.split(' ');
      const n = Number(a1);
      const m = Number.isInteger(n) && n >= 1 ? view[n - 1] : undefined;
      switch (cmd.toUpperCase()) {
        case 'CAPA': return '+OK\r\nTOP\r\nUIDL\r\nUSER\r\n.\r\n';
        case 'USER': return '+OK\r\n';
        case 'PASS':
          handle.logins += 1;
          view = handle.hold ? [] : source().map((raw, i) => ({ uid: `m${i}`, raw })).filter((x) => !deleted.has(x.uid));
          return '+OK logged in\r\n';
        case 'STAT': return `+OK ${view.length} ${view.reduce((s, x) => s + x.raw.length, 0)}\r\n`;
        case 'UIDL':
          if (a1 === undefined) return `+OK\r\n${view.map((x, i) => `${i + 1} ${x.uid}\r\n`).join('')}.\r\n`;
          return m ? `+OK ${n} ${m.uid}\r\n` : '-ERR no such message\r\n';
        case 'LIST': return m ? `+OK ${n} ${m.raw.length}\r\n` : '-ERR no such message\r\n';
        case 'TOP': return m && a2 !== undefined ? `+OK\r\n${stuff(m.raw.split(/\r\n\r\n/)[0]!)}\r\n.\r\n` : '-ERR no such message\r\n';
        case 'RETR': return m ? `+OK\r\n${stuff(m.raw.replace(/\r\n$/, ''))}\r\n.\r\n` : '-ERR no such message\r\n';
        case 'DELE':
          if (!m) return '-ERR no such message\r\n';
          dele.add(m.uid);
          return '+OK\r\n';
        case 'NOOP': return '+OK\r\n';
        case 'QUIT':
          for (const uid of dele) deleted.add(uid);
          return '+OK bye\r\n';
        default: return '-ERR unknown command\r\n';
      }
    };
    let buffered = '';
    socket.write('+OK fake POP3 ready\r\n');
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let i = buffered.indexOf('\r\n'); i >= 0; i = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 2);
        socket.write(answer(line));
        if (/^QUIT$/i.test(line)) socket.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const handle: FakePop3 = {
    port: (server.address() as net.AddressInfo).port,
    hold: false,
    logins: 0,
    close: async () => {
      untrack(handle);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return track(handle);
}

/** Dot-stuffing (RFC 1939 3). */
function stuff(text: string): string {
  return text.split('\r\n').map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n');
}
