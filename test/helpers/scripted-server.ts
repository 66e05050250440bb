/**
 * A raw TCP server on 127.0.0.1, port 0, that plays a script byte for byte: for hostile, malformed or precisely
 * timed server behaviour that smtp-server cannot produce. Every line the client sends is recorded, with the
 * data chunk it arrived in and how many server writes had happened by then (to see pipelining), so tests can
 * assert what the client did and did not send.
 *
 * Each accepted connection runs the script from the start. When the script ends the connection stays open and
 * silent (still recording) until the client closes it or the server is closed.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { KeyPair } from './certs.js';
import { track, untrack } from './cleanup.js';

export type ScriptStep =
  /** Write bytes (a string is written as latin1, one byte per character, so "\x00" is a NUL byte). `chunkBytes`
   *  splits them into writes of that size, `gapMs` apart (separate TCP segments). */
  | { send: string | Buffer; chunkBytes?: number; gapMs?: number }
  /** Wait for the next client line (CR/LF stripped); it must match, or the script stops with an error. */
  | { expect: RegExp }
  /** After a 354: read message lines up to and including the lone ".". */
  | { data: true }
  | { delay: number }
  /** Half-close then destroy: the client sees an orderly FIN. */
  | { close: true }
  /** TCP RST (socket.resetAndDestroy()); after STARTTLS, a plain destroy. */
  | { reset: true }
  /** Never answer again (keep reading and recording). */
  | { silence: true }
  /** Write this many bytes of `line` repeated (default "x": one endless line without a newline). */
  | { flood: number; line?: string }
  /** Wrap the socket in TLS as the server side (after the plaintext 220 to STARTTLS, or at once for implicit TLS). */
  | { starttls: KeyPair }
  /** Escape hatch for anything else. */
  | { run: (c: ScriptedConnection) => void | Promise<void> };

export interface ClientLine {
  /** The line without its CR/LF. */
  text: string;
  /** False when the client ended it with a bare LF. */
  crlf: boolean;
  /** Index of the data chunk (read event) it arrived in. */
  chunk: number;
  /** Server writes made before the line arrived. */
  writesBefore: number;
  /** Arrived over TLS. */
  tls: boolean;
  /** Part of message content (between the 354 and the final dot, inclusive). */
  inData: boolean;
}

export interface ScriptedServerOptions {
  /** Implicit TLS: handshake first, then the script. */
  implicitTls?: KeyPair;
  /** A different script per connection (0-based); default: the same script for every connection. */
  scriptFor?: (index: number) => ScriptStep[];
}

export class ScriptedConnection {
  readonly lines: ClientLine[] = [];
  /** Every byte the client sent (decrypted after STARTTLS), in order. */
  readonly raw: Buffer[] = [];
  /** Script problems: an `expect` that did not match, a TLS handshake that failed. */
  readonly errors: string[] = [];
  /** The step index reached, and whether the whole script ran. */
  step = 0;
  finished = false;
  closed = false;
  writes = 0;
  /** Bytes handed to the socket by the script. */
  sentBytes = 0;
  socket: net.Socket | tls.TLSSocket;
  private chunks = 0;
  private isTls = false;
  private partial: Buffer = Buffer.alloc(0);
  private pending: ClientLine[] = [];
  private wake: (() => void) | null = null;
  private resolveClosed: () => void = () => undefined;
  private readonly closedPromise = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(readonly raw0: net.Socket) {
    this.socket = raw0;
    raw0.setNoDelay(true);
    raw0.on('close', () => this.markClosed());
    raw0.on('error', () => undefined);
    this.listen(raw0);
  }

  /** Everything the client sent, decoded as UTF-8 (for "this secret never went over the wire" checks). */
  text(): string {
    return Buffer.concat(this.raw).toString('utf8');
  }

  /** Command lines (message content left out). */
  commands(): string[] {
    return this.lines.filter((l) => !l.inData).map((l) => l.text);
  }

  /** Write now (synchronously queued), counting the write. */
  write(data: string | Buffer): void {
    if (this.socket.destroyed) return;
    this.writes += 1;
    this.sentBytes += data.length;
    this.socket.write(data);
  }

