import { afterEach, describe, expect, it } from 'vitest';
import { confirmedName, gatherFcrdns, judgeFcrdns, runFcrdns, MAX_PTR_NAMES, type FcrdnsSeen } from '../../checks/posture/fcrdns.js';
import { expandIPv6, ptrNameOf, reversedLabels, sameIp, type LookupSeen } from '../../checks/posture/reverse.js';
import { systemClock } from '../../src/core/clock.js';
import { createSecureDns } from '../../src/dns/secure.js';
import { closeAll } from '../helpers/cleanup.js';
import { fakeSecureDns } from '../dns/secure-fake.js';
import { reply, startSecureResponder } from '../dns/secure-responder.js';

afterEach(closeAll);

const where = { mxHost: 'mx.example.test', address: '192.0.2.1' };
const PTR = '1.2.0.192.in-addr.arpa';
const seen = (ptr: Partial<LookupSeen> | null, forward: Partial<LookupSeen>[] = []): FcrdnsSeen => ({
  address: '192.0.2.1',
  ptr: ptr === null ? null : { name: PTR, type: 'PTR', rcode: 'NOERROR', records: [], detail: 'NOERROR', ...ptr },
  forward: forward.map((f) => ({ name: 'mx.example.test', type: 'A', rcode: 'NOERROR', records: [], detail: 'NOERROR', ...f })),
});

describe('reverse names', () => {
  it.each([
    ['192.0.2.1', '1.2.0.192.in-addr.arpa'],
    ['127.0.0.2', '2.0.0.127.in-addr.arpa'],
    ['2001:db8::1', `1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.ip6.arpa`],
    ['::ffff:127.0.0.2', `2.0.0.0.0.0.f.7.f.f.f.f.${'0.'.repeat(20)}ip6.arpa`],
    ['not-an-ip', null],
  ])('%s → %s', (address, name) => {
    expect(ptrNameOf(address)).toBe(name);
  });

  it('expands IPv6 to 32 digits, rejects malformed ones, compares spellings', () => {
    expect(expandIPv6('::1')).toBe(`${'0'.repeat(31)}1`);
    expect(expandIPv6('1:2:3:4:5:6:7:8')).toBe('00010002000300040005000600070008');
    expect(expandIPv6('1::2::3')).toBeNull();
    expect(expandIPv6('1:2:3:4:5:6:7:8:9')).toBeNull();
    expect(reversedLabels('2001:db8::1')!.split('.')).toHaveLength(32);
    expect(sameIp('2001:DB8::1', '2001:db8:0:0::1')).toBe(true);
    expect(sameIp('2001:db8::1', '2001:db8::2')).toBe(false);
    expect(sameIp('192.0.2.1', '192.0.2.10')).toBe(false);
  });
});

describe('judgeFcrdns', () => {
  const rows: [string, FcrdnsSeen, string, string | null][] = [
    ['PTR name resolves back', seen({ records: ['mx.example.test'] }, [{ records: ['192.0.2.9', '192.0.2.1'] }]), 'pass', null],
    ['second PTR name confirms', seen({ records: ['a.example.test', 'mx.example.test'] }, [{ name: 'a.example.test', records: ['192.0.2.7'] }, { records: ['192.0.2.1'] }]), 'pass', null],
    ['NXDOMAIN PTR', seen({ rcode: 'NXDOMAIN' }), 'warn', 'no-ptr'],
    ['NOERROR, no PTR record', seen({ records: [] }), 'warn', 'no-ptr'],
    ['PTR SERVFAIL', seen({ rcode: 'SERVFAIL', detail: 'SERVFAIL, 0 PTR record(s)' }), 'warn', 'dns-error'],
    ['PTR timeout', seen({ rcode: null, detail: 'no answer within 5000 ms' }), 'warn', 'dns-error'],
    ['name resolves elsewhere', seen({ records: ['mx.example.test'] }, [{ records: ['192.0.2.9'] }]), 'warn', 'ptr-not-confirmed'],
    ['name does not resolve', seen({ records: ['mx.example.test'] }, [{ rcode: 'NXDOMAIN' }]), 'warn', 'ptr-not-confirmed'],
    ['forward lookup fails', seen({ records: ['mx.example.test'] }, [{ rcode: 'SERVFAIL', detail: 'SERVFAIL' }]), 'warn', 'dns-error'],
    ['not an IP address', seen(null), 'n/a', 'not-an-address'],
  ];
  it.each(rows)('%s → %s %s', (_, s, result, reason) => {
    expect(judgeFcrdns(where, s)).toEqual([expect.objectContaining({ check: 'fcrdns', scope: 'address', result, reason })]);
  });

  it('names the PTR and what it resolves to', () => {
    const [pass] = judgeFcrdns(where, seen({ records: ['mx.example.test'] }, [{ records: ['192.0.2.1'] }]));
    expect(pass!.detail).toBe('PTR 192.0.2.1 → mx.example.test, mx.example.test A → 192.0.2.1');
    const [warn] = judgeFcrdns(where, seen({ records: ['mx.example.test'] }, [{ records: ['192.0.2.9'] }]));
    expect(warn!.detail).toBe('PTR 192.0.2.1 → mx.example.test; mx.example.test A 192.0.2.9: no PTR name resolves back to 192.0.2.1');
    const [failed] = judgeFcrdns(where, seen({ rcode: 'SERVFAIL', detail: 'SERVFAIL, 0 PTR record(s)' }));
    expect(failed!.detail).toBe(`PTR ${PTR}: SERVFAIL, 0 PTR record(s): reverse DNS could not be checked`);
  });

  it('a confirmed name wins over a failed forward lookup of another name', () => {
    const s = seen({ records: ['a.example.test', 'mx.example.test'] }, [{ name: 'a.example.test', rcode: 'SERVFAIL' }, { records: ['192.0.2.1'] }]);
    expect(confirmedName(s)).toBe('mx.example.test');
    expect(judgeFcrdns(where, s)[0]).toMatchObject({ result: 'pass' });
  });
});

