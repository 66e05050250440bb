import { describe, expect, it } from 'vitest';
import { parseAuthenticationResults, selectMethod } from '../../src/headers/analyze.js';

describe('parseAuthenticationResults', () => {
  it('spf, dkim and dmarc with their properties', () => {
    const r = parseAuthenticationResults(
      'mx.example.net; spf=pass smtp.mailfrom=sender@example.org; dkim=pass header.d=example.org header.s=sel; dmarc=fail (p=reject dis=none) header.from=example.org',
    );
    expect(r).toEqual({
      authservId: 'mx.example.net',
      spf: 'pass',
      dkim: 'pass',
      dmarc: 'fail',
      other: {},
      methods: [
        { method: 'spf', result: 'pass', reason: null, props: { 'smtp.mailfrom': 'sender@example.org' } },
        { method: 'dkim', result: 'pass', reason: null, props: { 'header.d': 'example.org', 'header.s': 'sel' } },
        { method: 'dmarc', result: 'fail', reason: null, props: { 'header.from': 'example.org' } },
      ],
    });
  });

  it('"none", a version number and a quoted authserv-id', () => {
    expect(parseAuthenticationResults('mx.example.net 1; none')).toMatchObject({ authservId: 'mx.example.net', spf: null, methods: [] });
    expect(parseAuthenticationResults('"mx example"; spf=neutral').authservId).toBe('mx example');
  });

  it('several dkim results: the first pass, else the first', () => {
    const pass = parseAuthenticationResults('mx; dkim=fail header.d=a.example; dkim=pass header.d=b.example; dkim=pass header.d=c.example');
    expect(pass.dkim).toBe('pass');
    expect(selectMethod(pass.methods ?? [], 'dkim')?.props['header.d']).toBe('b.example');
    const none = parseAuthenticationResults('mx; dkim=temperror header.d=a.example; dkim=fail header.d=b.example');
    expect(none.dkim).toBe('temperror');
    expect(selectMethod(none.methods ?? [], 'dkim')?.props['header.d']).toBe('a.example');
  });

  it('others go to `other` (first of each), method versions dropped, results lower-cased', () => {
    const r = parseAuthenticationResults('mx; arc=none; iprev=PASS policy.iprev=192.0.2.1; auth/1=pass smtp.auth=probe; arc=fail; bimi=skipped');
    expect(r.other).toEqual({ arc: 'none', iprev: 'pass', auth: 'pass', bimi: 'skipped' });
  });

  it('comments (with ";" and "spf=pass" inside), CFWS around "=", quoted values, reason', () => {
    const r = parseAuthenticationResults(
      'mx (the; server); spf = fail (no; spf=pass here) smtp.mailfrom=a@example.org; dkim=fail reason="bad; sig" header.b="x=;y"; arc=pass (i=1 spf=pass dkim=pass dmarc=pass)',
    );
    expect(r).toMatchObject({ authservId: 'mx', spf: 'fail', dkim: 'fail', dmarc: null, other: { arc: 'pass' } });
    expect(r.methods?.[1]).toEqual({ method: 'dkim', result: 'fail', reason: 'bad; sig', props: { 'header.b': 'x=;y' } });
  });

  it('Microsoft 365: no authserv-id, "action=none", no space after ";"', () => {
    const r = parseAuthenticationResults(
      'spf=pass (sender IP is 192.0.2.10) smtp.mailfrom=example.org; dkim=pass (signature was verified) header.d=example.org;dmarc=pass action=none header.from=example.org;compauth=pass reason=100',
    );
    expect(r).toMatchObject({ authservId: null, spf: 'pass', dkim: 'pass', dmarc: 'pass', other: { compauth: 'pass' } });
  });

  it('garbage never throws, is bounded and pollutes nothing', () => {
    for (const v of ['', ';', '=', '==;==', '(', '"', 'mx; =pass', 'mx; dkim', 'mx; spf=', undefined, null]) {
      expect(() => parseAuthenticationResults(v as string)).not.toThrow();
    }
    const many = parseAuthenticationResults(`mx; ${Array.from({ length: 500 }, (_, i) => `m${i}=pass a.b${i}=c`).join('; ')}`);
    expect(many.methods).toHaveLength(32);
    const props = parseAuthenticationResults(`mx; spf=pass ${Array.from({ length: 100 }, (_, i) => `smtp.p${i}=v`).join(' ')}`);
    expect(Object.keys(props.methods?.[0]?.props ?? {})).toHaveLength(16);
    const proto = parseAuthenticationResults('mx; __proto__=pass; x=pass __proto__.y=1 header.__proto__=2');
    expect(proto.other).toEqual({ x: 'pass' });
    expect(Object.getPrototypeOf(proto.methods?.[0]?.props)).toBe(Object.prototype);
    expect(parseAuthenticationResults(`mx; spf=${'p'.repeat(10_000)}`).spf).toHaveLength(64);
  });
});
