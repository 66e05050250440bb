/**
 * TLSA records against a certificate chain (checks/posture/tlsa.ts): which records SMTP may use, the association
 * data of each selector and matching type (against openssl's own computation), and which certificate matches.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { associationData, isUsableTlsa, matchTlsa, tlsaText, type TlsaData } from '../../checks/posture/tlsa.js';
import { selfSignedCert, serverCert, testCa } from '../helpers/certs.js';

const der = (pem: string): Buffer => new X509Certificate(pem).raw;
const leaf = der(serverCert().cert);
const ca = der(testCa().cert);
const other = der(selfSignedCert('other.example.test').cert);
const chain = [leaf, ca];
const rec = (usage: number, selector: number, matchingType: number, data: Buffer): TlsaData => ({ usage, selector, matchingType, data });
const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();
/** openssl's SPKI hash of a PEM certificate: what `3 1 1` records are made from (RFC 7671 appendix). */
const opensslSpkiSha256 = (pem: string): Buffer => {
  const spki = execFileSync('openssl', ['x509', '-noout', '-pubkey'], { input: pem });
  const derKey = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: spki });
  return sha256(derKey);
};

describe('usable for SMTP (RFC 7672 3.1.3)', () => {
  test.each([
    [3, 1, 1, true], [3, 0, 1, true], [3, 1, 2, true], [3, 1, 0, true], [2, 0, 1, true], [2, 1, 2, true],
    [0, 0, 1, false], [1, 1, 1, false], [4, 1, 1, false], [3, 2, 1, false], [3, 1, 3, false], [2, 1, 255, false],
  ])('%i %i %i: %s', (usage, selector, matchingType, usable) => {
    expect(isUsableTlsa({ usage, selector, matchingType })).toBe(usable);
  });
});

describe('association data', () => {
  test('selector 1 matching 1 is the SHA-256 of the SubjectPublicKeyInfo, as openssl computes it', () => {
    expect(associationData(leaf, 1, 1)).toEqual(opensslSpkiSha256(serverCert().cert));
  });

  test('selector 0 is the whole certificate; matching 0 exact, 1 SHA-256, 2 SHA-512', () => {
    expect(associationData(ca, 0, 0)).toEqual(ca);
    expect(associationData(ca, 0, 1)).toEqual(sha256(ca));
    expect(associationData(ca, 0, 2)).toEqual(createHash('sha512').update(ca).digest());
    expect(associationData(ca, 1, 0)).toEqual(new X509Certificate(ca).publicKey.export({ type: 'spki', format: 'der' }));
  });

  test('garbage instead of a certificate, or an unknown selector or matching type: null', () => {
    expect(associationData(Buffer.from('not a certificate'), 1, 1)).toBeNull();
    expect(associationData(leaf, 2, 1)).toBeNull();
    expect(associationData(leaf, 1, 3)).toBeNull();
  });
});

describe('matching a chain (leaf first)', () => {
  const good = associationData(leaf, 1, 1)!;
  const stale = associationData(other, 1, 1)!;
  const caHash = associationData(ca, 0, 1)!;

  test.each([
    ['3 1 1 of the leaf', [rec(3, 1, 1, good)], 0],
    ['3 0 2 of the leaf', [rec(3, 0, 2, associationData(leaf, 0, 2)!)], 0],
    ['a stale 3 1 1 beside the right one', [rec(3, 1, 1, stale), rec(3, 1, 1, good)], 0],
    ['2 0 1 of the CA the server sent', [rec(2, 0, 1, caHash)], 1],
    ['2 1 1 of the CA key', [rec(2, 1, 1, associationData(ca, 1, 1)!)], 1],
  ] as const)('%s: matches certificate %i', (_what, records, certIndex) => {
    expect(matchTlsa(records, chain)?.certIndex).toBe(certIndex);
  });

  test.each([
    ['only a stale 3 1 1', [rec(3, 1, 1, stale)], chain],
    ['3 1 1 of the CA: DANE-EE names the leaf only', [rec(3, 1, 1, associationData(ca, 1, 1)!)], chain],
    ['2 1 1 of the leaf: DANE-TA names a certificate above it', [rec(2, 1, 1, good)], chain],
    ['2 0 1 of a CA the server did not send', [rec(2, 0, 1, caHash)], [leaf]],
    ['PKIX-EE 1 1 1 of the leaf: unusable for SMTP', [rec(1, 1, 1, good)], chain],
    ['a right hash under matching type 3: unusable', [rec(3, 1, 3, good)], chain],
    ['no records', [], chain],
    ['an empty chain', [rec(3, 1, 1, good)], []],
  ] as const)('%s: no match', (_what, records, served) => {
    expect(matchTlsa(records, served)).toBeNull();
  });

  test('DANE-EE is tried before DANE-TA; the match names its record', () => {
    const m = matchTlsa([rec(2, 0, 1, caHash), rec(3, 1, 1, good)], chain);
    expect(m).toEqual({ record: rec(3, 1, 1, good), certIndex: 0 });
  });

  test('a record as text for details', () => {
    expect(tlsaText(rec(3, 1, 1, Buffer.from('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'hex')))).toBe('3 1 1 9f86d081884c7d65...');
    expect(tlsaText(rec(2, 0, 0, Buffer.from('abcd', 'hex')))).toBe('2 0 0 abcd');
  });
});
