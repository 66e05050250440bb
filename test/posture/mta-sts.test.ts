import { describe, expect, it } from 'vitest';
import {
  judgeMtaSts, mxMatches, parseConnectTo, parseStsPolicy, parseStsRecord, runMtaSts, DEFAULT_MTA_STS_OPTIONS,
  type MtaStsGathered, type StsFetch,
} from '../../checks/posture/mta-sts.js';
import type { TxtState } from '../../checks/posture/txt.js';
import { systemClock } from '../../src/core/clock.js';
import { fakeTxt } from './helpers/fake-txt.js';

const URL = 'https://mta-sts.example.org/.well-known/mta-sts.txt';
const recs = (...records: string[]): TxtState => ({ kind: 'records', records });
const REC = recs('v=STSv1; id=20261205T01');
const ok = (body: string, contentType = 'text/plain; charset=utf-8'): StsFetch => ({ kind: 'response', url: URL, status: 200, location: null, contentType, body });
const policy = (mode: string, ...mx: string[]): string => ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), 'max_age: 604800', ''].join('\r\n');
const MX = ['mx1.example.org', 'mx2.example.net'];

function judge(txt: TxtState, fetch: StsFetch | null, mx: readonly string[] = MX) {
  const g: MtaStsGathered = { domain: 'example.org', mx, txt, fetch };
  return judgeMtaSts(g);
}

