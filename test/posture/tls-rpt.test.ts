import { describe, expect, it } from 'vitest';
import { judgeTlsRpt, parseTlsRpt, runTlsRpt } from '../../checks/posture/tls-rpt.js';
import type { TxtState } from '../../checks/posture/txt.js';
import { fakeTxt } from './helpers/fake-txt.js';

const recs = (...records: string[]): TxtState => ({ kind: 'records', records });
const GOOD = 'v=TLSRPTv1; rua=mailto:tlsrpt@example.org';

describe('tls_rpt judge, the domain', () => {
  const rows: [string, TxtState, string, string | null, RegExp][] = [
    ['a mailto: rua passes', recs(GOOD), 'pass', null, /rua="mailto:tlsrpt@example.org"/],
    ['mailto: and https: rua pass', recs('v=TLSRPTv1;rua=mailto:a@example.org,https://r.example.org/tlsrpt'), 'pass', null, /https:\/\/r\.example\.org/],
    ['no record warns', { kind: 'none' }, 'warn', 'record-missing', /no v=TLSRPTv1 record at _smtp\._tls\.example\.org/],
    ['other TXT only warns', recs('v=spf1 -all'), 'warn', 'record-missing', /no v=TLSRPTv1/],
    ['two records fail', recs(GOOD, 'v=TLSRPTv1; rua=mailto:b@example.org'), 'fail', 'multiple-records', /2 v=TLSRPTv1/],
    ['no rua fails', recs('v=TLSRPTv1; ruf=mailto:a@example.org'), 'fail', 'record-invalid', /no rua= tag/],
    ['an http: rua fails', recs('v=TLSRPTv1; rua=http://r.example.org/'), 'fail', 'record-invalid', /is not a mailto: or https: URI/],
    ['a mailto: without @ fails', recs('v=TLSRPTv1; rua=mailto:nobody'), 'fail', 'record-invalid', /is not a mailto/],
    ['an empty rua entry fails', recs('v=TLSRPTv1; rua=mailto:a@example.org,'), 'fail', 'record-invalid', /is not a mailto/],
    ['a failed lookup fails', { kind: 'error', detail: 'TXT _smtp._tls.example.org: SERVFAIL' }, 'fail', 'dns-error', /SERVFAIL/],
  ];
  it.each(rows)('%s', (_what, txt, result, reason, detail) => {
    const [f, ...rest] = judgeTlsRpt({ domain: 'example.org', txt, mx: [] });
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ check: 'tls_rpt', scope: 'domain', mxHost: null, result, reason });
    expect(f?.detail).toMatch(detail);
  });
});

describe('tls_rpt judge, each MX host', () => {
  const rows: [string, TxtState, string, string | null][] = [
    ['a valid record passes', recs(GOOD), 'pass', null],
    ['no record is n/a (the domain record is the one required)', { kind: 'none' }, 'n/a', null],
    ['two records fail', recs(GOOD, GOOD), 'fail', 'multiple-records'],
    ['an invalid record fails', recs('v=TLSRPTv1; rua=ftp://x'), 'fail', 'record-invalid'],
    ['a failed lookup fails', { kind: 'error', detail: 'timeout' }, 'fail', 'dns-error'],
  ];
  it.each(rows)('%s', (_what, txt, result, reason) => {
    const findings = judgeTlsRpt({ domain: 'example.org', txt: recs(GOOD), mx: [{ host: 'mx1.example.org', txt }] });
    expect(findings).toHaveLength(2);
    expect(findings[0]).toMatchObject({ scope: 'domain', result: 'pass' });
    expect(findings[1]).toMatchObject({ check: 'tls_rpt', scope: 'mx', mxHost: 'mx1.example.org', address: null, result, reason });
  });
});

describe('parseTlsRpt', () => {
  it('needs v=TLSRPTv1 as the first tag', () => {
    expect(parseTlsRpt('rua=mailto:a@example.org; v=TLSRPTv1')).toEqual({ ok: false, why: 'malformed record' });
    expect(parseTlsRpt(GOOD)).toEqual({ ok: true, rua: ['mailto:tlsrpt@example.org'] });
  });
});

describe('tls_rpt run', () => {
  it('asks for the domain and every MX host (trailing dot dropped) and keeps the MX order', async () => {
    const fake = fakeTxt({
      '_smtp._tls.example.org': [GOOD],
      '_smtp._tls.mx2.example.org': ['v=TLSRPTv1; rua=https://r.example.org/'],
    });
    const findings = await runTlsRpt('example.org', ['mx1.example.org.', 'mx2.example.org'], fake);
    expect([...fake.asked].sort()).toEqual(['_smtp._tls.example.org', '_smtp._tls.mx1.example.org', '_smtp._tls.mx2.example.org']);
    expect(findings.map((f) => [f.mxHost, f.result])).toEqual([
      [null, 'pass'],
      ['mx1.example.org.', 'n/a'],
      ['mx2.example.org', 'pass'],
    ]);
  });
});
