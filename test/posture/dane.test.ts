import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { judgeDane, runDane, tlsaName, type DaneSeen, type DaneSession, type TlsaLookup, type TlsaSeen } from '../../checks/posture/dane.js';
import { associationData, type TlsaData } from '../../checks/posture/tlsa.js';
import { closeAll } from '../helpers/cleanup.js';
import { expiredCert, serverCert, testCa, wrongNameCert } from '../helpers/certs.js';
import { STRONG, startPostureServer, target, testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const MX = 'mail.example.test';
const where = { mxHost: MX, address: '192.0.2.1' };
const NOW = Date.now() + 60_000; // the generated certificates start at test time
const der = (pem: string): Buffer => new X509Certificate(pem).raw;
const rec = (usage: number, selector: number, matchingType: number, certPem: string): TlsaData =>
  ({ usage, selector, matchingType, data: associationData(der(certPem), selector, matchingType)! });
const tlsa = (records: TlsaData[], over: Partial<TlsaSeen> = {}): TlsaSeen =>
  ({ name: tlsaName(MX, 25), rcode: 'NOERROR', ad: true, error: null, records, detail: `NOERROR, ${records.length} record(s)`, ...over });
const chainOf = (leafPem: string): DaneSession => ({ kind: 'tls', chain: [der(leafPem), der(testCa().cert)] });
const seen = (t: TlsaSeen | null, session: DaneSession, over: Partial<DaneSeen> = {}): DaneSeen =>
  ({ mxSecure: true, addressSecure: true, tlsa: t, session, ...over });

describe('judgeDane', () => {
  const leaf = (): string => serverCert().cert;
  const ca = (): string => testCa().cert;
  const rows: [string, () => DaneSeen, number, string, string | null][] = [
    ['MX RRset not validated', () => seen(null, { kind: 'skipped' }, { mxSecure: false }), NOW, 'n/a', 'insecure'],
    ['A/AAAA not validated', () => seen(null, { kind: 'skipped' }, { addressSecure: false }), NOW, 'n/a', 'insecure'],
    ['TLSA insecure (AD=0, NOERROR)', () => seen(tlsa([rec(3, 1, 1, leaf())], { ad: false }), chainOf(leaf())), NOW, 'n/a', 'insecure'],
    ['TLSA SERVFAIL (bogus)', () => seen(tlsa([], { rcode: 'SERVFAIL', ad: false }), { kind: 'skipped' }), NOW, 'fail', 'dnssec-invalid'],
    ['TLSA lookup timed out', () => seen(tlsa([], { rcode: null, ad: false, error: 'timeout' }), { kind: 'skipped' }), NOW, 'fail', 'dnssec-invalid'],
    ['validated NXDOMAIN', () => seen(tlsa([], { rcode: 'NXDOMAIN' }), { kind: 'skipped' }), NOW, 'n/a', 'no-tlsa'],
    ['validated NODATA', () => seen(tlsa([]), { kind: 'skipped' }), NOW, 'n/a', 'no-tlsa'],
    ['only PKIX usages 0/1', () => seen(tlsa([rec(0, 0, 1, ca()), rec(1, 1, 1, leaf())]), chainOf(leaf())), NOW, 'n/a', 'no-usable-tlsa'],
    ['only PKIX usages, no STARTTLS', () => seen(tlsa([rec(1, 1, 1, leaf())]), { kind: 'no-starttls', detail: 'STARTTLS not advertised in EHLO' }), NOW, 'fail', 'dane-required'],
    ['usable TLSA, no STARTTLS', () => seen(tlsa([rec(3, 1, 1, leaf())]), { kind: 'no-starttls', detail: 'STARTTLS not advertised in EHLO' }), NOW, 'fail', 'dane-required'],
    ['handshake fails', () => seen(tlsa([rec(3, 1, 1, leaf())]), { kind: 'handshake-failed', detail: 'tls_upgrade: TLS handshake failed' }), NOW, 'fail', 'validation-failure'],
    ['unreachable', () => seen(tlsa([rec(3, 1, 1, leaf())]), { kind: 'unreachable', detail: 'connect: refused' }), NOW, 'n/a', 'unreachable'],
    ['3 1 1 matches the leaf', () => seen(tlsa([rec(3, 1, 1, leaf())]), chainOf(leaf())), NOW, 'pass', null],
    ['3 0 2 matches the leaf', () => seen(tlsa([rec(3, 0, 2, leaf())]), chainOf(leaf())), NOW, 'pass', null],
    ['3 0 0 matches the leaf', () => seen(tlsa([rec(3, 0, 0, leaf())]), chainOf(leaf())), NOW, 'pass', null],
    ['3 1 1 stale (another key)', () => seen(tlsa([rec(3, 1, 1, wrongNameCert().cert)]), chainOf(leaf())), NOW, 'fail', 'tlsa-invalid'],
    ['3 1 1 on the CA does not match (EE is the leaf only)', () => seen(tlsa([rec(3, 1, 1, ca())]), chainOf(leaf())), NOW, 'fail', 'tlsa-invalid'],
    ['DANE-EE skips the name', () => seen(tlsa([rec(3, 1, 1, wrongNameCert().cert)]), chainOf(wrongNameCert().cert)), NOW, 'pass', null],
    ['DANE-EE skips the dates', () => seen(tlsa([rec(3, 1, 1, expiredCert().cert)]), chainOf(expiredCert().cert)), NOW, 'pass', null],
    ['2 0 1 matches the CA', () => seen(tlsa([rec(2, 0, 1, ca())]), chainOf(leaf())), NOW, 'pass', null],
    ['2 1 1 matches the CA', () => seen(tlsa([rec(2, 1, 1, ca())]), chainOf(leaf())), NOW, 'pass', null],
    ['2 x x on the leaf does not match (TA is above the leaf)', () => seen(tlsa([rec(2, 0, 1, leaf())]), chainOf(leaf())), NOW, 'fail', 'tlsa-invalid'],
    ['DANE-TA, CA not sent', () => seen(tlsa([rec(2, 0, 1, ca())]), { kind: 'tls', chain: [der(leaf())] }), NOW, 'fail', 'tlsa-invalid'],
    ['DANE-TA, leaf for another name', () => seen(tlsa([rec(2, 0, 1, ca())]), chainOf(wrongNameCert().cert)), NOW, 'fail', 'certificate-host-mismatch'],
    ['DANE-TA, leaf expired', () => seen(tlsa([rec(2, 0, 1, ca())]), chainOf(expiredCert().cert)), NOW, 'fail', 'certificate-expired'],
    ['DANE-TA, --at after the leaf ends', () => seen(tlsa([rec(2, 0, 1, ca())]), chainOf(leaf())), NOW + 400 * 86_400_000, 'fail', 'certificate-expired'],
    ['unusable and usable: the usable one decides', () => seen(tlsa([rec(1, 1, 1, leaf()), rec(3, 1, 1, wrongNameCert().cert)]), chainOf(leaf())), NOW, 'fail', 'tlsa-invalid'],
  ];
  it.each(rows)('%s → %s %s', (_, make, at, result, reason) => {
    const [f, ...more] = judgeDane(where, make(), at);
    expect(more).toEqual([]);
    expect(f).toMatchObject({ check: 'dane', scope: 'address', mxHost: MX, address: '192.0.2.1', result, reason });
  });

  it('fails validation-failure when the certificate below the anchor is not issued by it', () => {
    const other = wrongNameCert().cert; // not a CA, not the leaf's issuer
    const chain = [der(serverCert().cert), der(other), der(testCa().cert)];
    const [f] = judgeDane(where, seen(tlsa([rec(2, 0, 1, testCa().cert)]), { kind: 'tls', chain }), NOW);
    expect(f).toMatchObject({ result: 'fail', reason: 'validation-failure' });
    const [ok] = judgeDane(where, seen(tlsa([rec(2, 0, 1, testCa().cert)]), chainOf(serverCert().cert)), NOW);
    expect(ok).toMatchObject({ result: 'pass', reason: null });
  });
});

/** A TLSA lookup giving one answer (validated NOERROR unless told), counting what was asked. */
function fakeDns(answer: Partial<Awaited<ReturnType<TlsaLookup>>>): { dns: TlsaLookup; asked: string[] } {
  const asked: string[] = [];
  const dns: TlsaLookup = async (qname) => {
    asked.push(`${qname} TLSA`);
    return { name: qname, rcode: 'NOERROR', ad: true, records: [], error: null, detail: 'NOERROR', ...answer };
  };
  return { dns, asked };
}

describe('runDane over real sockets', () => {
  const chained = () => ({ cert: `${serverCert().cert}${testCa().cert}`, key: serverCert().key });

  it('passes 3 1 1 and 2 0 1 against the chain the server sends, fails a stale 3 1 1', async () => {
    const s = await startPostureServer({ tls: { pair: chained(), options: STRONG } });
    const run = async (records: TlsaData[]) => {
      const { dns, asked } = fakeDns({ records });
      const out = await runDane({ ...target(s), mxSecure: true, addressSecure: true }, { ...testDeps, tlsa: dns });
      expect(asked).toEqual([`_${s.port}._tcp.${MX} TLSA`]);
      return out;
    };
    expect(await run([rec(3, 1, 1, serverCert().cert)])).toMatchObject([{ result: 'pass', reason: null }]);
    expect(await run([rec(2, 0, 1, testCa().cert)])).toMatchObject([{ result: 'pass', reason: null }]);
    expect(await run([rec(3, 1, 1, wrongNameCert().cert)])).toMatchObject([{ result: 'fail', reason: 'tlsa-invalid' }]);
  });

  it('fails dane-required when TLSA exists and STARTTLS is not offered; never connects for a bogus TLSA', async () => {
    const s = await startPostureServer({ tls: { pair: chained(), options: STRONG }, advertiseStarttls: false });
    const t = { ...target(s), mxSecure: true, addressSecure: true };
    const { dns } = fakeDns({ records: [rec(3, 1, 1, serverCert().cert)] });
    expect(await runDane(t, { ...testDeps, tlsa: dns })).toMatchObject([{ result: 'fail', reason: 'dane-required' }]);
    expect(s.commands()).toContain('EHLO probe.example.test');
    const before = s.commands().length;
    const bogus = fakeDns({ rcode: 'SERVFAIL', ad: false, detail: 'SERVFAIL (EDE 6 DNSSEC Bogus)' });
    expect(await runDane(t, { ...testDeps, tlsa: bogus.dns })).toMatchObject([{ result: 'fail', reason: 'dnssec-invalid' }]);
    expect(s.commands().length).toBe(before);
  });

  it('matches DANE-TA only against what the server sent: the leaf alone fails 2 0 1 of its CA, even with --ca given', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert(), options: STRONG } });
    const { dns } = fakeDns({ records: [rec(2, 0, 1, testCa().cert)] });
    const t = { ...target(s, { ca: testCa().cert }), mxSecure: true, addressSecure: true };
    expect(await runDane(t, { ...testDeps, tlsa: dns })).toMatchObject([{ result: 'fail', reason: 'tlsa-invalid' }]);
    const ee = fakeDns({ records: [rec(3, 1, 1, serverCert().cert)] });
    expect(await runDane(t, { ...testDeps, tlsa: ee.dns })).toMatchObject([{ result: 'pass' }]);
  });

  it('asks nothing and connects nowhere when the MX or address answer was not validated', async () => {
    const s = await startPostureServer({ tls: { pair: chained(), options: STRONG } });
    const { dns, asked } = fakeDns({ records: [rec(3, 1, 1, serverCert().cert)] });
    const insecureMx = await runDane({ ...target(s), mxSecure: false, addressSecure: true }, { ...testDeps, tlsa: dns });
    const insecureA = await runDane({ ...target(s), mxSecure: true, addressSecure: false }, { ...testDeps, tlsa: dns });
    expect([...insecureMx, ...insecureA]).toMatchObject([{ result: 'n/a', reason: 'insecure' }, { result: 'n/a', reason: 'insecure' }]);
    expect(asked).toEqual([]);
    expect(s.commands()).toEqual([]);
    expect(await runDane({ ...target(s), mxSecure: true, addressSecure: true }, { ...testDeps, tlsa: dns })).toMatchObject([{ result: 'pass' }]);
    expect(s.commands()).toContain('STARTTLS');
  });

  it('judges the chain as of --at: a DANE-TA pass today fails a date after the leaf ends', async () => {
    const s = await startPostureServer({ tls: { pair: chained(), options: STRONG } });
    const t = { ...target(s), mxSecure: true, addressSecure: true };
    const { dns } = fakeDns({ records: [rec(2, 1, 1, testCa().cert)] });
    expect(await runDane(t, { ...testDeps, tlsa: dns })).toMatchObject([{ result: 'pass' }]);
    const later = Date.now() + 400 * 86_400_000;
    expect(await runDane(t, { ...testDeps, tlsa: dns }, { at: later })).toMatchObject([{ result: 'fail', reason: 'certificate-expired' }]);
  });
});
