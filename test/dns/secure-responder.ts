/**
 * A scripted DNS server on 127.0.0.1 (one port, UDP and TCP) for the secure DNS client's tests: each query is
 * handed to a function that says what to send back (an answer built with dns-packet, raw bytes, several packets,
 * or nothing), so tests can set AD and TC, send a wrong id first, garbage, or a TCP answer cut short.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as packet from 'dns-packet';
import { track, untrack } from '../helpers/cleanup.js';

export type Transport = 'udp' | 'tcp';

/** What to send back: answers (each a packet or raw bytes), in order; an empty list sends nothing; 'close' ends
 * the TCP connection there (ignored over UDP); `{ spoof }` is sent over UDP from another port of 127.0.0.1 (an
 * off-path attacker's guess). */
export type Reply = (packet.Packet | Buffer | 'close' | { spoof: packet.Packet })[];

export type Handler = (q: packet.DecodedPacket, transport: Transport) => Reply;

export interface SeenQuery {
  transport: Transport;
  id: number;
  name: string;
  type: string;
  /** The OPT record's DO bit and UDP payload size; null without EDNS0. */
  edns: { do: boolean; udpPayloadSize: number } | null;
  rd: boolean;
}

export interface SecureResponder {
  port: number;
  address: string;
  seen: SeenQuery[];
  setHandler(h: Handler): void;
  /** Resolves once `n` queries have arrived. */
  waitForQueries(n: number): Promise<void>;
  close(): Promise<void>;
}

/** An answer to `q` with `flags` (QR is added), the rcode and records; the question is echoed. */
export function reply(q: packet.DecodedPacket, opts: { ad?: boolean; tc?: boolean; rcode?: number; answers?: packet.Answer[]; id?: number } = {}): packet.Packet {
  const flags = packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (opts.ad ? packet.AUTHENTIC_DATA : 0) | (opts.tc ? packet.TRUNCATED_RESPONSE : 0) | (opts.rcode ?? 0);
  return { type: 'response', id: opts.id ?? q.id ?? 0, flags, questions: q.questions ?? [], answers: opts.answers ?? [] };
}

export async function startSecureResponder(handler: Handler): Promise<SecureResponder> {
  let current = handler;
  const seen: SeenQuery[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const sockets = new Set<net.Socket>();

  const note = (q: packet.DecodedPacket, transport: Transport): void => {
    const opt = (q.additionals ?? []).find((a) => a.type === 'OPT') as packet.OptAnswer | undefined;
    const question = q.questions?.[0];
    seen.push({ transport, id: q.id ?? 0, name: question?.name ?? '', type: question?.type ?? '', edns: opt ? { do: opt.flag_do, udpPayloadSize: opt.udpPayloadSize } : null, rd: q.flag_rd });
    for (const w of [...waiters]) if (seen.length >= w.n) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  const bytes = (r: packet.Packet | Buffer): Buffer => (Buffer.isBuffer(r) ? r : packet.encode(r));

  function onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let q: packet.DecodedPacket;
    try {
      q = packet.decode(msg);
    } catch {
      return;
    }
    note(q, 'udp');
    for (const r of current(q, 'udp')) {
      if (r === 'close') continue;
      if ('spoof' in r) spoofer.send(packet.encode(r.spoof), rinfo.port, rinfo.address);
      else udp.send(bytes(r), rinfo.port, rinfo.address);
    }
  }

  function serveTcp(sock: net.Socket): void {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const q = packet.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      buf = Buffer.alloc(0);
      note(q, 'tcp');
      const out = current(q, 'tcp');
      if (out.length === 0) return;
      for (const r of out) {
        if (r === 'close') return void sock.end();
        if ('spoof' in r) continue;
        const b = bytes(r);
        // A raw Buffer is sent as is (a test of a cut-short answer prefixes its own length); a packet gets one.
        if (Buffer.isBuffer(r)) sock.write(b);
        else sock.write(Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]));
      }
    });
  }

  const { udp, tcp } = await bindBoth(serveTcp);
  const spoofer = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => spoofer.bind(0, '127.0.0.1', () => resolve()));
  const port = udp.address().port;
  udp.on('message', onUdp);

  const server: SecureResponder = {
    port,
    address: `127.0.0.1:${port}`,
    seen,
    setHandler(h) {
      current = h;
    },
    waitForQueries(n) {
      if (seen.length >= n) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ n, resolve }));
    },
    async close() {
      untrack(server);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => spoofer.close(() => resolve()));
    },
  };
  return track(server);
}

/** A UDP socket and a TCP listener on the same free port of 127.0.0.1 (a port taken for TCP: try another). */
async function bindBoth(serveTcp: (sock: net.Socket) => void): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve());
    });
    const tcp = net.createServer(serveTcp);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(udp.address().port, '127.0.0.1', () => resolve());
      });
      return { udp, tcp };
    } catch (e) {
      udp.close();
      if (attempt >= 20 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
}
