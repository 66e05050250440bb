import { afterEach, describe, expect, it } from 'vitest';
import { judgeStarttls, runStarttls, type StarttlsSeen } from '../../checks/posture/starttls.js';
import { closeAll } from '../helpers/cleanup.js';
import { serverCert } from '../helpers/certs.js';
import { STRONG, startPostureServer, target, testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const where = { mxHost: 'mx.example.test', address: '192.0.2.1' };

describe('judgeStarttls', () => {
  const rows: [string, StarttlsSeen, string, string | null][] = [
    ['upgraded', { kind: 'tls', version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, 'pass', null],
    ['not advertised', { kind: 'no-starttls', detail: 'STARTTLS not advertised in EHLO' }, 'fail', 'starttls-not-supported'],
    ['handshake fails', { kind: 'handshake-failed', detail: 'tls_upgrade: TLS handshake failed' }, 'fail', 'validation-failure'],
    ['unreachable', { kind: 'unreachable', detail: 'connect: refused' }, 'n/a', 'unreachable'],
  ];
  it.each(rows)('%s → %s %s', (_, seen, result, reason) => {
    const [f] = judgeStarttls(where, seen);
    expect(f).toMatchObject({ check: 'starttls', scope: 'address', mxHost: 'mx.example.test', address: '192.0.2.1', result, reason });
  });
});

describe('runStarttls over real sockets', () => {
  it('passes when STARTTLS is advertised and the handshake works', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert(), options: STRONG } });
    const [f] = await runStarttls(target(s), testDeps);
    expect(f).toMatchObject({ result: 'pass', reason: null });
    expect(f!.detail).toMatch(/TLSv1\.[23]/);
    expect(s.commands()).toEqual(['EHLO probe.example.test', 'STARTTLS', 'QUIT']);
  });

  it('fails starttls-not-supported when not advertised, and never sends STARTTLS', async () => {
    const s = await startPostureServer({ caps: ['PIPELINING'] });
    const [f] = await runStarttls(target(s), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'starttls-not-supported' });
    expect(s.commands()).not.toContain('STARTTLS');
  });

  it('fails starttls-not-supported when STARTTLS is refused with 454', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert() }, starttlsReply: '454 4.7.0 TLS not available' });
    const [f] = await runStarttls(target(s), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'starttls-not-supported' });
    expect(f!.detail).toContain('454');
  });

  it('fails validation-failure when the handshake fails (server speaks only TLS 1.0)', async () => {
    const only10 = { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
    const s = await startPostureServer({ tls: { pair: serverCert(), options: only10 } });
    const [f] = await runStarttls(target(s), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'validation-failure' });
  });

  it('is n/a (unreachable) when nothing listens', async () => {
    const s = await startPostureServer({});
    const port = s.port;
    await s.close();
    const [f] = await runStarttls({ mxHost: 'mx', address: '127.0.0.1', port }, testDeps);
    expect(f).toMatchObject({ result: 'n/a', reason: 'unreachable' });
    expect(f!.detail).toContain('refused');
  });
});
