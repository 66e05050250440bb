import { describe, expect, it } from 'vitest';
import {
  authMechanisms,
  checkRequirement,
  hasCapability,
  parseCapabilities,
  sizeLimit,
  type Capabilities,
} from '../../src/smtp/ehlo.js';
import type { SmtpReply } from '../../src/core/reply.js';
import { ReplyParser } from '../../src/smtp/reply.js';

/** Frame wire bytes with the real parser, so these tests see what a session would see. */
function reply(wire: string): SmtpReply {
  const replies = new ReplyParser().push(Buffer.from(wire, 'utf8'));
  expect(replies).toHaveLength(1);
  return replies[0]!;
}

function caps(wire: string): Capabilities {
  return parseCapabilities(reply(wire));
}

const sorted = (xs: string[]): string[] => [...xs].sort();

// Postfix 3.x, submission port, after STARTTLS (postconf: smtpd_sasl_auth_enable, broken_sasl_auth_clients=yes).
const POSTFIX = [
  '250-mail.example.test',
  '250-PIPELINING',
  '250-SIZE 10240000',
  '250-VRFY',
  '250-ETRN',
  '250-AUTH PLAIN LOGIN',
  '250-AUTH=PLAIN LOGIN',
  '250-ENHANCEDSTATUSCODES',
  '250-8BITMIME',
  '250-DSN',
  '250-SMTPUTF8',
  '250 CHUNKING',
]
  .map((l) => `${l}\r\n`)
  .join('');

// Exchange 2016/2019 frontend, port 587 before STARTTLS.
const EXCHANGE = [
  '250-EXCH01.contoso.test Hello [192.0.2.10]',
  '250-SIZE 37748736',
  '250-PIPELINING',
  '250-DSN',
  '250-ENHANCEDSTATUSCODES',
  '250-STARTTLS',
  '250-AUTH=LOGIN',
  '250-AUTH GSSAPI NTLM LOGIN',
  '250-X-EXPS GSSAPI NTLM',
  '250-8BITMIME',
  '250-BINARYMIME',
  '250 CHUNKING',
]
  .map((l) => `${l}\r\n`)
  .join('');