  /** The next line the client sends, or null when the connection closed first. */
  async nextLine(): Promise<ClientLine | null> {
    for (;;) {
      const line = this.pending.shift();
      if (line) return line;
      if (this.closed) return null;
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  /** Destroy the topmost socket only: destroying the TCP socket under a server-side TLSSocket crashes Node 20. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Switch to TLS as the server (`options`: e.g. minVersion, ciphers of a weak test server). Resolves when the handshake is done, rejects when it fails. */
  async upgrade(pair: KeyPair, options: tls.TLSSocketOptions = {}): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = new tls.TLSSocket(plain, { ...options, isServer: true, cert: pair.cert, key: pair.key });
    this.socket = secure;
    secure.on('error', () => undefined);
    secure.on('close', () => this.markClosed());
    this.listen(secure, true);
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', () => resolve());
      secure.once('error', (e) => reject(e));
      secure.once('close', () => reject(new Error('closed during the TLS handshake')));
    });
  }

  private listen(s: net.Socket | tls.TLSSocket, isTls = false): void {
    this.isTls = isTls;
    s.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  private markClosed(): void {
    this.closed = true;
    this.resolveClosed();
    this.poke();
  }

  private onData(chunk: Buffer): void {
    this.raw.push(Buffer.from(chunk));
    const index = this.chunks;
    this.chunks += 1;
    this.partial = Buffer.concat([this.partial, chunk]);
    for (;;) {
      const lf = this.partial.indexOf(0x0a);
      if (lf < 0) break;
      const withCr = lf > 0 && this.partial[lf - 1] === 0x0d;
      const text = this.partial.toString('utf8', 0, withCr ? lf - 1 : lf);
      this.partial = this.partial.subarray(lf + 1);
      const line: ClientLine = { text, crlf: withCr, chunk: index, writesBefore: this.writes, tls: this.isTls, inData: false };
      this.lines.push(line);
      this.pending.push(line);
    }
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Read message content after a 354, marking those lines as data. */
  async readData(): Promise<boolean> {
    for (;;) {
      const line = await this.nextLine();
      if (!line) return false;
      line.inData = true;
      if (line.text === '.') return true;
    }
  }
}

export interface ScriptedServer {
  port: number;
  connections: ScriptedConnection[];
  /** The first connection (most tests have one). Throws when nobody connected. */
  readonly conn: ScriptedConnection;
  /** Command lines of all connections. */
  commands(): string[];
  /** All bytes the client sent on all connections, UTF-8. */
  text(): string;
  /** Script errors of all connections. */
  errors(): string[];
  close(): Promise<void>;
}

export async function startScriptedServer(script: ScriptStep[], opts: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const connections: ScriptedConnection[] = [];
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    const c = new ScriptedConnection(socket);
    const index = connections.length;
    connections.push(c);
    const steps = opts.scriptFor ? opts.scriptFor(index) : script;
    const all: ScriptStep[] = opts.implicitTls ? [{ starttls: opts.implicitTls }, ...steps] : steps;
    play(c, all).catch((e: unknown) => {
      c.errors.push(`script crashed: ${String(e)}`);
      c.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const handle: ScriptedServer = {
    port,
    connections,
    get conn(): ScriptedConnection {
      const c = connections[0];
      if (!c) throw new Error('no client connected to the scripted server');
      return c;
    },
    commands: () => connections.flatMap((c) => c.commands()),
    text: () => connections.map((c) => c.text()).join(''),
    errors: () => connections.flatMap((c) => c.errors),
    close: async () => {
      untrack(handle);
      for (const c of connections) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return track(handle);
}

async function play(c: ScriptedConnection, steps: ScriptStep[]): Promise<void> {
  for (const [i, step] of steps.entries()) {
    c.step = i;
    const go = await runStep(c, step, i);
    if (!go) return;
  }
  c.finished = true;
}

function drained(s: net.Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runStep(c: ScriptedConnection, step: ScriptStep, i: number): Promise<boolean> {
  if ('send' in step) {
    const buf = typeof step.send === 'string' ? Buffer.from(step.send, 'latin1') : step.send;
    const size = step.chunkBytes ?? buf.length;
    for (let at = 0; at < buf.length; at += size) {
      if (at > 0 && step.gapMs) await sleep(step.gapMs);
      c.write(buf.subarray(at, at + size));
    }
    return true;
  }
  if ('expect' in step) {
    const line = await c.nextLine();
    if (!line) return false;
    if (!step.expect.test(line.text)) {
      c.errors.push(`step ${i}: expected ${String(step.expect)}, client sent ${JSON.stringify(line.text)}`);
      c.destroy();
      return false;
    }
    return true;
  }
  if ('data' in step) return c.readData();
  if ('delay' in step) {
    await sleep(step.delay);
    return !c.closed;
  }
  if ('close' in step) {
    c.socket.end();
    setTimeout(() => c.destroy(), 50).unref();
    return false;
  }
  if ('reset' in step) {
    // An RST needs the TCP handle; over TLS the connection is simply destroyed.
    if (c.socket === c.raw0 && !c.raw0.destroyed) c.raw0.resetAndDestroy();
    else c.destroy();
    return false;
  }
  if ('silence' in step) {
    await c.whenClosed();
    return false;
  }
  if ('flood' in step) {
    const unit = Buffer.from(step.line ?? 'x', 'latin1');
    const block = Buffer.alloc(64 * 1024);
    for (let at = 0; at < block.length; at += unit.length) unit.copy(block, at);
    let left = step.flood;
    while (left > 0 && !c.socket.destroyed && !c.closed) {
      const part = block.subarray(0, Math.min(left, block.length));
      left -= part.length;
      c.writes += 1;
      c.sentBytes += part.length;
      if (!c.socket.write(part)) await drained(c.socket);
    }
    return !c.closed;
  }
  if ('starttls' in step) {
    if (c.closed) return false;
    try {
      await c.upgrade(step.starttls);
      return true;
    } catch (e) {
      c.errors.push(`step ${i}: TLS handshake failed: ${String(e)}`);
      c.destroy();
      return false;
    }
  }
  await step.run(c);
  return !c.closed;
}

// Script builders for the common parts of a dialogue.

/** `250-a\r\n250-b\r\n250 c\r\n` from ['a', 'b', 'c']. */
export function multiline(code: number, lines: string[]): string {
  return lines.map((l, i) => `${code}${i === lines.length - 1 ? ' ' : '-'}${l}\r\n`).join('');
}

export const banner = (text = '220 mx.example.test ESMTP scripted'): ScriptStep => ({ send: `${text}\r\n` });

/** Expect EHLO and answer with these capabilities. */
export function ehloSteps(caps: string[], greeting = 'mx.example.test'): ScriptStep[] {
  return [{ expect: /^EHLO \S+$/ }, { send: multiline(250, [greeting, ...caps]) }];
}

/** Expect a command and send a one-line reply (CRLF added). */
export function reply(expect: RegExp, line: string): ScriptStep[] {
  return [{ expect }, { send: `${line}\r\n` }];
}

export const quitSteps: ScriptStep[] = [{ expect: /^QUIT$/ }, { send: '221 2.0.0 bye\r\n' }, { close: true }];
