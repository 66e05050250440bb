import { afterEach, describe, expect, it } from 'vitest';
import { CIPHER_GROUPS, judgeTlsCiphers, runTlsCiphers, type TlsCiphersSeen } from '../../checks/posture/tls-ciphers.js';
import { cannotOffer, type HelloOutcome } from '../../checks/posture/smtp.js';
import { closeAll } from '../helpers/cleanup.js';
import { serverCert } from '../helpers/certs.js';
import { rsaCert } from './helpers/certs.js';
import { STRONG, startPostureServer, target, testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const where = { mxHost: 'mx.example.test', address: '192.0.2.1' };
const acc = (cipher: string): HelloOutcome => ({ kind: 'accepted', version: 'TLSv1.2', cipher });
const ref: HelloOutcome = { kind: 'refused', detail: 'handshake failure' };
const una: HelloOutcome = { kind: 'unavailable', detail: 'no cipher match' };
/** Outcomes in CIPHER_GROUPS order: RSA, 3DES, RC4, export, NULL, CBC-SHA1. */
const seen = (...o: HelloOutcome[]): TlsCiphersSeen => o.map((outcome, i) => ({ group: CIPHER_GROUPS[i]!, outcome }));

describe('judgeTlsCiphers', () => {
  const rows: [string, TlsCiphersSeen, string, string | null][] = [
    ['all refused (RC4, export, 3DES not offerable)', seen(ref, una, una, una, ref, ref), 'pass', null],
    ['RSA key exchange accepted', seen(acc('AES256-GCM-SHA384'), una, una, una, ref, ref), 'fail', 'weak-cipher'],
    ['3DES accepted', seen(ref, acc('DES-CBC3-SHA'), una, una, ref, ref), 'fail', 'weak-cipher'],
    ['RC4 accepted', seen(ref, una, acc('RC4-SHA'), una, ref, ref), 'fail', 'weak-cipher'],
    ['export accepted', seen(ref, una, una, acc('EXP-RC4-MD5'), ref, ref), 'fail', 'weak-cipher'],
    ['NULL accepted', seen(ref, una, una, una, acc('NULL-SHA256'), ref), 'fail', 'weak-cipher'],
    ['CBC-SHA1 only', seen(ref, una, una, una, ref, acc('ECDHE-RSA-AES128-SHA')), 'warn', 'cbc-sha1'],
    ['RSA and CBC-SHA1: the fail wins', seen(acc('AES128-SHA'), una, una, una, ref, acc('ECDHE-RSA-AES128-SHA')), 'fail', 'weak-cipher'],
    ['no weak group offerable', seen(una, una, una, una, una, ref), 'n/a', 'cannot-offer'],
    ['no STARTTLS', [{ group: CIPHER_GROUPS[0]!, outcome: { kind: 'no-starttls', detail: 'STARTTLS not advertised in EHLO' } }], 'n/a', 'starttls-not-supported'],
    ['unreachable', [{ group: CIPHER_GROUPS[0]!, outcome: { kind: 'unreachable', detail: 'connect: refused' } }], 'n/a', 'unreachable'],
  ];
  it.each(rows)('%s → %s %s', (_, s, result, reason) => {
    expect(judgeTlsCiphers(where, s)).toEqual([expect.objectContaining({ check: 'tls_ciphers', result, reason })]);
  });

  it('names the untested groups on a pass', () => {
    expect(judgeTlsCiphers(where, seen(ref, una, una, una, ref, ref))[0]!.detail)
      .toBe('refused RSA key exchange, NULL, CBC-SHA1; not offerable by this OpenSSL: 3DES, RC4, export');
  });
});

describe('runTlsCiphers over real sockets', () => {
  it('fails against a server accepting RSA key exchange, naming the suite', async () => {
    const s = await startPostureServer({ tls: { pair: rsaCert(2048), options: { ciphers: 'AES128-GCM-SHA256:@SECLEVEL=0', maxVersion: 'TLSv1.2' } } });
    const [f] = await runTlsCiphers(target(s), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'weak-cipher' });
    expect(f!.detail).toContain('RSA key exchange (TLS_RSA_WITH_AES_128_GCM_SHA256)');
  });

  it('fails against a server accepting NULL encryption', async () => {
    const s = await startPostureServer({ tls: { pair: rsaCert(2048), options: { ciphers: 'ECDHE-RSA-NULL-SHA:@SECLEVEL=0', maxVersion: 'TLSv1.2' } } });
    const [f] = await runTlsCiphers(target(s), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'weak-cipher' });
    expect(f!.detail).toContain('NULL (TLS_ECDHE_RSA_WITH_NULL_SHA)');
  });

  it('warns against a server whose only old suite is ECDHE with CBC and SHA-1', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert(), options: { ciphers: 'ECDHE+AESGCM:ECDHE-ECDSA-AES128-SHA' } } });
    const [f] = await runTlsCiphers(target(s), testDeps);
    expect(f).toMatchObject({ result: 'warn', reason: 'cbc-sha1' });
    expect(f!.detail).toContain('CBC-SHA1 (TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA)');
  });

  it('passes against a server with only ECDHE AEAD suites, one connection per group it could offer', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert(), options: STRONG } });
    const [f] = await runTlsCiphers(target(s), testDeps);
    expect(f).toMatchObject({ result: 'pass', reason: null });
    const offerable = CIPHER_GROUPS.filter((g) => cannotOffer({ ciphers: g.ciphers }) === null);
    expect(s.connections).toHaveLength(offerable.length);
  });
});
