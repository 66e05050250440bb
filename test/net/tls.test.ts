import { describe, expect, it } from 'vitest';
import { describeVerifyError, parseAltNames, sniFor } from '../../src/net/tls.js';

describe('parseAltNames', () => {
  it.each<{ san: string | undefined; want: string[] }>([
    { san: undefined, want: [] },
    { san: '', want: [] },
    { san: 'DNS:mail.example.test', want: ['mail.example.test'] },
    {
      san: 'DNS:mail.example.test, DNS:*.example.test, DNS:example.test',
      want: ['mail.example.test', '*.example.test', 'example.test'],
    },
    {
      // Node's subjectaltname format: IPv6 in full form, upper-case hex.
      san: 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:1',
      want: ['localhost', '127.0.0.1', '0:0:0:0:0:0:0:1', '2001:DB8:0:0:0:0:0:1'],
    },
    {
      san: 'email:postmaster@example.test, URI:https://example.test/, DNS:mx.example.test',
      want: ['postmaster@example.test', 'https://example.test/', 'mx.example.test'],
    },
    { san: 'DNS:a.example.test,DNS:b.example.test', want: ['a.example.test', 'b.example.test'] },
  ])('$san → $want', ({ san, want }) => {
    expect(parseAltNames(san)).toEqual(want);
  });

  it('drops empty entries', () => {
    expect(parseAltNames('DNS:, DNS:a.example.test')).toEqual(['a.example.test']);
  });

  it('bounds the list for a certificate with thousands of names', () => {
    const san = Array.from({ length: 5000 }, (_, i) => `DNS:host${i}.example.test`).join(', ');
    const names = parseAltNames(san);
    expect(names.length).toBeGreaterThan(0);
    expect(names.length).toBeLessThan(5000);
    expect(names[0]).toBe('host0.example.test');
  });
});

describe('describeVerifyError', () => {
  it.each([
    { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', mentions: [/self[- ]signed/i] },
    { code: 'SELF_SIGNED_CERT_IN_CHAIN', mentions: [/self[- ]signed/i, /chain/i] },
    { code: 'CERT_HAS_EXPIRED', mentions: [/expired/i] },
    { code: 'CERT_NOT_YET_VALID', mentions: [/not yet valid/i] },
    { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', mentions: [/issuer|chain/i] },
    { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', mentions: [/issuer/i] },
  ])('$code is named and explained', ({ code, mentions }) => {
    const text = describeVerifyError(code, 'mail.example.test');
    expect(text.startsWith(code)).toBe(true);
    expect(text.length).toBeGreaterThan(code.length + 5);
    for (const m of mentions) expect(text).toMatch(m);
    expect(text).not.toContain('mail.example.test'); // only the name mismatch names the server
  });

  it('a name mismatch names the server name it was checked against', () => {
    const text = describeVerifyError('ERR_TLS_CERT_ALTNAME_INVALID', 'mail.example.test');
    expect(text.startsWith('ERR_TLS_CERT_ALTNAME_INVALID')).toBe(true);
    expect(text).toMatch(/match/i);
    expect(text).toContain('"mail.example.test"');
  });

  it('an unknown code is passed through as is', () => {
    expect(describeVerifyError('SOME_NEW_OPENSSL_CODE', 'mail.example.test')).toBe('SOME_NEW_OPENSSL_CODE');
  });
});

describe('sniFor (RFC 6066 3: no IP literals in SNI)', () => {
  it.each<[string, string | undefined]>([
    ['mail.example.test', 'mail.example.test'],
    ['localhost', 'localhost'],
    ['192.0.2.1', undefined],
    ['2001:db8::1', undefined],
    ['::1', undefined],
  ])('%s → %s', (name, want) => {
    expect(sniFor(name)).toBe(want);
  });
});
