import { afterEach, describe, expect, it } from 'vitest';
import { judgeTlsVersions, runTlsVersions, type TlsVersionsSeen } from '../../checks/posture/tls-versions.js';
import type { HelloOutcome } from '../../checks/posture/smtp.js';
import { closeAll } from '../helpers/cleanup.js';
import { serverCert } from '../helpers/certs.js';
import { STRONG, startPostureServer, target, testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const where = { mxHost: 'mx.example.test', address: '192.0.2.1' };
const acc: HelloOutcome = { kind: 'accepted', version: 'TLSv1', cipher: 'ECDHE-RSA-AES256-SHA' };
const ref: HelloOutcome = { kind: 'refused', detail: 'tls_upgrade: TLS handshake failed: alert protocol version' };
const una: HelloOutcome = { kind: 'unavailable', detail: 'this OpenSSL cannot offer it' };
const both = (a: HelloOutcome, b: HelloOutcome): TlsVersionsSeen => [{ version: 'TLSv1', outcome: a }, { version: 'TLSv1.1', outcome: b }];

describe('judgeTlsVersions', () => {
  const rows: [string, TlsVersionsSeen, string, string | null][] = [
    ['both refused', both(ref, ref), 'pass', null],
    ['TLS 1.0 accepted', both(acc, ref), 'fail', 'legacy-tls'],
    ['TLS 1.1 accepted', both(ref, { ...acc, version: 'TLSv1.1' } as HelloOutcome), 'fail', 'legacy-tls'],
    ['both accepted', both(acc, acc), 'fail', 'legacy-tls'],
    ['TLS 1.0 cannot be offered', both(una, ref), 'n/a', 'cannot-offer'],
    ['no STARTTLS', [{ version: 'TLSv1', outcome: { kind: 'no-starttls', detail: 'STARTTLS not advertised in EHLO' } }], 'n/a', 'starttls-not-supported'],
    ['unreachable', [{ version: 'TLSv1', outcome: { kind: 'unreachable', detail: 'connect: refused' } }], 'n/a', 'unreachable'],
    ['unreachable on the second try', both(ref, { kind: 'unreachable', detail: 'connect: refused' }), 'n/a', 'unreachable'],
  ];
  it.each(rows)('%s → %s %s', (_, seen, result, reason) => {
    const [f] = judgeTlsVersions(where, seen);
    expect(f).toMatchObject({ check: 'tls_versions', result, reason });
  });

  it('says SSLv3 was not tested, even on a pass', () => {
    expect(judgeTlsVersions(where, both(ref, ref))[0]!.detail).toContain("SSLv3 not tested (n/a): Node's OpenSSL has no SSLv3");
  });
});

describe('runTlsVersions over real sockets', () => {
  it('fails against a server with TLS 1.0 enabled (minVersion TLSv1), naming the version', async () => {
    const legacy = { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' } as const;
    const s = await startPostureServer({ tls: { pair: serverCert(), options: legacy } });
    const [f] = await runTlsVersions(target(s), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'legacy-tls' });
    expect(f!.detail).toMatch(/accepted TLSv1 \(.+\), TLSv1\.1 \(.+\)/);
    expect(s.connections).toHaveLength(2);
  });

  it('passes against a server with TLS 1.2 as its minimum, each version on its own connection', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert(), options: STRONG } });
    const [f] = await runTlsVersions(target(s), testDeps);
    expect(f).toMatchObject({ result: 'pass', reason: null });
    expect(s.connections).toHaveLength(2);
    expect(s.commands().filter((c) => c === 'STARTTLS')).toHaveLength(2);
  });

  it('is n/a without STARTTLS', async () => {
    const s = await startPostureServer({});
    const [f] = await runTlsVersions(target(s), testDeps);
    expect(f).toMatchObject({ result: 'n/a', reason: 'starttls-not-supported' });
  });
});
