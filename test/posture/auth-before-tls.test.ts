import { afterEach, describe, expect, it } from 'vitest';
import { judgeAuthBeforeTls, runAuthBeforeTls, type AuthBeforeTlsSeen } from '../../checks/posture/auth-before-tls.js';
import { closeAll } from '../helpers/cleanup.js';
import { serverCert } from '../helpers/certs.js';
import { startPostureServer, target, testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const where = { mxHost: 'mx.example.test', address: '192.0.2.1' };
const ehlo = (caps: Record<string, string> | null): AuthBeforeTlsSeen => ({ kind: 'ehlo', caps, implicitTls: false });

describe('judgeAuthBeforeTls', () => {
  const rows: [string, AuthBeforeTlsSeen, string, string | null][] = [
    ['no AUTH', ehlo({ PIPELINING: '', STARTTLS: '' }), 'pass', null],
    ['AUTH PLAIN LOGIN', ehlo({ AUTH: 'PLAIN LOGIN' }), 'fail', 'auth-before-tls'],
    ['AUTH LOGIN only', ehlo({ AUTH: 'LOGIN' }), 'fail', 'auth-before-tls'],
    ['AUTH CRAM-MD5 SCRAM-SHA-256', ehlo({ AUTH: 'CRAM-MD5 SCRAM-SHA-256' }), 'warn', 'auth-before-tls'],
    ['AUTH with no mechanism', ehlo({ AUTH: '' }), 'warn', 'auth-before-tls'],
    ['EHLO refused', ehlo(null), 'pass', null],
    ['implicit TLS', { kind: 'ehlo', caps: null, implicitTls: true }, 'n/a', null],
    ['unreachable', { kind: 'unreachable', detail: 'connect: refused' }, 'n/a', 'unreachable'],
  ];
  it.each(rows)('%s → %s %s', (_, seen, result, reason) => {
    expect(judgeAuthBeforeTls(where, seen)).toEqual([expect.objectContaining({ check: 'auth_before_tls', result, reason })]);
  });
});

describe('runAuthBeforeTls over real sockets', () => {
  it('fails when AUTH PLAIN is offered before STARTTLS, and never authenticates', async () => {
    const s = await startPostureServer({ caps: ['AUTH PLAIN LOGIN'], capsTls: ['AUTH PLAIN LOGIN'], tls: { pair: serverCert() } });
    const [f] = await runAuthBeforeTls(target(s), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'auth-before-tls' });
    expect(f!.detail).toContain('PLAIN LOGIN');
    expect(s.commands()).toEqual(['EHLO probe.example.test', 'QUIT']);
  });

  it('passes when AUTH appears only after STARTTLS', async () => {
    const s = await startPostureServer({ caps: ['PIPELINING'], capsTls: ['AUTH PLAIN LOGIN'], tls: { pair: serverCert() } });
    const [f] = await runAuthBeforeTls(target(s), testDeps);
    expect(f).toMatchObject({ result: 'pass', reason: null, detail: 'no AUTH before STARTTLS' });
  });
});
