import { afterEach, describe, expect, it } from 'vitest';
import { judgeVrfy, runVrfy } from '../../checks/posture/vrfy.js';
import type { VerifySeen } from '../../checks/posture/verify.js';
import { closeAll } from '../helpers/cleanup.js';
import { startPostureServer, target, testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const where = { mxHost: 'mx.example.test', address: '192.0.2.1' };
const said = (...codes: number[]): VerifySeen => ({
  kind: 'answers',
  answers: codes.map((code, i) => ({ command: `VRFY ${i === 0 ? 'postmaster' : 'smtp-probe'}`, code, text: `${code} text` })),
});

describe('judgeVrfy', () => {
  const rows: [string, VerifySeen, string, string | null][] = [
    ['250 for postmaster', said(250), 'fail', 'vrfy-enabled'],
    ['252 then 250 for the probe name', said(252, 250), 'fail', 'vrfy-enabled'],
    ['251 (will forward)', said(251), 'fail', 'vrfy-enabled'],
    ['252 cannot verify', said(252, 252), 'pass', null],
    ['502 disabled', said(502, 502), 'pass', null],
    ['550 unknown', said(550, 550), 'pass', null],
    ['530 auth required', said(530, 530), 'pass', null],
    ['other 5xx (554)', said(554, 554), 'pass', null],
    ['only 4xx', said(450, 450), 'n/a', 'no-answer'],
    ['unreachable', { kind: 'unreachable', detail: 'connect: refused' }, 'n/a', 'unreachable'],
  ];
  it.each(rows)('%s → %s %s', (_, seen, result, reason) => {
    expect(judgeVrfy(where, seen)).toEqual([expect.objectContaining({ check: 'vrfy', result, reason })]);
  });
});

describe('runVrfy over real sockets', () => {
  it('fails when VRFY confirms postmaster with 250, naming the answer', async () => {
    const s = await startPostureServer({ vrfy: (who) => (who === 'postmaster' ? '250 2.0.0 <postmaster@mx.example.test>' : '550 5.1.1 unknown') });
    const [f] = await runVrfy(target(s), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'vrfy-enabled' });
    expect(f!.detail).toContain('VRFY postmaster → 250 2.0.0 <postmaster@mx.example.test>');
    expect(s.commands()).toEqual(['EHLO probe.example.test', 'VRFY postmaster', 'QUIT']);
  });

  it('passes on 252 for both names, having asked both', async () => {
    const s = await startPostureServer({ vrfy: () => '252 2.0.0 Cannot VRFY user' });
    const [f] = await runVrfy(target(s), testDeps);
    expect(f).toMatchObject({ result: 'pass', reason: null });
    expect(s.commands()).toEqual(['EHLO probe.example.test', 'VRFY postmaster', 'VRFY smtp-probe', 'QUIT']);
  });

  it('passes on 502 (VRFY disabled)', async () => {
    const s = await startPostureServer({});
    const [f] = await runVrfy(target(s), testDeps);
    expect(f).toMatchObject({ result: 'pass' });
    expect(f!.detail).toContain('502');
  });
});
