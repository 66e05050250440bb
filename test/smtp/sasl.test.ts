import { describe, expect, it } from 'vitest';
import { SASL_MECHANISMS, type SaslMechanism } from '../../src/core/sasl.js';
import { chooseMechanism, decodeChallenge, isMechanism, startSasl } from '../../src/smtp/sasl.js';

/** Base64 of raw bytes, built without the module under test. */
const b64bytes = (bytes: number[]): string => Buffer.from(bytes).toString('base64');
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const fromB64 = (s: string): Buffer => Buffer.from(s, 'base64');

describe('PLAIN (RFC 4616, RFC 4954)', () => {
  it('sends the RFC 4616 example as an initial response: empty authzid NUL authcid NUL passwd', () => {
    const x = startSasl('PLAIN', { username: 'tim', password: 'tanstaaftanstaaf' });
    // [authzid] UTF8NUL authcid UTF8NUL passwd, authzid empty
    const expected = b64bytes([0, ...ascii('tim'), 0, ...ascii('tanstaaftanstaaf')]);
    expect(expected).toBe('AHRpbQB0YW5zdGFhZnRhbnN0YWFm');
    expect(x.command).toBe(`AUTH PLAIN ${expected}`);
  });

  it('encodes non-ASCII credentials as UTF-8', () => {
    const x = startSasl('PLAIN', { username: 'jürgen', password: 'pässwörd' });
    const arg = x.command.split(' ')[2]!;
    expect([...fromB64(arg)]).toEqual([
      0,
      ...[0x6a, 0xc3, 0xbc, 0x72, 0x67, 0x65, 0x6e], // j ü(C3 BC) r g e n
      0,
      ...[0x70, 0xc3, 0xa4, 0x73, 0x73, 0x77, 0xc3, 0xb6, 0x72, 0x64], // p ä s s w ö r d
    ]);
  });

  it('has exactly three words and no line break in the command', () => {
    const x = startSasl('PLAIN', { username: 'u', password: 'p' });
    expect(x.command.split(' ')).toHaveLength(3);
    expect(x.command).not.toMatch(/[\r\n]/);
  });

  it('cancels ("*", RFC 4954 4) when the server sends a challenge after the initial response', () => {
    const x = startSasl('PLAIN', { username: 'u', password: 'p' });
    expect(x.respond('', 0)).toBe('*');
  });
});

describe('LOGIN', () => {
  const creds = { username: 'probe@example.test', password: 's3cret' };

  it('starts without an initial response', () => {
    expect(startSasl('LOGIN', creds).command).toBe('AUTH LOGIN');
  });

  it('answers the classic prompts VXNlcm5hbWU6 / UGFzc3dvcmQ6', () => {
    const x = startSasl('LOGIN', creds);
    expect(decodeChallenge('VXNlcm5hbWU6')).toBe('Username:');
    expect(decodeChallenge('UGFzc3dvcmQ6')).toBe('Password:');
    expect(fromB64(x.respond(decodeChallenge('VXNlcm5hbWU6'), 0)).toString('utf8')).toBe('probe@example.test');
    expect(fromB64(x.respond(decodeChallenge('UGFzc3dvcmQ6'), 1)).toString('utf8')).toBe('s3cret');
    expect(x.respond(decodeChallenge('VXNlcm5hbWU6'), 0)).toBe(Buffer.from('probe@example.test').toString('base64'));
  });

  it.each([
    { prompt: 'username:', step: 1, want: 'probe@example.test' },
    { prompt: 'USERNAME', step: 0, want: 'probe@example.test' },
    { prompt: 'Password:', step: 0, want: 's3cret' }, // answered by the prompt, not the order
    { prompt: 'Benutzername:', step: 0, want: 'probe@example.test' }, // odd wording: by order
    { prompt: 'Passwort:', step: 1, want: 's3cret' },
    { prompt: '', step: 0, want: 'probe@example.test' },
    { prompt: '', step: 1, want: 's3cret' },
  ])('prompt $prompt at step $step → $want', ({ prompt, step, want }) => {
    const x = startSasl('LOGIN', creds);
    expect(fromB64(x.respond(prompt, step)).toString('utf8')).toBe(want);
  });
});

describe('CRAM-MD5 (RFC 2195)', () => {
  it('answers the RFC 2195 example', () => {
    const x = startSasl('CRAM-MD5', { username: 'tim', password: 'tanstaaftanstaaf' });
    expect(x.command).toBe('AUTH CRAM-MD5');
    // S: + PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
    const challenge = decodeChallenge('PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+');
    expect(challenge).toBe('<1896.697170952@postoffice.reston.mci.net>');
    const answer = x.respond(challenge, 0);
    expect(fromB64(answer).toString('latin1')).toBe('tim b913a602c7eda7a495b4e6e7334d3890');
    // C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
    expect(answer).toBe('dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw');
  });

  it('the digest is 32 lowercase hex digits and depends on the challenge', () => {
    const x = startSasl('CRAM-MD5', { username: 'u', password: 'p' });
    const a = fromB64(x.respond('<1.1@example.test>', 0)).toString('latin1');
    const b = fromB64(x.respond('<1.2@example.test>', 0)).toString('latin1');
    expect(a).toMatch(/^u [0-9a-f]{32}$/);
    expect(b).toMatch(/^u [0-9a-f]{32}$/);
    expect(a).not.toBe(b);
  });
});

