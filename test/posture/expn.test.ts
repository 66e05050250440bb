import { afterEach, describe, expect, it } from 'vitest';
import { judgeExpn, runExpn } from '../../checks/posture/expn.js';
import type { VerifySeen } from '../../checks/posture/verify.js';
import { closeAll } from '../helpers/cleanup.js';
import { startPostureServer, target, testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const where = { mxHost: 'mx.example.test', address: '192.0.2.1' };
const said = (...codes: number[]): VerifySeen => ({
  kind: 'answers',
  answers: codes.map((code) => ({ command: 'EXPN postmaster', code, text: `${code} text` })),
});

describe('judgeExpn', () => {
  const rows: [string, VerifySeen, string, string | null][] = [
    ['250 list expanded', said(250), 'fail', 'expn-enabled'],
    ['252', said(252, 252), 'pass', null],
    ['502', said(502, 502), 'pass', null],
    ['550', said(550, 550), 'pass', null],
    ['530', said(530, 530), 'pass', null],
    ['421 only', said(421), 'n/a', 'no-answer'],
    ['unreachable', { kind: 'unreachable', detail: 'banner: closed' }, 'n/a', 'unreachable'],
  ];
  it.each(rows)('%s → %s %s', (_, seen, result, reason) => {
    expect(judgeExpn(where, seen)).toEqual([expect.objectContaining({ check: 'expn', result, reason })]);
  });
});

describe('runExpn over real sockets', () => {
  it('fails when EXPN expands the probe name with 250', async () => {
    const s = await startPostureServer({ expn: (who) => (who === 'smtp-probe' ? '250 2.1.5 <ops@mx.example.test>' : '550 5.1.1 no such list') });
    const [f] = await runExpn(target(s), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'expn-enabled' });
    expect(f!.detail).toContain('EXPN smtp-probe → 250');
  });

  it('passes on 502', async () => {
    const s = await startPostureServer({});
    const [f] = await runExpn(target(s), testDeps);
    expect(f).toMatchObject({ result: 'pass', reason: null });
    expect(s.commands()).toEqual(['EHLO probe.example.test', 'EXPN postmaster', 'EXPN smtp-probe', 'QUIT']);
  });
});
