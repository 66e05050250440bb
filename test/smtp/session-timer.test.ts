import { afterEach, describe, expect, it } from 'vitest';
import { ProbeError } from '../../src/core/errors.js';
import { SmtpSession } from '../../src/smtp/session.js';
import { closeAll } from '../helpers/cleanup.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { banner, startScriptedServer, type ScriptStep } from '../helpers/scripted-server.js';

afterEach(closeAll);

const PHASE_MS = 1000;

/** A session on a scripted server whose timers run on a manual clock; the banner already read. */
async function opened(script: ScriptStep[]): Promise<{ clock: ManualClock; session: SmtpSession }> {
  const server = await startScriptedServer([banner(), ...script]);
  const clock = new ManualClock();
  const session = new SmtpSession({ signal: new AbortController().signal, phaseTimeoutMs: PHASE_MS, clock });
  await session.open('127.0.0.1', server.port);
  expect((await session.read('banner')).code).toBe(220);
  return { clock, session };
}

/** What a promise has come to so far: 'pending', 'resolved' or the error it rejected with. */
function watch<T>(p: Promise<T>): () => 'pending' | 'resolved' | ProbeError {
  let state: 'pending' | 'resolved' | ProbeError = 'pending';
  p.then(
    () => (state = 'resolved'),
    (e: ProbeError) => (state = e),
  );
  return () => state;
}

describe('SmtpSession: the timeout of each read', () => {
  it('runs from the start of that read, however long the reads before it took', async () => {
    const { clock, session } = await opened([{ expect: /^EHLO/ }, { silence: true }]);
    await clock.advance(800);
    session.send(['EHLO probe.example.test'], 'ehlo');
    const state = watch(session.read('ehlo'));
    await clock.advance(PHASE_MS - 1); // a full phase timeout after the banner read began: not this read's
    expect(state()).toBe('pending');
    await clock.advance(1);
    const e = state();
    expect(e).toBeInstanceOf(ProbeError);
    expect(e).toMatchObject({ reason: 'timeout', phase: 'ehlo', message: `no reply within ${PHASE_MS} ms during ehlo` });
    session.close();
  });

  it('a read given a shorter timeout (the drain after a failure) ends sooner', async () => {
    const { clock, session } = await opened([{ expect: /^EHLO/ }, { silence: true }]);
    session.send(['EHLO probe.example.test'], 'ehlo');
    const state = watch(session.read('ehlo', 200));
    await clock.advance(199);
    expect(state()).toBe('pending');
    await clock.advance(1);
    expect(state()).toMatchObject({ reason: 'timeout', phase: 'ehlo', message: 'no reply within 200 ms during ehlo' });
    session.close();
  });

  it('a reply in time: no timeout later, and no timer left once the session is closed', async () => {
    const { clock, session } = await opened([{ expect: /^NOOP/ }, { send: '250 2.0.0 Ok\r\n' }]);
    session.send(['NOOP'], 'noop');
    expect((await session.read('noop')).code).toBe(250);
    await clock.advance(5 * PHASE_MS);
    expect(session.isOpen).toBe(true);
    session.close();
    expect(clock.pending).toBe(0);
  });
});
