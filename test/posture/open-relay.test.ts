import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_OPEN_RELAY_OPTIONS, judgeOpenRelay, relayRecipients, runOpenRelay, type OpenRelaySeen, type RelayTry,
} from '../../checks/posture/open-relay.js';
import { closeAll } from '../helpers/cleanup.js';
import { startPostureServer, target, testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const where = { mxHost: 'mx.example.test', address: '192.0.2.1' };
const tryOf = (rcpt: number | null, mail = 250): RelayTry => ({
  from: '<>', to: '<relaytest@example.net>', mail: { code: mail, text: `${mail} m` }, rcpt: rcpt === null ? null : { code: rcpt, text: `${rcpt} r` },
});
const seen = (tries: RelayTry[], planned = tries.length, cutShort: string | null = null): OpenRelaySeen => ({ kind: 'tries', tries, planned, cutShort });

describe('judgeOpenRelay', () => {
  const rows: [string, OpenRelaySeen, string, string | null][] = [
    ['a RCPT accepted with 250', seen([tryOf(554), tryOf(250)], 26), 'fail', 'open-relay'],
    ['a RCPT accepted with 251', seen([tryOf(251)], 26), 'fail', 'open-relay'],
    ['530 authentication required', seen([tryOf(530)], 26), 'pass', null],
    ['530 to MAIL', seen([tryOf(null, 530)], 26), 'pass', null],
    ['every form refused 554', seen([tryOf(554), tryOf(554)]), 'pass', null],
    ['refused with 550 and 501', seen([tryOf(550), tryOf(501), tryOf(null, 553)]), 'pass', null],
    ['cut short, none accepted', seen([tryOf(554)], 26, 'rcpt: server closed the connection'), 'n/a', 'incomplete'],
    ['unreachable', { kind: 'unreachable', detail: 'connect: refused' }, 'n/a', 'unreachable'],
  ];
  it.each(rows)('%s → %s %s', (_, s, result, reason) => {
    expect(judgeOpenRelay(where, s)).toEqual([expect.objectContaining({ check: 'open_relay', result, reason })]);
  });

  it('names the accepted form', () => {
    const [f] = judgeOpenRelay(where, seen([{ ...tryOf(250), to: '<relaytest%example.net@[192.0.2.1]>' }], 26));
    expect(f!.detail).toBe('relayed: MAIL FROM:<> RCPT TO:<relaytest%example.net@[192.0.2.1]> → 250 r');
  });
});

describe('relayRecipients', () => {
  it('has the plain form and nmap smtp-open-relay tricks with the address literal and the MX name', () => {
    const r = relayRecipients(DEFAULT_OPEN_RELAY_OPTIONS, where);
    expect(r[0]).toBe('<relaytest@example.net>');
    expect(r).toContain('<relaytest%example.net@[192.0.2.1]>');
    expect(r).toContain('<"relaytest@example.net">');
    expect(r).toContain('<relaytest@example.net@mx.example.test>');
    expect(r).toContain('<@[192.0.2.1]:relaytest@example.net>');
    expect(r).toContain('<example.net!relaytest@mx.example.test>');
    expect(relayRecipients(DEFAULT_OPEN_RELAY_OPTIONS, { mxHost: 'mx', address: '::1' })).toContain('<relaytest%example.net@[IPv6:::1]>');
  });
});

describe('runOpenRelay over real sockets', () => {
  it('an accepting relay gets MAIL, RCPT and RSET only, never DATA, and is a fail', async () => {
    const s = await startPostureServer({ rcpt: () => '250 2.1.5 Ok' });
    const [f] = await runOpenRelay(target(s), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'open-relay' });
    expect(f!.detail).toContain('RCPT TO:<relaytest@example.net>');
    expect(s.commands()).toEqual(['EHLO probe.example.test', 'MAIL FROM:<>', 'RCPT TO:<relaytest@example.net>', 'RSET', 'QUIT']);
    const verbs = new Set(s.commands().map((c) => c.split(/[ :]/)[0]));
    expect([...verbs].sort()).toEqual(['EHLO', 'MAIL', 'QUIT', 'RCPT', 'RSET']);
    expect(s.text()).not.toMatch(/DATA|BDAT/);
  });

  it('a relay that accepts only a trick form is found on that form, with RSET between every try', async () => {
    const s = await startPostureServer({ rcpt: (arg) => (arg.includes('%') && arg.includes('mail.example.test') ? '250 ok' : '554 5.7.1 Relay access denied') });
    const [f] = await runOpenRelay(target(s), testDeps);
    expect(f).toMatchObject({ result: 'fail', reason: 'open-relay' });
    expect(f!.detail).toContain('<relaytest%example.net@mail.example.test>');
    const cmds = s.commands().filter((c) => !/^(EHLO|QUIT)/.test(c));
    expect(cmds).toEqual(['MAIL FROM:<>', 'RCPT TO:<relaytest@example.net>', 'RSET', 'MAIL FROM:<>', 'RCPT TO:<relaytest%example.net@[127.0.0.1]>', 'RSET',
      'MAIL FROM:<>', 'RCPT TO:<relaytest%example.net@mail.example.test>', 'RSET']);
    expect(s.text()).not.toContain('DATA');
  });

  it('a closed relay refusing every form passes after all 26 tries, over connections of 8 tries', async () => {
    const s = await startPostureServer({});
    const [f] = await runOpenRelay(target(s), testDeps);
    expect(f).toMatchObject({ result: 'pass', reason: null, detail: 'all 26 forms refused (554)' });
    expect(s.commands().filter((c) => c.startsWith('RCPT'))).toHaveLength(26);
    expect(s.commands().filter((c) => c.startsWith('MAIL FROM:<relaytest@example.net>'))).toHaveLength(13);
    expect(s.connections).toHaveLength(4);
    expect(s.text()).not.toContain('DATA');
  });

  it('530 to RCPT (authentication required) is not open: pass, and stops at once', async () => {
    const s = await startPostureServer({ rcpt: () => '530 5.7.0 Authentication required' });
    const [f] = await runOpenRelay(target(s), testDeps);
    expect(f).toMatchObject({ result: 'pass', reason: null });
    expect(f!.detail).toContain('authentication required');
    expect(s.commands().filter((c) => c.startsWith('RCPT'))).toHaveLength(1);
  });
});
