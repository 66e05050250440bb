import tls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TlsParams } from '../../src/core/tls.js';
import { CONTEXT_CACHE_SIZE, secureContextFor } from '../../src/net/tls.js';
import { closeAll } from '../helpers/cleanup.js';
import { TEST_SERVER_NAME, selfSignedCert, serverCert, testCa } from '../helpers/certs.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { localPlan, probe, trustedTls } from '../helpers/plans.js';

afterEach(() => {
  vi.restoreAllMocks();
  return closeAll();
});

/** A fresh settings object each call, as /probe builds one plan (and its tlsParams) per request. */
const params = (over: Partial<TlsParams> = {}): TlsParams => ({ servername: TEST_SERVER_NAME, ca: testCa().cert, insecure: false, ...over });

/** The test CA with a comment line in front: different bytes, and a different cache entry, that still parse. */
const caVariant = (n: number): string => `# variant ${n}\n${testCa().cert}`;

describe('secureContextFor: one TLS context per distinct set of TLS settings', () => {
  it('settings objects with the same contents share one context', () => {
    expect(secureContextFor(params())).toBe(secureContextFor(params()));
    expect(secureContextFor(params({ ca: Buffer.from(testCa().cert) }))).toBe(secureContextFor(params()));
  });

  it('the server name and the insecure flag belong to the connection, not to the context', () => {
    expect(secureContextFor(params({ servername: 'other.example.test', insecure: true }))).toBe(secureContextFor(params()));
  });

  it('a posture hello (versions, ciphers) gets a context of its own, shared by the same hello and settings', () => {
    const tls10 = { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
    const first = secureContextFor(params(), tls10);
    expect(secureContextFor(params(), { ...tls10 })).toBe(first);
    expect(first).not.toBe(secureContextFor(params()));
    expect(secureContextFor(params(), { ...tls10, maxVersion: 'TLSv1.1' })).not.toBe(first);
    expect(secureContextFor(params({ ca: selfSignedCert().cert }), tls10)).not.toBe(first);
  });

  it('a different CA, client certificate, key or minimum version gets a context of its own', () => {
    const base = secureContextFor(params());
    const pair = serverCert();
    const others = [
      params({ ca: selfSignedCert().cert }),
      params({ ca: undefined }),
      params({ cert: pair.cert, key: pair.key }),
      params({ minVersion: 'TLSv1.3' }),
    ].map((p) => secureContextFor(p));
    expect(new Set([base, ...others]).size).toBe(5);
  });

  it('unusable settings throw (the session reports them) and are not cached', () => {
    const broken = params({ cert: serverCert().cert, key: selfSignedCert().key });
    expect(() => secureContextFor(broken)).toThrow();
    expect(() => secureContextFor({ ...broken })).toThrow();
  });

  it(`holds at most ${CONTEXT_CACHE_SIZE} contexts, dropping the least recently used`, () => {
    const extra = 5;
    const made = Array.from({ length: CONTEXT_CACHE_SIZE + extra }, (_, i) => secureContextFor(params({ ca: caVariant(i) })));
    // The newest CONTEXT_CACHE_SIZE are still there (asked for oldest first, so asking inserts nothing) ...
    for (let i = extra; i < made.length; i += 1) expect(secureContextFor(params({ ca: caVariant(i) })), `entry ${i}`).toBe(made[i]);
    // ... and the older ones were dropped: asking again builds a new context.
    for (let i = 0; i < extra; i += 1) expect(secureContextFor(params({ ca: caVariant(i) })), `entry ${i}`).not.toBe(made[i]);
  });

  it('a context in use is kept while others come and go', () => {
    const kept = secureContextFor(params({ ca: caVariant(1000) }));
    for (let i = 0; i < 3 * CONTEXT_CACHE_SIZE; i += 1) {
      secureContextFor(params({ ca: caVariant(2000 + i) }));
      expect(secureContextFor(params({ ca: caVariant(1000) }))).toBe(kept);
    }
  });
});

describe('TLS contexts on real connections', () => {
  it('two runs of separately built plans with the same settings use one context (as /probe does)', async () => {
    const mx = await startFakeMx();
    const connect = vi.spyOn(tls, 'connect');
    const a = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls() }));
    const b = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls() }));
    expect([a.failure, b.failure]).toEqual([null, null]);
    expect([a.tls?.verified, b.tls?.verified]).toEqual([true, true]);
    const contexts = connect.mock.calls.map((c) => (c[0] as tls.ConnectionOptions).secureContext);
    expect(contexts).toHaveLength(2);
    expect(contexts[0]).toBeDefined();
    expect(contexts[1]).toBe(contexts[0]);
  });

  it('a module trusting another CA gets its own context: the certificate is not verified there', async () => {
    const mx = await startFakeMx();
    const connect = vi.spyOn(tls, 'connect');
    const trusted = await probe(localPlan(mx.port, { tls: 'opportunistic', tlsParams: trustedTls() }));
    const other = await probe(localPlan(mx.port, { tls: 'opportunistic', tlsParams: trustedTls({ ca: selfSignedCert().cert }) }));
    expect(trusted.tls?.verified).toBe(true);
    expect(other.tls?.verified).toBe(false);
    expect(other.tls?.verifyError).toMatch(/UNABLE_TO|unable to/);
    const contexts = connect.mock.calls.map((c) => (c[0] as tls.ConnectionOptions).secureContext);
    expect(contexts).toHaveLength(2);
    expect(contexts[1]).not.toBe(contexts[0]);
  });

  it("the server's certificate is converted once per handshake, as a leaf (no issuer chain)", async () => {
    const mx = await startFakeMx();
    const peer = vi.spyOn(tls.TLSSocket.prototype, 'getPeerCertificate');
    const r = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls() }));
    expect(r.failure).toBeNull();
    expect(r.tls).toMatchObject({ verified: true, subject: TEST_SERVER_NAME, issuer: 'smtp-probe test CA' });
    expect(r.tls?.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(peer.mock.calls.map((c) => c[0] === true)).toEqual([false]);
  });
});