describe('XOAUTH2 (Google format)', () => {
  it('sends user=…^Aauth=Bearer …^A^A as the initial response (Google example)', () => {
    const token = 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg';
    const x = startSasl('XOAUTH2', { username: 'someuser@example.com', password: token });
    const expected = b64bytes([
      ...ascii('user=someuser@example.com'),
      1,
      ...ascii(`auth=Bearer ${token}`),
      1,
      1,
    ]);
    expect(expected).toBe(
      'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==',
    );
    expect(x.command).toBe(`AUTH XOAUTH2 ${expected}`);
  });

  it('answers the JSON error challenge with an empty response', () => {
    const x = startSasl('XOAUTH2', { username: 'u@example.test', password: 't' });
    const challenge = decodeChallenge(
      Buffer.from('{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}').toString('base64'),
    );
    expect(challenge).toContain('"status":"401"');
    expect(x.respond(challenge, 0)).toBe('');
  });
});

describe('decodeChallenge', () => {
  it.each([
    { text: 'VXNlcm5hbWU6', want: 'Username:' },
    { text: '  VXNlcm5hbWU6  ', want: 'Username:' },
    { text: '', want: '' },
    { text: Buffer.from('a').toString('base64'), want: 'a' }, // "YQ==": padding
    { text: Buffer.from('ab').toString('base64'), want: 'ab' }, // "YWI=": padding
  ])('$text → $want', ({ text, want }) => {
    expect(decodeChallenge(text)).toBe(want);
  });

  it.each(['not base64!', 'VXNl cm5h', '****', 'VXNlcm5hbWU6===', '=VXNl', 'VXN\x00lcm5h', '5.7.0 Error'])(
    'invalid base64 %j decodes to the empty string, never throws',
    (text) => {
      expect(() => decodeChallenge(text)).not.toThrow();
      expect(decodeChallenge(text)).toBe('');
    },
  );
});

describe('chooseMechanism', () => {
  it.each<{ offered: string[]; wanted: SaslMechanism | null; want: SaslMechanism }>([
    { offered: ['PLAIN', 'LOGIN'], wanted: null, want: 'PLAIN' },
    { offered: ['LOGIN', 'PLAIN'], wanted: null, want: 'PLAIN' }, // our order, not the server's
    { offered: ['CRAM-MD5', 'LOGIN'], wanted: null, want: 'LOGIN' },
    { offered: ['GSSAPI', 'NTLM', 'LOGIN'], wanted: null, want: 'LOGIN' },
    { offered: ['PLAIN', 'LOGIN', 'CRAM-MD5'], wanted: 'CRAM-MD5', want: 'CRAM-MD5' },
    { offered: ['PLAIN', 'LOGIN'], wanted: 'LOGIN', want: 'LOGIN' },
    { offered: ['XOAUTH2', 'OAUTHBEARER'], wanted: 'XOAUTH2', want: 'XOAUTH2' },
  ])('$offered, wanted $wanted → $want', ({ offered, wanted, want }) => {
    expect(chooseMechanism(offered, wanted)).toEqual({ mechanism: want });
  });

  it.each<{ offered: string[]; wanted: SaslMechanism | null; mentions: string[] }>([
    { offered: [], wanted: null, mentions: ['none'] },
    { offered: ['CRAM-MD5'], wanted: null, mentions: ['CRAM-MD5'] }, // CRAM-MD5 only when asked for
    { offered: ['XOAUTH2'], wanted: null, mentions: ['XOAUTH2'] },
    { offered: ['GSSAPI', 'NTLM'], wanted: null, mentions: ['GSSAPI', 'NTLM'] },
    { offered: ['PLAIN', 'LOGIN'], wanted: 'CRAM-MD5', mentions: ['CRAM-MD5', 'PLAIN LOGIN'] },
    { offered: [], wanted: 'PLAIN', mentions: ['PLAIN', 'none'] },
  ])('$offered, wanted $wanted → error', ({ offered, wanted, mentions }) => {
    const r = chooseMechanism(offered, wanted);
    expect('error' in r).toBe(true);
    const { error } = r as { error: string };
    for (const m of mentions) expect(error).toContain(m);
  });
});

describe('SASL_MECHANISMS and isMechanism', () => {
  it('lists the four mechanisms', () => {
    expect([...SASL_MECHANISMS].sort()).toEqual(['CRAM-MD5', 'LOGIN', 'PLAIN', 'XOAUTH2']);
  });

  it.each([
    ['PLAIN', true],
    ['LOGIN', true],
    ['CRAM-MD5', true],
    ['XOAUTH2', true],
    ['plain', false],
    ['GSSAPI', false],
    ['', false],
  ])('isMechanism(%j) → %s', (s, want) => {
    expect(isMechanism(s)).toBe(want);
  });

  it.each(SASL_MECHANISMS)('%s: the command never contains CR or LF', (m) => {
    expect(startSasl(m, { username: 'a\r\nQUIT', password: 'b\r\nRSET' }).command).not.toMatch(/[\r\n]/);
  });
});
