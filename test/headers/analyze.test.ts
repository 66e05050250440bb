import { describe, expect, it } from 'vitest';
import { analyzeHeaders } from '../../src/headers/analyze.js';
import { readFixture, withoutRaw } from './fixture.js';

const T = (hhmmss: string): string => `2026-11-26T${hhmmss}.000Z`;

describe('analyzeHeaders: the fixture corpus', () => {
  it('Postfix → Dovecot LMTP (our own stack): two hops, topmost Authentication-Results, body ignored', () => {
    const r = analyzeHeaders(readFixture('postfix-dovecot'));
    expect(withoutRaw(r.hops)).toEqual([
      { index: 1, from: 'mail.probe.test', by: 'mail.probe.test', with: 'ESMTPS', id: '4Xyz', for: 'probe@probe.test', date: T('03:30:00'), delayMs: 1000 },
      { index: 2, from: 'mail.probe.test', by: 'mail.probe.test', with: 'LMTP', id: 'kLBgHxh5RWc2BQAAYBR5ng', for: 'probe@probe.test', date: T('03:30:01'), delayMs: 1000 },
    ]);
    expect(r.hops[0]?.raw).toBe(
      'from mail.probe.test (localhost [127.0.0.1])\tby mail.probe.test (Postfix) with ESMTPS id 4Xyz\tfor <probe@probe.test>; Thu, 26 Nov 2026 03:30:00 +0000 (UTC)'.replace(/\t/g, ' '),
    );
    expect(r.transitMs).toBe(2000);
    expect(r.omittedHops).toBe(0);
    expect(r.authResults).toMatchObject({ authservId: 'mail.probe.test', spf: 'pass', dkim: 'pass', dmarc: 'fail', other: {} });
    expect(r.authResults?.methods?.map((m) => [m.method, m.result, m.props])).toEqual([
      ['spf', 'pass', { 'smtp.mailfrom': 'probe-sender@probe.test' }],
      ['dkim', 'pass', { 'header.d': 'relay.probe.test', 'header.i': '@relay.probe.test', 'header.a': 'rsa-sha256', 'header.s': 'probe2026', 'header.b': 'Ab3dEf9h' }],
      ['dmarc', 'fail', { 'header.from': 'probe.test' }],
    ]);
  });

  it('Exim: local → esmtpsa → esmtps, a Date with a -0500 zone, iprev and arc kept as other', () => {
    const r = analyzeHeaders(readFixture('exim'));
    expect(withoutRaw(r.hops)).toEqual([
      { index: 1, from: 'alerts', by: 'app.example.org', with: 'local', id: '1t5ZkM-000XyY-0P', for: 'probe@example.net', date: T('03:30:00'), delayMs: 1000 },
      { index: 2, from: '[192.0.2.44]', by: 'relay.example.org', with: 'esmtpsa', id: '1t5ZkN-000XyZ-0Q', for: null, date: T('03:30:01'), delayMs: 1000 },
      { index: 3, from: 'relay.example.org', by: 'mail.example.net', with: 'esmtps', id: '1t5ZkQ-00AbCd-2x', for: 'probe@example.net', date: T('03:30:04'), delayMs: 3000 },
    ]);
    expect(r.transitMs).toBe(5000);
    expect(r.authResults).toMatchObject({
      authservId: 'mail.example.net',
      spf: 'pass',
      dkim: 'pass',
      dmarc: 'pass',
      other: { iprev: 'pass', arc: 'none' },
    });
  });

  it('Sendmail: a local submission with no from clause, PST and GMT zone names', () => {
    const r = analyzeHeaders(readFixture('sendmail'));
    expect(withoutRaw(r.hops)).toEqual([
      { index: 1, from: null, by: 'workstation.example.com', with: null, id: '5AQ3TwQa001122', for: null, date: T('03:29:59'), delayMs: 1000 },
      { index: 2, from: 'workstation.example.com', by: 'relay.example.com', with: 'ESMTP', id: '5AQ3TxS9004321', for: 'probe@example.edu', date: T('03:30:00'), delayMs: 1000 },
      { index: 3, from: 'relay.example.com', by: 'mx.example.edu', with: 'ESMTPS', id: '5AQ3U2xK012345', for: 'probe@example.edu', date: T('03:30:02'), delayMs: 2000 },
    ]);
    expect(r.transitMs).toBe(4000);
    expect(r.authResults).toBeNull();
  });

  it('Exchange / Microsoft 365 (CRLF): four internal hops, clock skew kept as a negative delay', () => {
    const r = analyzeHeaders(readFixture('exchange-o365'));
    const ms = 'Microsoft SMTP Server';
    expect(withoutRaw(r.hops)).toEqual([
      { index: 1, from: 'mail.example.org', by: 'BN1PEPF00004680.mail.protection.outlook.com', with: ms, id: '15.20.7633.15', for: null, date: T('03:30:01'), delayMs: 1000 },
      { index: 2, from: 'BN1PEPF00004680.namprd03.prod.outlook.com', by: 'BN9PR03CA0123.outlook.office365.com', with: ms, id: '15.20.7633.20', for: null, date: T('03:30:00'), delayMs: -1000 },
      { index: 3, from: 'BN9PR03CA0123.namprd03.prod.outlook.com', by: 'SN6PR11MB5678.namprd11.prod.outlook.com', with: ms, id: '15.20.7633.18', for: null, date: T('03:30:02'), delayMs: 2000 },
      { index: 4, from: 'SN6PR11MB5678.namprd11.prod.outlook.com', by: 'DM6PR11MB1234.namprd11.prod.outlook.com', with: 'HTTPS', id: null, for: null, date: T('03:30:03'), delayMs: 1000 },
    ]);
    expect(r.transitMs).toBe(3000);
    // No authserv-id, "action=none", "reason=100"; Authentication-Results-Original is another header.
    expect(r.authResults).toMatchObject({ authservId: null, spf: 'pass', dkim: 'pass', dmarc: 'pass', other: { compauth: 'pass' } });
    expect(r.authResults?.methods?.[2]).toEqual({ method: 'dmarc', result: 'pass', reason: null, props: { action: 'none', 'header.from': 'example.org' } });
    expect(r.authResults?.methods?.[3]).toEqual({ method: 'compauth', result: 'pass', reason: '100', props: {} });
  });

  it('Gmail: "by 2002:a05:..." with SMTP id, X-Received and ARC-Authentication-Results not counted, dkim: first pass', () => {
    const r = analyzeHeaders(readFixture('gmail'));
    expect(withoutRaw(r.hops)).toEqual([
      { index: 1, from: 'app.example.org', by: 'mail.example.org', with: 'ESMTPSA', id: '4Xk9Lm2Qrsz1xyz', for: 'probe@example.com', date: T('03:30:00'), delayMs: 1000 },
      { index: 2, from: 'mail.example.org', by: 'mx.google.com', with: 'ESMTPS', id: 'a640c23a62f3a-a9e5b1c2d3ebd-12.2026.11.25.19.30.01', for: 'probe@example.com', date: T('03:30:01'), delayMs: 1000 },
      { index: 3, from: null, by: '2002:a05:7300:5c8d:b0:1a2:3b4c:5d6e', with: 'SMTP', id: 'ab12cd34ef56gh78', for: null, date: T('03:30:02'), delayMs: 1000 },
    ]);
    expect(r.transitMs).toBe(3000);
    expect(r.authResults).toMatchObject({ authservId: 'mx.google.com', spf: 'pass', dkim: 'pass', dmarc: 'pass', other: {} });
    expect(r.authResults?.methods?.filter((m) => m.method === 'dkim').map((m) => [m.result, m.props['header.i']])).toEqual([
      ['neutral', '@esp.example.net'],
      ['pass', '@example.org'],
    ]);
  });

  it('qmail: comment-only stamps, "from unknown (HELO x) (ip)", a 2-digit-year Date without seconds', () => {
    const r = analyzeHeaders(readFixture('qmail'));
    expect(withoutRaw(r.hops)).toEqual([
      { index: 1, from: null, by: null, with: null, id: null, for: null, date: T('03:30:00'), delayMs: 60_000 },
      { index: 2, from: 'unknown', by: 'mx.example.info', with: 'SMTP', id: null, for: null, date: T('03:30:02'), delayMs: 2000 },
      { index: 3, from: null, by: null, with: null, id: null, for: null, date: T('03:30:02'), delayMs: 0 },
    ]);
    expect(r.hops[0]?.raw).toBe('(qmail 12345 invoked by uid 89); 26 Nov 2026 03:30:00 -0000');
    expect(r.transitMs).toBe(62_000);
    expect(r.authResults).toBeNull();
  });

  it('no Received at all: no hops, no transit time', () => {
    expect(analyzeHeaders(readFixture('no-received'))).toEqual({ hops: [], transitMs: null, authResults: null, omittedHops: 0 });
  });

  it('folded, weird spacing, mixed CRLF/LF, odd-case names, comments holding ";" and "spf=fail"', () => {
    const r = analyzeHeaders(readFixture('folded-weird'));
    expect(withoutRaw(r.hops)).toEqual([
      { index: 1, from: 'mail.probe.test', by: 'mail.probe.test', with: 'ESMTPS', id: '4XyzFold', for: 'probe@probe.test', date: T('03:30:05'), delayMs: 5000 },
      { index: 2, from: 'mail.probe.test', by: 'mail.probe.test', with: 'LMTP', id: 'x1', for: null, date: T('03:30:06'), delayMs: 1000 },
    ]);
    expect(r.transitMs).toBe(6000);
    expect(r.authResults).toEqual({
      authservId: 'mx.probe.test',
      spf: 'pass',
      dkim: 'pass',
      dmarc: 'fail',
      other: { arc: 'none' },
      methods: [
        { method: 'spf', result: 'pass', reason: null, props: { 'smtp.mailfrom': 'probe@probe.test' } },
        { method: 'dkim', result: 'pass', reason: null, props: { 'header.d': 'probe.test', 'header.b': 'ab;c=' } },
        { method: 'dmarc', result: 'fail', reason: 'policy; alignment', props: { 'header.from': 'probe.test' } },
        { method: 'arc', result: 'none', reason: null, props: {} },
      ],
    });
  });

  it('small hostile fixture: controls stripped, unreadable dates give null delays, nothing polluted', () => {
    const r = analyzeHeaders(readFixture('hostile-small'));
    expect(withoutRaw(r.hops)).toEqual([
      { index: 1, from: null, by: 'mx.evil.test', with: 'SMTP', id: '2', for: null, date: null, delayMs: null }, // no zone
      { index: 2, from: 'stray.test', by: 'mx.evil.test', with: 'SMTP', id: '1', for: null, date: null, delayMs: null }, // zone "XYZ"
      { index: 3, from: null, by: null, with: null, id: null, for: null, date: T('03:30:00'), delayMs: null }, // never-closed comment
      { index: 4, from: '"quoted host; with semicolon by x"', by: 'mx.evil.test', with: null, id: null, for: null, date: null, delayMs: null }, // 25:61
      { index: 5, from: 'evil.test[31m', by: null, with: null, id: null, for: null, date: null, delayMs: null }, // 30 Feb
    ]);
    for (const hop of r.hops) expect(hop.raw).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
    expect(r.transitMs).toBeNull();
    expect(r.authResults).toMatchObject({ authservId: 'mx.evil.test', spf: 'pass', dkim: null, dmarc: null });
    expect(r.authResults?.other).toEqual({ constructor: 'fail', 'x-evil': 'pass' });
    expect(Object.getPrototypeOf(r.authResults?.other)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('analyzeHeaders: delays and transit', () => {
  const rcv = (by: string, date: string): string => `Received: from a.test by ${by}; ${date}\n`;

  it('without a Date header hop 1 has no delay and transit runs from the first hop', () => {
    const r = analyzeHeaders(`${rcv('c.test', 'Thu, 26 Nov 2026 03:30:09 +0000')}${rcv('b.test', 'Thu, 26 Nov 2026 03:30:02 +0000')}`);
    expect(r.hops.map((h) => [h.by, h.delayMs])).toEqual([['b.test', null], ['c.test', 7000]]);
    expect(r.transitMs).toBe(7000);
  });

  it('an unreadable hop date breaks only the delays that need it', () => {
    const r = analyzeHeaders(
      rcv('d.test', 'Thu, 26 Nov 2026 03:30:09 +0000') + rcv('c.test', 'garbage') + rcv('b.test', 'Thu, 26 Nov 2026 03:30:02 +0000') +
        'Date: Thu, 26 Nov 2026 03:30:00 +0000\n',
    );
    expect(r.hops.map((h) => h.delayMs)).toEqual([2000, null, null]);
    expect(r.transitMs).toBe(9000);
  });

  it('an unreadable last hop date leaves transit unknown; an unreadable Date falls back to the first hop', () => {
    expect(analyzeHeaders(rcv('c.test', 'soon') + rcv('b.test', 'Thu, 26 Nov 2026 03:30:02 +0000')).transitMs).toBeNull();
    const r = analyzeHeaders(rcv('c.test', 'Thu, 26 Nov 2026 03:30:05 +0000') + rcv('b.test', 'Thu, 26 Nov 2026 03:30:02 +0000') + 'Date: yesterday\n');
    expect(r.hops[0]?.delayMs).toBeNull();
    expect(r.transitMs).toBe(3000);
  });

  it('a Date after the last hop (sender clock ahead) gives negative numbers, not an error', () => {
    const r = analyzeHeaders(rcv('b.test', 'Thu, 26 Nov 2026 03:30:02 +0000') + 'Date: Thu, 26 Nov 2026 03:31:00 +0000\n');
    expect(r.hops[0]?.delayMs).toBe(-58_000);
    expect(r.transitMs).toBe(-58_000);
  });

  it('uses the topmost Authentication-Results even when it says less', () => {
    const r = analyzeHeaders('Authentication-Results: mx.test; none\nAuthentication-Results: up.test; spf=pass\n');
    expect(r.authResults).toEqual({ authservId: 'mx.test', spf: null, dkim: null, dmarc: null, other: {}, methods: [] });
  });

  it('accepts only the header block, or a message without the blank line', () => {
    const head = rcv('b.test', 'Thu, 26 Nov 2026 03:30:02 +0000');
    expect(analyzeHeaders(head).hops).toHaveLength(1);
    expect(analyzeHeaders(`\n${head}`).hops).toHaveLength(0); // an empty first line: no headers at all
  });

  it('never throws on non-strings or empty input', () => {
    expect(analyzeHeaders('')).toEqual({ hops: [], transitMs: null, authResults: null, omittedHops: 0 });
    expect(analyzeHeaders(undefined as unknown as string).hops).toEqual([]);
    expect(analyzeHeaders(42 as unknown as string, { maxHops: Number.NaN }).hops).toEqual([]);
  });
});
