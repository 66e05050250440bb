import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hostWord, judgeBannerHostname, runBannerHostname, type BannerHostnameSeen, type BannerSession } from '../../checks/posture/banner-hostname.js';
import type { FcrdnsSeen } from '../../checks/posture/fcrdns.js';
import { closeAll } from '../helpers/cleanup.js';
import { banner, ehloSteps, quitSteps, reply, startScriptedServer } from '../helpers/scripted-server.js';
import { fakeSecureDns } from '../dns/secure-fake.js';
import { testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const where = { mxHost: 'mx.example.test', address: '192.0.2.1' };
const PTR = '1.2.0.192.in-addr.arpa';
const confirmed = (n: string): FcrdnsSeen => ({
  address: '192.0.2.1',
  ptr: { name: PTR, type: 'PTR', rcode: 'NOERROR', records: [n], detail: '' },
  forward: [{ name: n, type: 'A', rcode: 'NOERROR', records: ['192.0.2.1'], detail: '' }],
});
const noPtr: FcrdnsSeen = { address: '192.0.2.1', ptr: { name: PTR, type: 'PTR', rcode: 'NXDOMAIN', records: [], detail: '' }, forward: [] };
const unconfirmed: FcrdnsSeen = {
  address: '192.0.2.1',
  ptr: { name: PTR, type: 'PTR', rcode: 'NOERROR', records: ['other.example.test'], detail: '' },
  forward: [{ name: 'other.example.test', type: 'A', rcode: 'NOERROR', records: ['192.0.2.9'], detail: '' }],
};
const said = (greeting: string, ehlo: string, ehloCode = 250): BannerSession => ({ kind: 'session', greeting, ehloCode, ehlo });
const seen = (session: BannerSession, fcrdns: FcrdnsSeen): BannerHostnameSeen => ({ session, fcrdns });

describe('judgeBannerHostname', () => {
  const rows: [string, BannerHostnameSeen, string, string | null][] = [
    ['both name the confirmed PTR', seen(said('smtp.example.test ESMTP', 'smtp.example.test'), confirmed('smtp.example.test')), 'pass', null],
    ['case and a final dot ignored', seen(said('SMTP.Example.Test. ESMTP', 'smtp.example.test.'), confirmed('smtp.example.test')), 'pass', null],
    ['no PTR: both name the MX host', seen(said('mx.example.test ESMTP', 'mx.example.test Hello'), noPtr), 'pass', null],
    ['PTR not confirmed: the MX host name is expected', seen(said('mx.example.test', 'mx.example.test'), unconfirmed), 'pass', null],
    ['PTR not confirmed: its name is not enough', seen(said('other.example.test', 'other.example.test'), unconfirmed), 'warn', 'hostname-mismatch'],
    ['confirmed PTR, banner names the MX host', seen(said('mx.example.test', 'mx.example.test'), confirmed('smtp.example.test')), 'warn', 'hostname-mismatch'],
    ['greeting differs', seen(said('lb.example.test ESMTP', 'mx.example.test'), noPtr), 'warn', 'hostname-mismatch'],
    ['EHLO differs', seen(said('mx.example.test ESMTP', 'localhost'), noPtr), 'warn', 'hostname-mismatch'],
    ['EHLO refused', seen(said('mx.example.test ESMTP', '5.5.1 no', 502), noPtr), 'warn', 'hostname-mismatch'],
    ['greeting names nothing', seen(said('', 'mx.example.test'), noPtr), 'warn', 'hostname-mismatch'],
    ['no greeting (connection refused)', seen({ kind: 'unreachable', detail: 'connect: ECONNREFUSED' }, noPtr), 'n/a', 'unreachable'],
  ];
  it.each(rows)('%s → %s %s', (_, s, result, reason) => {
    expect(judgeBannerHostname(where, s)).toEqual([expect.objectContaining({ check: 'banner_hostname', scope: 'address', result, reason })]);
  });

  it('names what each said and what was expected, and why', () => {
    const [w] = judgeBannerHostname(where, seen(said('lb.example.test ESMTP', 'mx.example.test'), confirmed('smtp.example.test')));
    expect(w!.detail).toBe('the 220 greeting says "lb.example.test", EHLO says "mx.example.test"; expected smtp.example.test, the forward-confirmed PTR name');
    const [x] = judgeBannerHostname(where, seen(said('mx.example.test', '5.5.1 no', 502), unconfirmed));
    expect(x!.detail).toBe('the 220 greeting says "mx.example.test", EHLO refused ("502 5.5.1 no"); expected mx.example.test, the MX host name (PTR other.example.test not confirmed)');
    const servfail: FcrdnsSeen = { address: '192.0.2.1', ptr: { name: PTR, type: 'PTR', rcode: 'SERVFAIL', records: [], detail: '' }, forward: [] };
    const [p] = judgeBannerHostname(where, seen(said('mx.example.test', 'mx.example.test'), servfail));
    expect(p).toMatchObject({ result: 'pass', detail: 'greeting and EHLO name mx.example.test, the MX host name (PTR lookup failed)' });
    const [n] = judgeBannerHostname(where, seen({ kind: 'unreachable', detail: 'connect: ECONNREFUSED' }, noPtr));
    expect(n!.detail).toBe('no greeting: connect: ECONNREFUSED');
  });

  it('hostWord: the first word, an enhanced status code skipped', () => {
    expect(hostWord('mx.example.test ESMTP Postfix')).toBe('mx.example.test');
    expect(hostWord('2.0.0 mx.example.test ready')).toBe('mx.example.test');
    expect(hostWord('   ')).toBe('');
  });
});

describe('runBannerHostname over real sockets', () => {
  const dns = fakeSecureDns({ '1.0.0.127.in-addr.arpa PTR': { records: ['smtp.example.test'] }, 'smtp.example.test A': { records: ['127.0.0.1'] } });

  it('passes when greeting and EHLO name the confirmed PTR; one session: EHLO, QUIT', async () => {
    const s = await startScriptedServer([banner('220 smtp.example.test ESMTP'), ...ehloSteps(['PIPELINING'], 'smtp.example.test'), ...quitSteps]);
    const [f] = await runBannerHostname({ mxHost: 'mx.example.test', address: '127.0.0.1', port: s.port }, { ...testDeps, dns });
    expect(f).toMatchObject({ result: 'pass', reason: null, address: '127.0.0.1', detail: 'greeting and EHLO name smtp.example.test, the forward-confirmed PTR name' });
    expect(s.commands()).toEqual(['EHLO probe.example.test', 'QUIT']);
  });

  it('warns when the EHLO name differs (the PTR asked for dnsAddress, not the address connected to)', async () => {
    const s = await startScriptedServer([banner('220 mx.example.test ESMTP'), ...ehloSteps([], 'localhost.localdomain'), ...quitSteps]);
    const other = fakeSecureDns({});
    const [f] = await runBannerHostname({ mxHost: 'mx.example.test', address: '127.0.0.1', port: s.port, dnsAddress: '192.0.2.1' }, { ...testDeps, dns: other });
    expect(f).toMatchObject({ result: 'warn', reason: 'hostname-mismatch', address: '192.0.2.1' });
    expect(f!.detail).toBe('the 220 greeting says "mx.example.test", EHLO says "localhost.localdomain"; expected mx.example.test, the MX host name (no PTR)');
    expect(other.asked).toEqual([`${PTR} PTR`]);
  });

  it('warns when EHLO is refused (HELO-only server)', async () => {
    const s = await startScriptedServer([banner('220 mx.example.test'), ...reply(/^EHLO /, '502 5.5.1 EHLO not implemented'), ...quitSteps]);
    const [f] = await runBannerHostname({ mxHost: 'mx.example.test', address: '127.0.0.1', port: s.port }, { ...testDeps, dns: fakeSecureDns({}) });
    expect(f).toMatchObject({ result: 'warn', reason: 'hostname-mismatch' });
    expect(f!.detail).toContain('EHLO refused ("502 5.5.1 EHLO not implemented")');
  });

  it('n/a when the connection is refused, said so', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const [f] = await runBannerHostname({ mxHost: 'mx.example.test', address: '127.0.0.1', port }, { ...testDeps, dns: fakeSecureDns({}) });
    expect(f).toMatchObject({ result: 'n/a', reason: 'unreachable' });
    expect(f!.detail).toBe(`no greeting: connect: connection refused by 127.0.0.1:${port}`);
  });

  it('n/a when the greeting is not 220 (554: no service)', async () => {
    const s = await startScriptedServer([banner('554 5.3.2 mx.example.test no service'), ...quitSteps]);
    const [f] = await runBannerHostname({ mxHost: 'mx.example.test', address: '127.0.0.1', port: s.port }, { ...testDeps, dns: fakeSecureDns({}) });
    expect(f).toMatchObject({ result: 'n/a', reason: 'unreachable' });
    expect(f!.detail).toContain('554');
  });
});