describe('parseCapabilities', () => {
  it('parses a Postfix EHLO reply', () => {
    const c = caps(POSTFIX);
    expect(sorted(Object.keys(c))).toEqual(
      sorted(['PIPELINING', 'SIZE', 'VRFY', 'ETRN', 'AUTH', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING']),
    );
    expect(c.SIZE).toBe('10240000');
    expect(c.PIPELINING).toBe('');
    expect(sorted(authMechanisms(c))).toEqual(['LOGIN', 'PLAIN']);
    expect(sizeLimit(c)).toBe(10_240_000);
    expect(hasCapability(c, 'STARTTLS')).toBe(false);
  });

  it('does not treat the greeting line as a capability', () => {
    const c = caps(POSTFIX);
    expect(Object.keys(c).some((k) => k.includes('EXAMPLE'))).toBe(false);
    const exch = caps(EXCHANGE);
    expect(Object.keys(exch).some((k) => k.includes('CONTOSO') || k.startsWith('EXCH01'))).toBe(false);
  });

  it.each([
    ['250-mx1 Hello client [192.0.2.1]\r\n250 DSN\r\n', 'MX1'],
    ['250-localhost\r\n250 DSN\r\n', 'LOCALHOST'],
    ['250-SIZE greets you\r\n250 DSN\r\n', 'SIZE'], // a host named like a keyword
  ])('does not treat a dotless greeting %j as a capability', (wire, name) => {
    const c = caps(wire);
    expect(hasCapability(c, name)).toBe(false);
    expect(Object.keys(c)).toEqual(['DSN']);
  });

  it('parses an Exchange EHLO reply and merges "AUTH=LOGIN" with "AUTH GSSAPI NTLM LOGIN"', () => {
    const c = caps(EXCHANGE);
    expect(hasCapability(c, 'STARTTLS')).toBe(true);
    expect(hasCapability(c, 'BINARYMIME')).toBe(true);
    expect(hasCapability(c, 'X-EXPS')).toBe(true);
    expect(c['X-EXPS']).toBe('GSSAPI NTLM');
    expect(sizeLimit(c)).toBe(37_748_736);
    expect(sorted(authMechanisms(c))).toEqual(['GSSAPI', 'LOGIN', 'NTLM']);
  });

  it.each([
    ['AUTH=LOGIN first', ['250-AUTH=LOGIN', '250 AUTH NTLM LOGIN'], ['LOGIN', 'NTLM']],
    ['AUTH first', ['250-AUTH NTLM LOGIN', '250 AUTH=LOGIN'], ['LOGIN', 'NTLM']],
    ['disjoint lists', ['250-AUTH=LOGIN', '250 AUTH PLAIN CRAM-MD5'], ['CRAM-MD5', 'LOGIN', 'PLAIN']],
  ])('merges the AUTH lists (%s) without duplicates', (_name, lines, want) => {
    const wire = ['250-mx.example.test', ...lines].map((l) => `${l}\r\n`).join('');
    const mechs = authMechanisms(caps(wire));
    expect(sorted(mechs)).toEqual(want);
    expect(new Set(mechs).size).toBe(mechs.length);
  });

  it('is case-insensitive in keywords and mechanisms', () => {
    const c = caps('250-mx.example.test\r\n250-starttls\r\n250-Size 5000\r\n250-auth plain Login\r\n250 pipelining\r\n');
    for (const name of ['STARTTLS', 'starttls', 'StartTls', 'SIZE', 'size', 'PIPELINING', 'Pipelining']) {
      expect(hasCapability(c, name), name).toBe(true);
    }
    expect(sorted(authMechanisms(c))).toEqual(['LOGIN', 'PLAIN']);
    expect(sizeLimit(c)).toBe(5000);
    expect(checkRequirement(c, 'auth=plain')).toBeNull();
    expect(checkRequirement(c, 'AUTH=LOGIN')).toBeNull();
    expect(checkRequirement(c, 'starttls')).toBeNull();
  });

  it('a single-line EHLO reply has no capabilities', () => {
    expect(caps('250 mx.example.test\r\n')).toEqual({});
  });

  it('ignores lines that are not keywords', () => {
    const c = caps('250-mx.example.test\r\n250-  \r\n250-!!!bogus\r\n250 DSN\r\n');
    expect(Object.keys(c)).toEqual(['DSN']);
  });

  it('does not let keywords collide with object prototype properties', () => {
    const c = caps('250-mx.example.test\r\n250 DSN\r\n');
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(hasCapability(c, name), name).toBe(false);
    }
  });

  it('keeps a bounded number of capabilities from a hostile 10,000-line reply', () => {
    const lines = ['mx.example.test', 'PIPELINING', 'STARTTLS', 'SIZE 1000'];
    for (let i = 0; i < 10_000; i++) lines.push(`X-HOSTILE-${i} ${'p'.repeat(2000)}`);
    const c = parseCapabilities({ code: 250, enhancedCode: null, lines });
    const n = Object.keys(c).length;
    expect(n).toBeGreaterThan(3);
    expect(n).toBeLessThanOrEqual(100);
    // The capabilities that came first are kept.
    expect(hasCapability(c, 'PIPELINING')).toBe(true);
    expect(hasCapability(c, 'STARTTLS')).toBe(true);
    expect(sizeLimit(c)).toBe(1000);
    // Parameters are bounded too: 10,000 × 2,000 bytes in, far less kept.
    expect(JSON.stringify(c).length).toBeLessThan(100 * 1024);
  });

  it('bounds a single huge parameter', () => {
    const c = parseCapabilities({ code: 250, enhancedCode: null, lines: ['mx', `AUTH ${'PLAIN '.repeat(100_000)}`] });
    expect(c.AUTH!.length).toBeLessThan(10_000);
  });
});

describe('hasCapability, authMechanisms, sizeLimit', () => {
  it('handle a null capability set (no EHLO, e.g. HELO fallback)', () => {
    expect(hasCapability(null, 'STARTTLS')).toBe(false);
    expect(authMechanisms(null)).toEqual([]);
    expect(sizeLimit(null)).toBeNull();
  });

  it.each([
    { params: '10240000', want: 10_240_000 },
    { params: '0', want: 0 },
    { params: '', want: 0 },
  ])('sizeLimit with SIZE "$params" → $want', ({ params, want }) => {
    expect(sizeLimit({ SIZE: params })).toBe(want);
  });

  it('sizeLimit without SIZE is null', () => {
    expect(sizeLimit({ PIPELINING: '' })).toBeNull();
  });

  it('authMechanisms with AUTH but no mechanisms is empty', () => {
    expect(authMechanisms({ AUTH: '' })).toEqual([]);
  });
});

describe('checkRequirement', () => {
  const c = caps(POSTFIX);
  const noNumber: Capabilities = { SIZE: '', PIPELINING: '' };
  const unlimited: Capabilities = { SIZE: '0' };

  it.each([
    { caps: c, req: 'PIPELINING', ok: true },
    { caps: c, req: 'pipelining', ok: true },
    { caps: c, req: ' 8BITMIME ', ok: true },
    { caps: c, req: 'STARTTLS', ok: false },
    { caps: c, req: 'SIZE', ok: true },
    { caps: c, req: 'SIZE>=10240000', ok: true }, // equal
    { caps: c, req: 'SIZE>=1000000', ok: true }, // server's is bigger
    { caps: c, req: 'SIZE>=20000000', ok: false }, // server's is smaller
    { caps: c, req: 'SIZE>=10240001', ok: false },
    { caps: noNumber, req: 'SIZE>=1000', ok: false }, // RFC 1870: no number conveys nothing
    { caps: { PIPELINING: '' }, req: 'SIZE>=1000', ok: false }, // SIZE missing
    { caps: c, req: 'AUTH=PLAIN', ok: true },
    { caps: c, req: 'AUTH=plain', ok: true },
    { caps: c, req: 'AUTH=LOGIN', ok: true },
    { caps: c, req: 'AUTH=CRAM-MD5', ok: false },
    { caps: c, req: 'AUTH=PLAI', ok: false }, // a whole word, not a prefix
    { caps: { AUTH: '' }, req: 'AUTH=PLAIN', ok: false },
    { caps: null, req: 'PIPELINING', ok: false },
    { caps: null, req: 'SIZE>=1', ok: false },
    { caps: c, req: '', ok: false },
    { caps: c, req: 'SIZE >= 1000', ok: false },
    { caps: c, req: 'SIZE>=', ok: false },
    { caps: c, req: 'SIZE>=lots', ok: false },
    { caps: c, req: 'AUTH=', ok: false },
  ])('$req on $caps → ok=$ok', ({ caps: have, req, ok }) => {
    const problem = checkRequirement(have, req);
    if (ok) expect(problem).toBeNull();
    else {
      expect(typeof problem).toBe('string');
      expect(problem!.length).toBeGreaterThan(0);
    }
  });

  it('SIZE 0 (RFC 1870: no fixed maximum) meets any SIZE>=N', () => {
    expect(checkRequirement(unlimited, 'SIZE>=10240000')).toBeNull();
  });

  it('names the capability in the problem', () => {
    expect(checkRequirement(c, 'STARTTLS')).toContain('STARTTLS');
    expect(checkRequirement(c, 'SIZE>=20000000')).toContain('10240000');
    expect(checkRequirement(c, 'AUTH=CRAM-MD5')).toContain('CRAM-MD5');
  });
});
