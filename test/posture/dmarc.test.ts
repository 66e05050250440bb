import { describe, expect, it } from 'vitest';
import { judgeDmarc, runDmarc } from '../../checks/posture/dmarc.js';
import type { TxtState } from '../../checks/posture/txt.js';
import { fakeTxt } from './helpers/fake-txt.js';

const recs = (...records: string[]): TxtState => ({ kind: 'records', records });

describe('dmarc judge', () => {
  const rows: [string, TxtState, string, string | null, RegExp][] = [
    ['p=reject passes', recs('v=DMARC1; p=reject; rua=mailto:d@example.org'), 'pass', null, /p=reject pct=100/],
    ['p=quarantine passes', recs('v=DMARC1;p=quarantine;sp=reject;pct=50'), 'pass', null, /p=quarantine sp=reject pct=50/],
    ['p=none warns', recs('v=DMARC1; p=none'), 'warn', 'policy-none', /p=none/],
    ['no p is a fail', recs('v=DMARC1; rua=mailto:d@example.org'), 'fail', 'policy-missing', /no p= tag/],
    ['an unknown p is a fail', recs('v=DMARC1; p=maybe'), 'fail', 'record-invalid', /p=maybe is not/],
    ['two records are a fail', recs('v=DMARC1; p=reject', 'v=DMARC1; p=none'), 'fail', 'multiple-records', /2 v=DMARC1/],
    ['no record at all is a fail', { kind: 'none' }, 'fail', 'record-missing', /no v=DMARC1 record at _dmarc\.example\.org/],
    ['other TXT records only: missing', recs('google-site-verification=x'), 'fail', 'record-missing', /no v=DMARC1/],
    ['v not the first tag is invalid', recs('v=DMARC1; v=DMARC1; p=reject'), 'fail', 'record-invalid', /malformed/],
    ['a part without = is invalid', recs('v=DMARC1; p=reject; junk'), 'fail', 'record-invalid', /malformed/],
    ['a failed lookup is a fail', { kind: 'error', detail: 'TXT _dmarc.example.org: SERVFAIL' }, 'fail', 'dns-error', /SERVFAIL/],
    ['the version is matched without case', recs('v=dmarc1; p=REJECT'), 'pass', null, /p=reject/],
  ];
  it.each(rows)('%s', (_what, txt, result, reason, detail) => {
    const [f, ...rest] = judgeDmarc({ domain: 'example.org', txt });
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ check: 'dmarc', scope: 'domain', mxHost: null, address: null, result, reason });
    expect(f?.detail).toMatch(detail);
  });

  it('quotes a hostile tag value on one line', () => {
    const [f] = judgeDmarc({ domain: 'example.org', txt: recs('v=DMARC1; p=re\r\nject') });
    expect(f?.result).toBe('fail');
    expect(f?.detail).not.toMatch(/[\r\n]/);
  });
});

describe('dmarc run', () => {
  it('looks up _dmarc.DOMAIN and judges what it got', async () => {
    const fake = fakeTxt({ '_dmarc.example.org': ['v=spf1 -all', 'v=DMARC1; p=reject'] });
    const findings = await runDmarc('example.org', fake);
    expect(fake.asked).toEqual(['_dmarc.example.org']);
    expect(findings.map((f) => [f.result, f.reason])).toEqual([['pass', null]]);
  });

  it('a lookup that throws becomes a dns-error finding, not an exception', async () => {
    const fake = fakeTxt({ '_dmarc.example.org': new Error('timed out after 5 s') });
    const [f] = await runDmarc('example.org', fake);
    expect(f).toMatchObject({ result: 'fail', reason: 'dns-error' });
    expect(f?.detail).toMatch(/timed out after 5 s/);
  });

  it('SERVFAIL and REFUSED are dns-errors, NXDOMAIN and NOERROR without records are missing', async () => {
    const [a] = await runDmarc('example.org', fakeTxt({ '_dmarc.example.org': { rcode: 'SERVFAIL' } }));
    const [b] = await runDmarc('example.org', fakeTxt({}));
    const [c] = await runDmarc('example.org', fakeTxt({ '_dmarc.example.org': [] }));
    const [d] = await runDmarc('example.org', fakeTxt({ '_dmarc.example.org': { rcode: 'REFUSED' } }));
    expect([a?.reason, b?.reason, c?.reason, d?.reason]).toEqual(['dns-error', 'record-missing', 'record-missing', 'dns-error']);
  });
});

describe('the TXT lookup', () => {
  it('an answer without an rcode (the DNS client timed out) is a dns-error naming why', async () => {
    const [f] = await runDmarc('example.org', { txt: async () => ({ rcode: null, records: [], detail: 'no answer in 5000 ms' }) });
    expect(f).toMatchObject({ result: 'fail', reason: 'dns-error' });
    expect(f?.detail).toBe('TXT _dmarc.example.org: no answer in 5000 ms');
  });
});