describe('mta_sts judge, the domain', () => {
  const rows: [string, TxtState, StsFetch | null, string, string | null, RegExp][] = [
    ['no record: n/a', { kind: 'none' }, null, 'n/a', null, /no v=STSv1 record at _mta-sts\.example\.org/],
    ['only other TXT records: n/a', recs('v=spf1 -all'), null, 'n/a', null, /no v=STSv1/],
    ['a failed lookup: fail', { kind: 'error', detail: 'TXT _mta-sts.example.org: SERVFAIL' }, null, 'fail', 'dns-error', /SERVFAIL/],
    ['two records: fail (senders see no policy)', recs('v=STSv1; id=a1', 'v=STSv1; id=b2'), null, 'fail', 'sts-policy-invalid', /2 v=STSv1 records.*no policy/],
    ['no id: fail', recs('v=STSv1;'), null, 'fail', 'sts-policy-invalid', /no id= field/],
    ['an id of 33 characters: fail', recs(`v=STSv1; id=${'a'.repeat(33)}`), null, 'fail', 'sts-policy-invalid', /is not 1-32 letters and digits/],
    ['an id with a dash: fail', recs('v=STSv1; id=2026-12'), null, 'fail', 'sts-policy-invalid', /is not 1-32/],
    ['enforce covering every MX: pass', REC, ok(policy('enforce', 'mx1.example.org', '*.example.net')), 'pass', null, /mode enforce, max_age 604800 s \(7 d: senders keep/],
    ['testing: warn', REC, ok(policy('testing', '*.example.org', '*.example.net')), 'warn', 'sts-mode-testing', /mode testing/],
    ['none: warn', REC, ok('version: STSv1\nmode: none\nmax_age: 86400\n'), 'warn', 'sts-mode-none', /mode none, max_age 86400 s \(1 d/],
    ['a certificate problem: fail', REC, { kind: 'webpki', url: URL, detail: 'ERR_TLS_CERT_ALTNAME_INVALID: ...' }, 'fail', 'sts-webpki-invalid', /ALTNAME/],
    ['no answer: fail', REC, { kind: 'error', url: URL, detail: 'ECONNREFUSED: connect' }, 'fail', 'sts-policy-fetch-error', /ECONNREFUSED/],
    ['over 64 KiB: fail', REC, { kind: 'too-large', url: URL, maxBytes: 65536 }, 'fail', 'sts-policy-fetch-error', /larger than 65536 bytes/],
    ['a redirect: fail, not followed', REC, { kind: 'response', url: URL, status: 302, location: 'https://elsewhere.example/p.txt', contentType: null, body: null }, 'fail', 'sts-policy-fetch-error', /HTTP 302 redirect to "https:\/\/elsewhere\.example\/p\.txt" \(not followed\)/],
    ['a 404: fail', REC, { kind: 'response', url: URL, status: 404, location: null, contentType: 'text/plain', body: null }, 'fail', 'sts-policy-fetch-error', /HTTP 404/],
    ['text/html: fail', REC, ok(policy('enforce', 'mx1.example.org'), 'text/html'), 'fail', 'sts-policy-invalid', /Content-Type "text\/html", not text\/plain/],
    ['no Content-Type: fail', REC, { kind: 'response', url: URL, status: 200, location: null, contentType: null, body: policy('enforce', 'x') }, 'fail', 'sts-policy-invalid', /Content-Type "\(none\)"/],
    ['version missing: fail', REC, ok('mode: enforce\nmx: mx1.example.org\nmax_age: 86400\n'), 'fail', 'sts-policy-invalid', /version is "\(missing\)"/],
    ['version STSv2: fail', REC, ok('version: STSv2\nmode: enforce\nmx: a.example.org\nmax_age: 86400\n'), 'fail', 'sts-policy-invalid', /not STSv1/],
    ['an unknown mode: fail', REC, ok('version: STSv1\nmode: strict\nmx: a.example.org\nmax_age: 86400\n'), 'fail', 'sts-policy-invalid', /mode "strict" is not/],
    ['max_age over 31557600: fail', REC, ok('version: STSv1\nmode: enforce\nmx: a.example.org\nmax_age: 31557601\n'), 'fail', 'sts-policy-invalid', /max_age "31557601" is not 0\.\.31557600/],
    ['max_age negative: fail', REC, ok('version: STSv1\nmode: enforce\nmx: a.example.org\nmax_age: -1\n'), 'fail', 'sts-policy-invalid', /max_age "-1"/],
    ['max_age missing: fail', REC, ok('version: STSv1\nmode: enforce\nmx: a.example.org\n'), 'fail', 'sts-policy-invalid', /max_age "\(missing\)"/],
    ['enforce without mx: fail', REC, ok('version: STSv1\nmode: enforce\nmax_age: 86400\n'), 'fail', 'sts-policy-invalid', /mode enforce without an mx line/],
    ['a mode given twice: fail', REC, ok('version: STSv1\nmode: enforce\nmode: none\nmax_age: 86400\n'), 'fail', 'sts-policy-invalid', /mode given twice/],
    ['a line without a colon: fail', REC, ok('version: STSv1\nmode enforce\n'), 'fail', 'sts-policy-invalid', /line 2 is not key: value/],
    ['a bad mx pattern: fail', REC, ok('version: STSv1\nmode: enforce\nmx: a.*.example.org\nmax_age: 86400\n'), 'fail', 'sts-policy-invalid', /mx "a\.\*\.example\.org"/],
  ];
  it.each(rows)('%s', (_what, txt, fetch, result, reason, detail) => {
    const [f] = judge(txt, fetch);
    expect(f).toMatchObject({ check: 'mta_sts', scope: 'domain', mxHost: null, address: null, result, reason });
    expect(f?.detail).toMatch(detail);
  });

  it('LF and CRLF line ends, blank lines, whitespace and unknown keys are all fine', () => {
    for (const body of [
      'version: STSv1\nmode: enforce\nmx: mx1.example.org\nmx: *.example.net\nmax_age: 604800\n',
      'version:STSv1\r\nmode:\tenforce\r\nmx: mx1.example.org \r\n\r\nmx: *.example.net\r\nmax_age: 604800\r\nfoo-bar.baz: 1\r\n',
    ]) expect(judge(REC, ok(body)).map((f) => f.result)).toEqual(['pass', 'pass', 'pass']);
  });

  it('a finding per MX host only when there is a valid policy', () => {
    expect(judge({ kind: 'none' }, null)).toHaveLength(1);
    expect(judge(REC, ok(policy('enforce', 'mx1.example.org'), 'text/html'))).toHaveLength(1);
  });
});

describe('mta_sts judge, each MX host', () => {
  const rows: [string, string, string[], string, string | null][] = [
    ['enforce, covered by name: pass', 'enforce', ['mx1.example.org', 'mx2.example.net'], 'pass', null],
    ['enforce, covered by a wildcard: pass', 'enforce', ['*.example.org', '*.example.net'], 'pass', null],
    ['enforce, not covered: fail', 'enforce', ['mx1.example.org'], 'fail', 'validation-failure'],
    ['enforce, a wildcard two labels up does not cover: fail', 'enforce', ['mx1.example.org', '*.net'], 'fail', 'validation-failure'],
    ['testing, not covered: warn', 'testing', ['mx1.example.org'], 'warn', 'validation-failure'],
  ];
  it.each(rows)('%s', (_what, mode, patterns, result, reason) => {
    const findings = judge(REC, ok(policy(mode, ...patterns)));
    expect(findings).toHaveLength(3);
    expect(findings[1]).toMatchObject({ scope: 'mx', mxHost: 'mx1.example.org', result: 'pass' });
    expect(findings[2]).toMatchObject({ check: 'mta_sts', scope: 'mx', mxHost: 'mx2.example.net', address: null, result, reason });
  });

  it('mode none: every MX host n/a', () => {
    const findings = judge(REC, ok('version: STSv1\nmode: none\nmax_age: 0\n'));
    expect(findings.slice(1).map((f) => [f.mxHost, f.result])).toEqual([['mx1.example.org', 'n/a'], ['mx2.example.net', 'n/a']]);
  });

  it('the uncovered detail lists the patterns and the consequence', () => {
    const [, , f] = judge(REC, ok(policy('enforce', 'mx1.example.org')));
    expect(f?.detail).toBe('matches no mx pattern of the policy (mx1.example.org): senders will not deliver to it');
  });
});

describe('mxMatches (the wildcard spans exactly one label)', () => {
  const rows: [string, string, boolean][] = [
    ['*.example.net', 'a.example.net', true],
    ['*.example.net', 'a.b.example.net', false],
    ['*.example.net', 'example.net', false],
    ['*.example.net', '.example.net', false],
    ['*.example.net', 'A.EXAMPLE.NET.', true],
    ['*.EXAMPLE.net.', 'a.example.net', true],
    ['mx.example.net', 'MX.example.net.', true],
    ['mx.example.net', 'mx.example.net.evil', false],
    ['mx.example.net', 'a.mx.example.net', false],
    ['*.example.net', 'aexample.net', false],
  ];
  it.each(rows)('%s ~ %s: %s', (pattern, host, want) => {
    expect(mxMatches(pattern, host)).toBe(want);
  });
});

describe('parsers', () => {
  it('parseStsRecord wants v=STSv1 first and an id', () => {
    expect(parseStsRecord('v=STSv1; id=abc123;')).toEqual({ ok: true, id: 'abc123' });
    expect(parseStsRecord('id=abc; v=STSv1')).toEqual({ ok: false, why: 'malformed record' });
    expect(parseStsRecord('v=STSv1; id=abc; ext_1=whatever')).toEqual({ ok: true, id: 'abc' });
    expect(parseStsRecord('v=STSv1; id=a; id=b')).toEqual({ ok: false, why: 'malformed record' });
  });

  it('parseStsPolicy returns the policy', () => {
    expect(parseStsPolicy(policy('enforce', 'MX1.example.org.', '*.example.net'))).toEqual({
      ok: true,
      policy: { mode: 'enforce', maxAge: 604800, mx: ['mx1.example.org', '*.example.net'] },
    });
  });

  it('parseConnectTo reads curl syntax', () => {
    expect(parseConnectTo('mta-sts.example.test:443:127.0.0.1:8443')).toEqual({ host: 'mta-sts.example.test', port: 443, toHost: '127.0.0.1', toPort: 8443 });
    expect(parseConnectTo('::[::1]:')).toEqual({ host: '', port: null, toHost: '::1', toPort: null });
    expect(parseConnectTo('a:443:b')).toBeNull();
    expect(parseConnectTo('a:70000:b:1')).toBeNull();
  });
});

describe('mta_sts run', () => {
  it('fetches only after one valid record, and judges what came back', async () => {
    const fetched: string[] = [];
    const deps = (table: Parameters<typeof fakeTxt>[0]) => ({
      ...fakeTxt(table),
      clock: systemClock,
      fetch: async (domain: string) => {
        fetched.push(domain);
        return ok(policy('enforce', '*.example.org'));
      },
    });
    const none = await runMtaSts('example.org', ['mx.example.org'], DEFAULT_MTA_STS_OPTIONS, deps({}));
    const two = await runMtaSts('example.org', ['mx.example.org'], DEFAULT_MTA_STS_OPTIONS, deps({ '_mta-sts.example.org': ['v=STSv1; id=1', 'v=STSv1; id=2'] }));
    expect(fetched).toEqual([]);
    const good = await runMtaSts('example.org', ['mx.example.org'], DEFAULT_MTA_STS_OPTIONS, deps({ '_mta-sts.example.org': ['v=STSv1; id=1'] }));
    expect(fetched).toEqual(['example.org']);
    expect([none, two, good].map((fs) => fs.map((f) => f.result))).toEqual([['n/a'], ['fail'], ['pass', 'pass']]);
  });
});

describe('mta_sts options', () => {
  it('timeout_ms is checked by its schema and applied over the defaults', async () => {
    const { z } = await import('zod');
    const { mtaStsOptions, options } = await import('../../checks/posture/mta-sts.js');
    const schema = z.strictObject(options({ z, oneLine: () => z.string(), mailAddress: z.string(), file: z.string() }));
    expect(schema.safeParse({ timeout_ms: 90_000 }).success).toBe(false);
    expect(schema.safeParse({ timeout_ms: 50 }).success).toBe(false);
    const parsed = schema.parse({ timeout_ms: 5_000 });
    const rule = { host: 'mta-sts.example.org', port: 443, toHost: '127.0.0.1', toPort: 8443 };
    expect(mtaStsOptions(parsed, { ca: ['PEM'], connectTo: [rule] })).toEqual({ timeoutMs: 5_000, ca: ['PEM'], connectTo: [rule] });
    expect(mtaStsOptions()).toEqual(DEFAULT_MTA_STS_OPTIONS);
    expect(DEFAULT_MTA_STS_OPTIONS.timeoutMs).toBe(60_000);
  });
});
