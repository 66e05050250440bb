/**
 * `check` takes what /probe and the config take: a bare host[:port] target, and the config's TLS and mailbox
 * settings as flags (--tls-min-version, --cert/--key, --mailbox-servername), thresholds and certificate levels.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { plansFromFlags, type CheckFlags } from '../../src/cli/check-plan.js';
import type { CheckResult } from '../../src/core/result.js';
import { closeAll, track } from '../helpers/cleanup.js';
import { certValidFor, serverCert, testCa } from '../helpers/certs.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { cli } from '../helpers/cli.js';



let dir: string;
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-parity-'));
});
afterEach(closeAll);

const plan = (urls: string[], f: CheckFlags) => plansFromFlags(urls, f, { MB_PASS: 'pw' })[0]!;
const usage = (urls: string[], f: CheckFlags): string => {
  try {
    plansFromFlags(urls, f, { MB_PASS: 'pw' });
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  return '(no usage error)';
};

describe('a target without a scheme', () => {
  test('host[:port] means smtp://host[:port], as /probe?target= takes it', () => {
    expect(plan(['127.0.0.1:2525'], {})).toMatchObject({ url: 'smtp://127.0.0.1:2525', host: '127.0.0.1', port: 2525, tls: 'opportunistic' });
    expect(plan(['mail.example.test'], {})).toMatchObject({ url: 'smtp://mail.example.test:25', port: 25 });
    expect(plan(['[::1]:587'], {})).toMatchObject({ url: 'smtp://[::1]:587', host: '::1' });
  });

  test('check 127.0.0.1:PORT runs against the server', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true });
    const r = await cli(['check', `127.0.0.1:${mx.port}`, '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { results: CheckResult[] }).results[0]).toMatchObject({ target: `smtp://127.0.0.1:${mx.port}`, ok: true });
  });
});

describe('the config\'s settings as flags', () => {
  test('--tls-min-version, --cert/--key, --mailbox-servername reach the plan', () => {
    const cert = file('client.pem', 'CERT');
    const key = file('client.key', 'KEY');
    const p = plan(['smtp://mail.example.test:587'], {
      'tls-min-version': 'TLS13', cert, key,
      mailbox: 'imaps://imap.example.test', 'mailbox-user': 'probe', 'mailbox-pass-env': 'MB_PASS', 'mailbox-servername': 'imap.internal.test',
      to: ['probe@example.test'],
    });
    expect(p.tlsParams).toMatchObject({ minVersion: 'TLSv1.3', cert: 'CERT', key: 'KEY' });
    expect(p.roundtrip?.mailbox.servername).toBe('imap.internal.test');
    expect(plan(['smtp://h'], { 'tls-min-version': 'TLS10' }).tlsParams.minVersion).toBe('TLSv1');
  });

  test.each<[CheckFlags, RegExp]>([
    [{ 'tls-min-version': 'TLS14' }, /--tls-min-version: "TLS14" is not one of TLS10, TLS11, TLS12, TLS13/],
    [{ cert: '/x.pem' }, /--cert: needs --key/],
    [{ key: '/x.key' }, /--key: needs --cert/],
    [{ 'mailbox-servername': 'imap.example.test' }, /--mailbox-servername: needs --mailbox/],
    [{ warning: '5s', critical: '2s' }, /--warning \(5s\) is over the critical threshold \(2s\)/],
    [{ warning: '2' }, /--warning: "2" needs a unit/],
    [{ 'min-cert-days': '3,14' }, /--min-cert-days: the critical level \(14\) must not be over the warning level \(3\)/],
    [{ 'min-cert-days': '14,x' }, /--min-cert-days: "14,x" is not DAYS or WARN,CRIT/],
  ])('%j is a usage error', (f, message) => {
    expect(usage(['smtp://h'], f)).toMatch(message);
  });

  test('--warning/--critical and --min-cert-days W,C reach the plan', () => {
    expect(plan(['h:587'], { warning: '2s', critical: '5s', 'min-cert-days': '14,7', strict: true })).toMatchObject({
      thresholds: { warningMs: 2000, criticalMs: 5000 }, minCertDays: 14, criticalCertDays: 7, strict: true,
    });
    expect(plan(['h'], { 'min-cert-days': '14' })).toMatchObject({ minCertDays: 14, criticalCertDays: null });
  });

  test('--tls-min-version TLS13 against a server that stops at TLS 1.2: fails at tls, reason tls', async () => {
    const s = await implicitTlsServer({ maxVersion: 'TLSv1.2' });
    const ca = file('ca.pem', testCa().cert);
    const ok = await cli(['check', `smtps://127.0.0.1:${s.port}`, '--ca', ca, '--tls-min-version', 'TLS12', '--format', 'json']);
    expect(ok.code).toBe(0);
    const r = await cli(['check', `smtps://127.0.0.1:${s.port}`, '--ca', ca, '--tls-min-version', 'TLS13', '--format', 'json']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { results: CheckResult[] }).results[0]!.failure).toMatchObject({ phase: 'tls', reason: 'tls' });
  });

  test('--cert/--key: the server sees the client certificate', async () => {
    const s = await implicitTlsServer({ requestCert: true });
    const client = certValidFor(30, 'client.example.test');
    const r = await cli([
      'check', `smtps://127.0.0.1:${s.port}`, '--ca', file('ca2.pem', testCa().cert),
      '--cert', file('c.pem', client.cert), '--key', file('c.key', client.key), '--format', 'json',
    ]);
    expect(r.code).toBe(0);
    expect(s.peers).toEqual(['client.example.test']);
  });
});

/** An implicit-TLS SMTP server that answers every command with 250 (221 to QUIT) and records client certificates. */
async function implicitTlsServer(o: tls.TlsOptions): Promise<{ port: number; peers: string[] }> {
  const peers: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ ...serverCert(), ...o, rejectUnauthorized: false }, (socket) => {
    const peer = socket.getPeerCertificate();
    if (peer && peer.subject) peers.push(String(peer.subject.CN));
    socket.on('error', () => undefined);
    socket.write('220 tls.example.test ESMTP\r\n');
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (/^QUIT/i.test(line)) socket.end('221 bye\r\n');
        else socket.write(/^EHLO/i.test(line) ? '250-tls.example.test\r\n250 PIPELINING\r\n' : '250 ok\r\n');
      }
    });
  });
  server.on('tlsClientError', () => undefined);
  server.on('connection', (raw: net.Socket) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  track({
    close: () => new Promise<void>((resolve) => {
      for (const raw of sockets) raw.destroy();
      server.close(() => resolve());
    }),
  });
  return { port: (server.address() as net.AddressInfo).port, peers };
}
