import { describe, expect, it } from 'vitest';
import { gatherSpf, judgeSpf, parseSpf, runSpf } from '../../checks/posture/spf.js';
import { fakeTxt, type FakeEntry } from './helpers/fake-txt.js';

/** Gathers through the fake (so the include walk is real) and judges. */
async function spf(table: Record<string, FakeEntry>, domain = 'example.org') {
  const fake = fakeTxt(table);
  const findings = await runSpf(domain, fake);
  return { findings, asked: fake.asked, f: findings[0] };
}

/** A chain of `n` includes each with one `a`: the domain's record costs 2n lookups. */
function chain(n: number, tail = '-all'): Record<string, FakeEntry> {
  const t: Record<string, FakeEntry> = { 'example.org': [`v=spf1 include:i1.example.net ${tail}`] };
  for (let i = 1; i <= n; i += 1) {
    t[`i${i}.example.net`] = [`v=spf1 a ${i < n ? `include:i${i + 1}.example.net ` : ''}~all`];
  }
  return t;
}

describe('spf judge', () => {
  const rows: [string, Record<string, FakeEntry>, string, string | null, RegExp][] = [
    ['-all passes', { 'example.org': ['v=spf1 mx -all'] }, 'pass', null, /1 lookup$/],
    ['~all passes', { 'example.org': ['v=spf1 ip4:192.0.2.0/24 ~all'] }, 'pass', null, /0 lookups/],
    ['?all warns', { 'example.org': ['v=spf1 mx ?all'] }, 'warn', 'all-neutral', /\?all/],
    ['+all fails', { 'example.org': ['v=spf1 +all'] }, 'fail', 'all-pass', /anyone may send/],
    ['a bare all fails (+ is the default)', { 'example.org': ['v=spf1 mx all'] }, 'fail', 'all-pass', /anyone/],
    ['no all and no redirect fails', { 'example.org': ['v=spf1 mx'] }, 'fail', 'no-all', /neutral/],
    ['two records fail', { 'example.org': ['v=spf1 -all', 'v=spf1 mx -all'] }, 'fail', 'multiple-records', /2 v=spf1/],
    ['no record fails', { 'example.org': ['some-verification=1'] }, 'fail', 'record-missing', /no v=spf1/],
    ['NXDOMAIN fails as missing', {}, 'fail', 'record-missing', /no v=spf1/],
    ['SERVFAIL fails', { 'example.org': { rcode: 'SERVFAIL' } }, 'fail', 'dns-error', /SERVFAIL/],
    ['an unknown mechanism fails', { 'example.org': ['v=spf1 mxx -all'] }, 'fail', 'record-invalid', /unknown term/],
    ['include without a domain fails', { 'example.org': ['v=spf1 include -all'] }, 'fail', 'record-invalid', /include without/],
    ['two redirects fail', { 'example.org': ['v=spf1 redirect=a.example.net redirect=b.example.net'] }, 'fail', 'record-invalid', /two redirect/],
    ['v=spf10 is not an SPF record', { 'example.org': ['v=spf10 -all'] }, 'fail', 'record-missing', /no v=spf1/],
    ['exactly 10 lookups pass', chain(5), 'pass', null, /10 lookups/],
    ['11 lookups fail', { ...chain(5), 'example.org': ['v=spf1 mx include:i1.example.net -all'] }, 'fail', 'too-many-lookups', /11 DNS lookups/],
    ['lookups are counted through include chains', chain(8), 'fail', 'too-many-lookups', /16 DNS lookups/],
    ['an include of a domain without SPF fails', { 'example.org': ['v=spf1 include:gone.example.net -all'] }, 'fail', 'include-invalid', /gone\.example\.net: no v=spf1/],
    ['an include whose lookup fails fails', { 'example.org': ['v=spf1 include:x.example.net -all'], 'x.example.net': { rcode: 'SERVFAIL' } }, 'fail', 'dns-error', /SERVFAIL/],
    ['an include loop fails, and ends', { 'example.org': ['v=spf1 include:a.example.net -all'], 'a.example.net': ['v=spf1 include:example.org -all'] }, 'fail', 'include-loop', /example\.org -> a\.example\.net -> example\.org/],
    ['a redirect takes the target\'s ending: -all passes', { 'example.org': ['v=spf1 redirect=_spf.example.net'], '_spf.example.net': ['v=spf1 mx -all'] }, 'pass', null, /2 lookups/],
    ['a redirect to +all fails', { 'example.org': ['v=spf1 redirect=_spf.example.net'], '_spf.example.net': ['v=spf1 +all'] }, 'fail', 'all-pass', /anyone/],
    ['a redirect to nothing fails', { 'example.org': ['v=spf1 redirect=_spf.example.net'] }, 'fail', 'include-invalid', /_spf\.example\.net/],
    ['a redirect beside all is ignored', { 'example.org': ['v=spf1 -all redirect=_spf.example.net'] }, 'pass', null, /0 lookups/],
    ['a macro target counts once and is not followed', { 'example.org': ['v=spf1 exists:%{i}.spf.example.net include:%{d}.x -all'] }, 'pass', null, /2 lookups/],
  ];
  it.each(rows)('%s', async (_what, table, result, reason, detail) => {
    const { findings, f } = await spf(table);
    expect(findings).toHaveLength(1);
    expect(f).toMatchObject({ check: 'spf', scope: 'domain', mxHost: null, address: null, result, reason });
    expect(f?.detail).toMatch(detail);
  });

  it('names the other problems beside the worst', async () => {
    const { f } = await spf({ ...chain(6), 'example.org': ['v=spf1 include:i1.example.net ?all'] });
    expect(f).toMatchObject({ result: 'fail', reason: 'too-many-lookups' });
    expect(f?.detail).toMatch(/\(also: all-neutral\)/);
  });

  it('judges without I/O: the same gathered data, the same finding', async () => {
    const g = await gatherSpf('example.org', fakeTxt({ 'example.org': ['v=spf1 -all'] }));
    expect(judgeSpf(g)).toEqual(judgeSpf(g));
    expect(judgeSpf(g)[0]?.result).toBe('pass');
  });
});

