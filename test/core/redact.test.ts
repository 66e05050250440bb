import { describe, expect, it } from 'vitest';
import { quoteBytes } from '../../src/core/bytes.js';
import { Redactor, credentialSecrets } from '../../src/core/redact.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const USER = 'probe@example.test';
const PASS = 'correct horse battery';

function redactor(user = USER, pass = PASS): Redactor {
  const r = new Redactor();
  r.add(credentialSecrets(user, pass));
  return r;
}

describe('Redactor', () => {
  it('masks the password and every base64 form, whole', () => {
    const r = redactor();
    for (const secret of [PASS, b64(PASS), b64(`\0${USER}\0${PASS}`), b64(`${USER}\0${USER}\0${PASS}`), b64(`user=${USER}\x01auth=Bearer ${PASS}\x01\x01`)]) {
      expect(r.mask(`535 you said ${secret} (no)`)).toBe('535 you said *** (no)');
    }
  });

  it('masks what is left of a secret cut or broken: runs of 8 characters, and its edges at line ends', () => {
    const r = redactor();
    const blob = b64(`\0${USER}\0${PASS}`);
    expect(r.mask(`x ${blob.slice(0, -10)}\x1b${blob.slice(-10)} y`)).not.toMatch(/[A-Za-z0-9+/]{8}\x1b|\x1b[A-Za-z0-9+/]{8}/);
    const login = b64(PASS);
    expect(r.mask(`tail ${login.slice(0, 5)}`)).toBe('tail ***');
    expect(r.mask(`${login.slice(-5)} head`)).toBe('*** head');
    expect(r.mask(`tail ${login.slice(0, 3)}`)).toBe(`tail ${login.slice(0, 3)}`); // under SECRET_EDGE
    // A plain password has no edges: its first letters may well end a banner line.
    expect(r.mask(`220 mail.${PASS.slice(0, 7)}`)).toBe(`220 mail.${PASS.slice(0, 7)}`);
  });

  it('masks a secret split across the lines of one reply in each line', () => {
    const r = redactor();
    const blob = b64(`\0${USER}\0${PASS}`);
    const lines = r.maskLines([`5.7.8 said ${blob.slice(0, 30)}`, `${blob.slice(30)} end`]);
    expect(lines.join('\n')).not.toContain(blob.slice(24, 30));
    expect(lines.join('\n')).not.toContain(blob.slice(30, 36));
    expect(lines[1]).toMatch(/^\*\*\* end$/);
  });

  it('masks before it quotes: a cut or an escape never leaves part of a secret', () => {
    const r = redactor();
    const line = Buffer.from(`${'.'.repeat(70)} ${b64(PASS)}`, 'latin1');
    expect(quoteBytes(line)).toContain(b64(PASS).slice(0, 8)); // what the quote alone would show
    expect(r.quote(line)).not.toContain(b64(PASS).slice(0, 4));
    expect(r.quote(Buffer.from(`\0${USER}\0${PASS}`, 'latin1'))).toBe(`\\x00${USER}\\x00***`);
  });

  it('a non-ASCII password is masked in raw bytes too (quoted as Latin-1)', () => {
    const r = redactor(USER, 'pässwörd-ünïcode');
    expect(r.quote(Buffer.from('-ERR pässwörd-ünïcode', 'utf8'))).toBe('-ERR ***');
    expect(r.mask('-ERR pässwörd-ünïcode')).toBe('-ERR ***');
  });

  it('the username part of a base64 blob is no secret: a CRAM-MD5 challenge naming the same domain is untouched', () => {
    const r = redactor();
    const challenge = b64('<1896.697170952@mail.example.test>');
    const pre = b64(`\0${USER}\0`).slice(0, 24);
    expect(r.mask(challenge)).toBe(challenge);
    expect(r.mask(`250 ${pre}`)).toBe(`250 ${pre}`);
    expect(r.mask('220 mail.example.test ESMTP probe@example.test')).toBe('220 mail.example.test ESMTP probe@example.test');
  });

  it('no secrets, no work; empty passwords are no secret', () => {
    expect(new Redactor().mask('anything')).toBe('anything');
    const r = new Redactor();
    r.add(credentialSecrets(USER, ''));
    r.add(['']);
    expect(r.empty).toBe(true);
  });
});

describe('Redactor with a short password', () => {
  it('masks the password and its base64 forms whole, but not the few base64 letters of a core alone', () => {
    const r = redactor(USER, 'pw');
    expect(r.mask(`x ${b64(`\0${USER}\0pw`)} y`)).toBe('x *** y');
    expect(r.mask(`x ${b64('pw')} y`)).toBe('x *** y');
    const challenge = b64('<1896.697170952@mail.example.test>');
    expect(r.mask(challenge)).toBe(challenge);
  });
});
