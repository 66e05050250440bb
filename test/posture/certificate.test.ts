import { afterEach, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { judgeCertificate, runCertificate, signatureAlgorithm, type CertFacts, type CertificateSeen } from '../../checks/posture/certificate.js';
import { closeAll } from '../helpers/cleanup.js';
import { certValidFor, expiredCert, serverCert, testCa, wrongNameCert } from '../helpers/certs.js';
import { rsaCert } from './helpers/certs.js';
import { startPostureServer, target, testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const AT = Date.parse('2026-12-05T00:00:00Z');
const DAY = 86_400_000;
const good: CertFacts = {
  keyType: 'RSA', bits: 2048, signature: 'sha256WithRSAEncryption', trusted: true, verifyError: null, nameError: null,
  servername: 'mx.example.test', validFrom: '2026-01-01T00:00:00.000Z', validTo: new Date(AT + 60 * DAY).toISOString(),
};
const cert = (over: Partial<CertFacts>): CertificateSeen => ({ kind: 'cert', facts: { ...good, ...over } });
const on = (port: number) => ({ mxHost: 'mx.example.test', address: '192.0.2.1', port });
const levels = { warnDays: 14, failDays: 7, at: AT };
const untrusted = { trusted: false, verifyError: 'DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate' };
const mismatch = { nameError: 'does not match mx.example.test: Hostname/IP does not match' };

describe('judgeCertificate', () => {
  const rows: [string, number, CertificateSeen, string, string | null][] = [
    ['good, 60 days left', 25, cert({}), 'pass', null],
    ['RSA 1024', 25, cert({ bits: 1024 }), 'fail', 'weak-key'],
    ['EC 256 is not a weak key', 25, cert({ keyType: 'EC', bits: 256, signature: 'ecdsa-with-SHA256' }), 'pass', null],
    ['SHA-1 signature', 25, cert({ signature: 'sha1WithRSAEncryption' }), 'fail', 'weak-signature'],
    ['ecdsa-with-SHA1', 25, cert({ signature: 'ecdsa-with-SHA1' }), 'fail', 'weak-signature'],
    ['untrusted on 25', 25, cert(untrusted), 'warn', 'certificate-not-trusted'],
    ['untrusted on 465', 465, cert(untrusted), 'fail', 'certificate-not-trusted'],
    ['untrusted on 587', 587, cert(untrusted), 'fail', 'certificate-not-trusted'],
    ['name mismatch on 25', 25, cert(mismatch), 'warn', 'certificate-host-mismatch'],
    ['name mismatch on 587', 587, cert(mismatch), 'fail', 'certificate-host-mismatch'],
    ['13 days left', 25, cert({ validTo: new Date(AT + 13.5 * DAY).toISOString() }), 'warn', 'certificate-expired'],
    ['14 days left', 25, cert({ validTo: new Date(AT + 14.5 * DAY).toISOString() }), 'pass', null],
    ['6 days left', 25, cert({ validTo: new Date(AT + 6.5 * DAY).toISOString() }), 'fail', 'certificate-expired'],
    ['7 days left', 25, cert({ validTo: new Date(AT + 7.5 * DAY).toISOString() }), 'warn', 'certificate-expired'],
    ['expired', 25, cert({ validTo: new Date(AT - DAY).toISOString() }), 'fail', 'certificate-expired'],
    ['not yet valid', 25, cert({ validFrom: new Date(AT + DAY).toISOString() }), 'fail', 'validation-failure'],
    ['mismatch and 10 days: warn, both named', 25, cert({ ...mismatch, validTo: new Date(AT + 10.5 * DAY).toISOString() }), 'warn', 'certificate-expired'],
    ['no STARTTLS', 25, { kind: 'no-tls', detail: 'STARTTLS not advertised in EHLO', reason: 'starttls-not-supported' }, 'n/a', 'starttls-not-supported'],
    ['unreachable', 25, { kind: 'unreachable', detail: 'connect: refused' }, 'n/a', 'unreachable'],
  ];
  it.each(rows.map(([n, port, seen, result, reason]) => [n, port, result, reason, seen] as const))('%s (port %i) → %s %s', (_, port, result, reason, seen) => {
    expect(judgeCertificate(on(port), seen, levels)).toEqual([expect.objectContaining({ check: 'certificate', result, reason })]);
  });

  it('names every problem in the detail', () => {
    const [f] = judgeCertificate(on(587), cert({ bits: 1024, ...untrusted, ...mismatch }), levels);
    expect(f).toMatchObject({ result: 'fail', reason: 'weak-key' });
    expect(f!.detail).toContain('RSA key of 1024 bits');
    expect(f!.detail).toContain('not trusted: DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(f!.detail).toContain('does not match mx.example.test');
  });
});

describe('signatureAlgorithm', () => {
  it('reads the outer signatureAlgorithm of real certificates', () => {
    const der = (pem: string): Buffer => new X509Certificate(pem).raw;
    expect(signatureAlgorithm(der(rsaCert(2048).cert))).toBe('sha256WithRSAEncryption');
    expect(signatureAlgorithm(der(rsaCert(2048, 'sha1').cert))).toBe('sha1WithRSAEncryption');
    expect(signatureAlgorithm(der(serverCert().cert))).toBe('ecdsa-with-SHA256');
    expect(signatureAlgorithm(Buffer.from([0x30, 0x05, 0x01]))).toBeNull();
  });
});

describe('runCertificate over real sockets', () => {
  const weakOk = { ciphers: 'DEFAULT:@SECLEVEL=0' };
  const mx = { mxHost: 'mail.example.test' };

  it('passes for a certificate of the test CA (given as --ca) matching the MX name', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert() } });
    const [f] = await runCertificate(target(s, { ...mx, ca: testCa().cert }), testDeps);
    expect(f).toMatchObject({ result: 'pass', reason: null });
    expect(f!.detail).toMatch(/^EC 256 bits, ecdsa-with-SHA256, until .*; trusted; matches mail\.example\.test$/);
  });

  it('warns certificate-not-trusted on an MX port without the test CA', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert() } });
    const [f] = await runCertificate(target(s, mx), testDeps);
    expect(f).toMatchObject({ result: 'warn', reason: 'certificate-not-trusted' });
  });

  it('warns certificate-host-mismatch for a certificate of another name', async () => {
    const s = await startPostureServer({ tls: { pair: wrongNameCert() } });
    const [f] = await runCertificate(target(s, { ...mx, ca: testCa().cert }), testDeps);
    expect(f).toMatchObject({ result: 'warn', reason: 'certificate-host-mismatch' });
    expect(f!.detail).toContain('does not match mail.example.test');
  });

  it('fails weak-key for an RSA 1024 certificate', async () => {
    const s = await startPostureServer({ tls: { pair: rsaCert(1024, 'sha256', 'mail.example.test'), options: weakOk } });
    const [f] = await runCertificate(target(s, mx), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'weak-key' });
    expect(f!.detail).toContain('RSA key of 1024 bits');
  });

  it('fails weak-signature for a SHA-1 signed certificate', async () => {
    const s = await startPostureServer({ tls: { pair: rsaCert(2048, 'sha1', 'mail.example.test'), options: weakOk } });
    const [f] = await runCertificate(target(s, mx), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'weak-signature' });
    expect(f!.detail).toContain('sha1WithRSAEncryption');
  });

  it('fails certificate-expired for an expired certificate', async () => {
    const s = await startPostureServer({ tls: { pair: expiredCert() } });
    const [f] = await runCertificate(target(s, { ...mx, ca: testCa().cert }), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'certificate-expired' });
    expect(f!.detail).toContain('expired 2020-02-01');
  });

  it('judges days left as of --at: 10 days left warns today, fails 5 days later', async () => {
    const s = await startPostureServer({ tls: { pair: certValidFor(10) } });
    const t = target(s, { ...mx, ca: testCa().cert });
    const [now] = await runCertificate(t, testDeps);
    expect(now).toMatchObject({ result: 'warn', reason: 'certificate-expired' });
    const [later] = await runCertificate(t, testDeps, { warnDays: 14, failDays: 7, at: Date.now() + 5 * DAY });
    expect(later).toMatchObject({ result: 'fail', reason: 'certificate-expired' });
  });
});

describe('runCertificate over implicit TLS', () => {
  it('reads the certificate without STARTTLS when the target is implicit TLS', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert() }, implicit: true });
    const [f] = await runCertificate(target(s, { mxHost: 'mail.example.test', ca: testCa().cert, implicitTls: true }), testDeps);
    expect(f).toMatchObject({ result: 'pass', reason: null });
    expect(s.commands()).toEqual(['QUIT']);
    expect(s.conn.lines[0]!.tls).toBe(true);
  });
});
