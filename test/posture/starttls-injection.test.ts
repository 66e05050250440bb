import { afterEach, describe, expect, it } from 'vitest';
import { judgeStarttlsInjection, runStarttlsInjection, type StarttlsInjectionSeen } from '../../checks/posture/starttls-injection.js';
import { closeAll } from '../helpers/cleanup.js';
import { serverCert } from '../helpers/certs.js';
import { STRONG, startPostureServer, target, testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const where = { mxHost: 'mx.example.test', address: '192.0.2.1' };

describe('judgeStarttlsInjection', () => {
  const rows: [string, StarttlsInjectionSeen, string, string | null][] = [
    ['NOOP answered inside TLS', { kind: 'answered', reply: '250 2.0.0 Ok' }, 'fail', 'starttls-injection'],
    ['silence inside TLS', { kind: 'silent', waitedMs: 2000, discardedBytes: 0 }, 'pass', null],
    ['plaintext answer dropped, silence inside TLS', { kind: 'silent', waitedMs: 2000, discardedBytes: 14 }, 'pass', null],
    ['no STARTTLS', { kind: 'no-starttls', detail: 'STARTTLS not advertised in EHLO' }, 'n/a', 'starttls-not-supported'],
    ['handshake failed', { kind: 'handshake-failed', detail: 'tls_upgrade: TLS handshake failed' }, 'n/a', 'validation-failure'],
    ['unreachable', { kind: 'unreachable', detail: 'connect: refused' }, 'n/a', 'unreachable'],
  ];
  it.each(rows)('%s → %s %s', (_, seen, result, reason) => {
    expect(judgeStarttlsInjection(where, seen)).toEqual([expect.objectContaining({ check: 'starttls_injection', result, reason })]);
  });
});

describe('runStarttlsInjection over real sockets', () => {
  it('fails against a server that answers the pipelined NOOP inside TLS; STARTTLS and NOOP arrived in one write', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert(), options: STRONG }, injectionVulnerable: true });
    const [f] = await runStarttlsInjection(target(s), testDeps, { waitMs: 3_000 });
    expect(f).toMatchObject({ result: 'fail', reason: 'starttls-injection' });
    expect(f!.detail).toContain('250 2.0.0 Ok');
    const [st, noop] = s.conn.lines.filter((l) => l.text === 'STARTTLS' || l.text === 'NOOP');
    expect(st!.chunk).toBe(noop!.chunk);
    expect(noop!.tls).toBe(false);
  });

  it('passes against a server that drops plaintext input at STARTTLS, having sent nothing inside TLS', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert(), options: STRONG } });
    const [f] = await runStarttlsInjection(target(s), testDeps, { waitMs: 300 });
    expect(f).toMatchObject({ result: 'pass', reason: null });
    expect(f!.detail).toMatch(/^no reply inside TLS within \d+ ms$/);
    expect(s.conn.lines.filter((l) => l.tls)).toEqual([]);
  });

  it('is n/a without STARTTLS, and sends no STARTTLS', async () => {
    const s = await startPostureServer({});
    const [f] = await runStarttlsInjection(target(s), testDeps, { waitMs: 300 });
    expect(f).toMatchObject({ result: 'n/a', reason: 'starttls-not-supported' });
    expect(s.commands()).not.toContain('STARTTLS');
  });
});
