/** The demo's TLS certificate is made at start-up: no private key is committed under src/. */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { describe, expect, test } from 'vitest';
import { demoCertificate, makeSelfSigned } from '../../src/demo/cert.js';
import { DEMO_DOMAIN, startDemoServer } from '../../src/demo/server.js';
import { runCheck, systemDeps } from '../../src/runner/run.js';
import { makePlan } from '../../src/plan/build.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('the demo certificate', () => {
  test('no file under src/ holds a private key', () => {
    const marker = ['PRIVATE', 'KEY-----'].join(' ');
    expect(filesUnder('src').filter((f) => readFileSync(f, 'utf8').includes(marker))).toEqual([]);
  });

  test('every serial number encodes as minimal DER: random bytes that start 0x00 or 0x80 still make a certificate OpenSSL loads', () => {
    for (const first of [0x00, 0x80, 0x7f, 0xff]) {
      for (const second of [0x00, 0x7f, 0x80, 0xff]) {
        const bytes = (n: number): Buffer => Buffer.from([first, second, ...new Array<number>(n - 2).fill(0x5a)]);
        const { cert, key } = makeSelfSigned(Date.now(), bytes);
        expect(() => tls.createSecureContext({ cert, key }), `serial ${first}, ${second}`).not.toThrow();
        expect(new X509Certificate(cert).serialNumber).toMatch(/^(0[1-9A-F]|[1-7][0-9A-F])[0-9A-F]{30}$/);
      }
    }
  });

  test('made once per process: a self-signed EC certificate for localhost and 127.0.0.1, valid now, matching its key', () => {
    const { cert, key } = demoCertificate();
    expect(demoCertificate().cert).toBe(cert);
    const x = new X509Certificate(cert);
    expect(x.subject).toBe('CN=localhost');
    expect(x.issuer).toBe('CN=localhost');
    expect(x.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(x.ca).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(key))).toBe(true);
    expect(x.publicKey.asymmetricKeyType).toBe('ec');
    expect(Date.parse(x.validFrom)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(x.validTo)).toBeGreaterThan(Date.now() + 300 * 86_400_000);
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  test('a TLS client trusting it verifies the handshake for localhost', async () => {
    const { cert, key } = demoCertificate();
    const server = tls.createServer({ cert, key }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as { port: number }).port;
      const authorized = await new Promise<boolean>((resolve, reject) => {
        const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: cert }, () => {
          resolve(c.authorized);
          c.destroy();
        });
        c.on('error', reject);
      });
      expect(authorized).toBe(true);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('the demo server presents it: a STARTTLS check trusting it verifies', async () => {
    const server = await startDemoServer();
    try {
      const plan = makePlan({
        host: '127.0.0.1', port: server.port, tls: 'starttls', ehlo: `probe.${DEMO_DOMAIN}`,
        tlsParams: { servername: 'localhost', ca: demoCertificate().cert, insecure: false }, steps: ['banner', 'ehlo', 'starttls', 'quit'],
      });
      const r = await runCheck(plan, systemDeps());
      expect(r.failure).toBeNull();
      expect(r.tls).toMatchObject({ verified: true, subject: 'localhost' });
    } finally {
      await server.close();
    }
  });
});