describe('spf gather', () => {
  it('follows includes and the redirect, each name once', async () => {
    const { asked } = await spf({
      'example.org': ['v=spf1 include:a.example.net include:b.example.net include:a.example.net redirect=c.example.net'],
      'a.example.net': ['v=spf1 include:b.example.net -all'],
      'b.example.net': ['v=spf1 ip4:192.0.2.1 -all'],
      'c.example.net': ['v=spf1 -all'],
    });
    expect([...asked].sort()).toEqual(['a.example.net', 'b.example.net', 'c.example.net', 'example.org']);
  });

  it('stops looking up once the count is past 10 anyway (a wide record of 50 includes)', async () => {
    const table: Record<string, FakeEntry> = {
      'example.org': [`v=spf1 ${Array.from({ length: 50 }, (_, i) => `include:i${i}.example.net`).join(' ')} -all`],
    };
    for (let i = 0; i < 50; i += 1) table[`i${i}.example.net`] = ['v=spf1 -all'];
    const { f, asked } = await spf(table);
    expect(asked.length).toBeLessThanOrEqual(12);
    expect(f).toMatchObject({ result: 'fail', reason: 'too-many-lookups' });
  });

  it('a long include chain is bounded too', async () => {
    const { f, asked } = await spf(chain(40));
    expect(asked.length).toBeLessThanOrEqual(12);
    expect(f).toMatchObject({ result: 'fail', reason: 'too-many-lookups' });
  });
});

describe('parseSpf', () => {
  it('reads qualifiers, targets and modifiers', () => {
    expect(parseSpf('v=spf1 -a:mail.example.org/24 ~mx ip6:2001:db8::/32 exp=x.example.org ?all')).toEqual({
      ok: true,
      terms: [
        { kind: 'mechanism', qualifier: '-', name: 'a', target: 'mail.example.org' },
        { kind: 'mechanism', qualifier: '~', name: 'mx', target: null },
        { kind: 'mechanism', qualifier: '+', name: 'ip6', target: '2001:db8::' },
        { kind: 'modifier', name: 'exp', value: 'x.example.org' },
        { kind: 'mechanism', qualifier: '?', name: 'all', target: null },
      ],
    });
  });
});
