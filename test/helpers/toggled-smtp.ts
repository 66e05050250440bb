/**
 * An SMTP responder on 127.0.0.1, port 0, that a test takes down (a 421 greeting) and brings back: for alerting
 * tests that need a mail server that breaks and recovers.
 */
import net from 'node:net';

export interface ToggledSmtp {
  port: number;
  setDown(v: boolean): void;
  close(): Promise<void>;
}

export async function toggledServer(): Promise<ToggledSmtp> {
  let down = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    if (down) return void s.end('421 4.3.2 service shutting down\r\n');
    s.write('220 mx.test ESMTP\r\n');
    s.on('data', (d) => {
      for (const line of d.toString().split('\r\n').filter(Boolean)) s.write(/^QUIT/i.test(line) ? '221 bye\r\n' : '250 ok\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    setDown: (v) => void (down = v),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