describe('gatherFcrdns', () => {
  it('asks PTR, then A of each PTR name (at most MAX_PTR_NAMES), never AAAA for an IPv4 address', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `h${i}.example.test`);
    const dns = fakeSecureDns({ [`${PTR} PTR`]: { records: names }, 'h3.example.test A': { records: ['192.0.2.1'] } });
    const s = await gatherFcrdns('192.0.2.1', { dns });
    expect(dns.asked).toEqual([`${PTR} PTR`, ...names.slice(0, MAX_PTR_NAMES).map((n) => `${n} A`)]);
    expect(confirmedName(s)).toBe('h3.example.test');
  });

  it('names the PTR names it did not follow; maxPtrNames bounds the forward lookups', async () => {
    const dns = fakeSecureDns({ [`${PTR} PTR`]: { records: ['a.example.test', 'b.example.test', 'c.example.test'] } });
    const [f] = await runFcrdns(where, { dns }, { maxPtrNames: 2 });
    expect(f).toMatchObject({ result: 'warn', reason: 'ptr-not-confirmed' });
    expect(f!.detail).toBe('PTR 192.0.2.1 → a.example.test, b.example.test (1 more PTR name(s) not followed); a.example.test A NXDOMAIN; b.example.test A NXDOMAIN: no PTR name resolves back to 192.0.2.1');
    expect(dns.asked).toEqual([`${PTR} PTR`, 'a.example.test A', 'b.example.test A']);
  });

  it('a DNS client that throws is a failed lookup (warn dns-error, the message said), not a crash', async () => {
    const dns = { query: () => Promise.reject(new Error('socket exploded')) };
    const [f] = await runFcrdns(where, { dns });
    expect(f).toMatchObject({ result: 'warn', reason: 'dns-error', detail: `PTR ${PTR}: socket exploded: reverse DNS could not be checked` });
  });

  it('asks only the PTR when it fails or is empty', async () => {
    const dns = fakeSecureDns({ [`${PTR} PTR`]: { rcode: 'SERVFAIL' } });
    expect((await runFcrdns(where, { dns }))[0]).toMatchObject({ result: 'warn', reason: 'dns-error' });
    expect(dns.asked).toEqual([`${PTR} PTR`]);
  });

  it('IPv6 over a real DNS socket: PTR under ip6.arpa, then AAAA, another spelling of the address confirms', async () => {
    const address = '2001:db8::25';
    const ptr = ptrNameOf(address)!;
    const server = await startSecureResponder((q) => {
      const { name, type } = q.questions![0]!;
      if (type === 'PTR' && name === ptr) return [reply(q, { answers: [{ type: 'PTR', name, ttl: 60, data: 'MX.Example.Test.' }] })];
      if (type === 'AAAA' && name === 'mx.example.test') return [reply(q, { answers: [{ type: 'AAAA', name, ttl: 60, data: '2001:db8:0:0:0:0:0:25' }] })];
      return [reply(q, { rcode: 3 })];
    });
    const dns = createSecureDns({ server: server.address, timeoutMs: 2_000, clock: systemClock });
    const [f] = await runFcrdns({ mxHost: 'mx.example.test', address }, { dns });
    expect(f).toMatchObject({ result: 'pass', reason: null, address });
    expect(f!.detail).toBe(`PTR ${address} → mx.example.test, mx.example.test AAAA → ${address}`);
    expect(server.seen.map((q) => `${q.name} ${q.type}`)).toEqual([`${ptr} PTR`, 'mx.example.test AAAA']);
  });
});
