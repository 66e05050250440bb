/**
 * Raw SMTP responders (node:net) listening on one port on several loopback addresses (127.0.0.1, 127.0.0.2,
 * 127.0.0.3, ...: Linux routes all of 127/8 to lo), so that MX hosts resolved to different addresses can share
 * the mx:// URL's port. Each address plays a minimal server: a banner, EHLO, NOOP, RSET, QUIT; its banner
 * code can be set (554: "no SMTP service here", RFC 5321 3.1). Every connection and command is logged.
 */
import net from 'node:net';
import { track, untrack } from '../helpers/cleanup.js';

export interface ResponderBehaviour {
  /** Banner reply code (default 220). */
  bannerCode?: number;
  /** The name in the banner and the EHLO reply. */
  name?: string;
}

export interface ResponderLog {
  /** The address the client connected to. */
  address: string;
  commands: string[];
}

export interface Responders {
  port: number;
  /** One entry per accepted connection, in order. */
  connections: ResponderLog[];
  /** Change how one address answers (later connections). */
  set(address: string, b: ResponderBehaviour): void;
  connectionsTo(address: string): ResponderLog[];
  close(): Promise<void>;
}

export async function startResponders(behaviours: Record<string, ResponderBehaviour>): Promise<Responders> {
  const addresses = Object.keys(behaviours);
  const current = new Map(Object.entries(behaviours));
  const connections: ResponderLog[] = [];
  const sockets = new Set<net.Socket>();
  // Find a port free on every address: take one from the first, then bind the others to it, retrying on a clash.
  for (let attempt = 0; ; attempt++) {
    const servers: net.Server[] = [];
    try {
      let port = 0;
      for (const address of addresses) {
        const s = net.createServer((sock) => serve(sock, address));
        servers.push(s);
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(port, address, () => {
            s.off('error', reject);
            resolve();
          });
        });
        port = (s.address() as net.AddressInfo).port;
      }
      const r: Responders = {
        port,
        connections,
        set(address, b) {
          current.set(address, b);
        },
        connectionsTo(address) {
          return connections.filter((c) => c.address === address);
        },
        async close() {
          untrack(r);
          for (const sock of sockets) sock.destroy();
          await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
        },
      };
      return track(r);
    } catch (e) {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      if (attempt >= 20 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }

  function serve(sock: net.Socket, address: string): void {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    const log: ResponderLog = { address, commands: [] };
    connections.push(log);
    const b = current.get(address) ?? {};
    const name = b.name ?? address;
    const code = b.bannerCode ?? 220;
    sock.write(`${code} ${name} ${code === 220 ? 'ESMTP ready' : 'no SMTP service here'}\r\n`);
    let buf = '';
    sock.setEncoding('latin1');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        log.commands.push(line);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'QUIT') {
          sock.end('221 2.0.0 bye\r\n');
          return;
        }
        if (code !== 220) sock.write('503 5.5.1 no service, only QUIT\r\n');
        else if (verb === 'EHLO') sock.write(`250-${name} hello\r\n250 PIPELINING\r\n`);
        else if (verb === 'HELO') sock.write(`250 ${name}\r\n`);
        else if (verb === 'NOOP' || verb === 'RSET') sock.write('250 2.0.0 OK\r\n');
        else sock.write('502 5.5.2 not implemented\r\n');
      }
    });
  }
}
