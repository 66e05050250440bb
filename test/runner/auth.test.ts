import { afterEach, describe, expect, it } from 'vitest';
import type { AuthPlan } from '../../src/core/plan.js';
import { makeSend } from '../../src/plan/build.js';
import type { SaslMechanism } from '../../src/core/sasl.js';
import { closeAll } from '../helpers/cleanup.js';
import { selfSignedCert, serverCert } from '../helpers/certs.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { authPlan, b64, exp, localPlan, phaseNames, probe, trustedTls } from '../helpers/plans.js';
import { banner, ehloSteps, quitSteps, reply, startScriptedServer, type ScriptStep } from '../helpers/scripted-server.js';

afterEach(closeAll);

const oneRecipient = makeSend({ from: 'probe@example.test', to: ['a@example.test'] });

/** Plaintext opening offering these AUTH mechanisms (tests allow plaintext to see the exact bytes). */
const opening = (mechs: string): ScriptStep[] => [banner(), ...ehloSteps([`AUTH ${mechs}`, '8BITMIME'])];
const plaintext = (username: string, password: string, mechanism: SaslMechanism | null = null): AuthPlan =>
  authPlan(username, password, { mechanism, allowPlaintext: true });

describe('AUTH against fake-mx (over STARTTLS)', () => {
  const users = { 'probe@example.test': 'correct horse' };

  for (const mechanism of ['PLAIN', 'LOGIN'] as const) {
    it(`${mechanism} with the right password: ok, mechanism recorded`, async () => {
      const mx = await startFakeMx({ users, authMethods: ['PLAIN', 'LOGIN'] });
      const r = await probe(
        localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls(), auth: authPlan('probe@example.test', 'correct horse', { mechanism }) }),
      );
      expect(r.failure).toBeNull();
      expect(r.phases.find((p) => p.phase === 'auth')).toMatchObject({ ok: true, code: 235, mechanism });
      expect(mx.auths).toEqual([{ method: mechanism, username: 'probe@example.test', ok: true }]);
    });
  }

  it('CRAM-MD5 and XOAUTH2 against fake-mx', async () => {
    const mx = await startFakeMx({ users, authMethods: ['CRAM-MD5', 'XOAUTH2'] });
    for (const mechanism of ['CRAM-MD5', 'XOAUTH2'] as const) {
      const r = await probe(
        localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls(), auth: authPlan('probe@example.test', 'correct horse', { mechanism }) }),
      );
      expect(r.failure).toBeNull();
    }
    expect(mx.auths.map((a) => [a.method, a.ok])).toEqual([['CRAM-MD5', true], ['XOAUTH2', true]]);
  });

  it('a wrong password: auth / reply 535 5.7.8; no MAIL follows', async () => {
    const mx = await startFakeMx({ users });
    const r = await probe(
      localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls(), auth: authPlan('probe@example.test', 'wrong'), send: oneRecipient }),
    );
    expect(r.failure).toMatchObject({ phase: 'auth', reason: 'reply', code: 535, enhancedCode: '5.7.8' });
    expect(r.failure?.message).toMatch(/^535 5\.7\.8 /);
    expect(phaseNames(r)).not.toContain('mail');
    expect(mx.received).toEqual([]);
  });

  it('allowPlaintext: fake-mx without STARTTLS accepts AUTH over plaintext', async () => {
    const mx = await startFakeMx({ users, hideSTARTTLS: true });
    const r = await probe(localPlan(mx.port, { auth: authPlan('probe@example.test', 'correct horse', { allowPlaintext: true }) }));
    expect(r.failure).toBeNull();
    expect(r.tls).toBeNull();
    expect(mx.auths).toEqual([{ method: 'PLAIN', username: 'probe@example.test', ok: true }]);
  });
});

describe('AUTH refused to go over plaintext', () => {
  it('without allowPlaintext: auth / auth, and the server never sees an AUTH command', async () => {
    const s = await startScriptedServer([...opening('PLAIN LOGIN'), ...quitSteps]);
    const r = await probe(localPlan(s.port, { auth: authPlan('probe@example.test', 'pw-plain'), send: oneRecipient }));
    expect(r.failure).toMatchObject({ phase: 'auth', reason: 'auth', code: null });
    expect(s.commands().some((c) => /^AUTH/i.test(c))).toBe(false);
    expect(s.text()).not.toContain('pw-plain');
    expect(s.text()).not.toContain(b64('\0probe@example.test\0pw-plain'));
    expect(s.commands().at(-1)).toBe('QUIT');
  });

  it("opportunistic TLS and no STARTTLS offered: still refused", async () => {
    const s = await startScriptedServer([...opening('PLAIN'), ...quitSteps]);
    const r = await probe(localPlan(s.port, { tls: 'opportunistic', auth: authPlan('u', 'pw-opportunistic') }));
    expect(r.failure).toMatchObject({ phase: 'auth', reason: 'auth' });
    expect(s.text()).not.toContain('pw-opportunistic');
  });

  it('no usable mechanism offered: auth / auth', async () => {
    const s = await startScriptedServer([...opening('GSSAPI NTLM'), ...quitSteps]);
    const r = await probe(localPlan(s.port, { auth: plaintext('u', 'p') }));
    expect(r.failure).toMatchObject({ phase: 'auth', reason: 'auth' });
    expect(r.failure?.message).toMatch(/GSSAPI/);
    expect(s.commands().some((c) => /^AUTH/i.test(c))).toBe(false);
  });

  it('the mechanism asked for is not offered: auth / auth', async () => {
    const s = await startScriptedServer([...opening('PLAIN'), ...quitSteps]);
    const r = await probe(localPlan(s.port, { auth: plaintext('u', 'p', 'CRAM-MD5') }));
    expect(r.failure).toMatchObject({ phase: 'auth', reason: 'auth' });
    expect(s.commands().some((c) => /^AUTH/i.test(c))).toBe(false);
  });

  it('over STARTTLS the same credentials do go out (the refusal is about plaintext only)', async () => {
    const s = await startScriptedServer([
      banner(),
      ...ehloSteps(['STARTTLS']),
      ...reply(/^STARTTLS$/, '220 go ahead'),
      { starttls: serverCert() },
      ...ehloSteps(['AUTH PLAIN']),
      ...reply(/^AUTH PLAIN /, '235 2.7.0 ok'),
      ...reply(/^NOOP$/, '250 ok'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { tls: 'starttls', tlsParams: trustedTls(), auth: authPlan('tim', 'tanstaaftanstaaf') }));
    expect(r.failure).toBeNull();
    const auth = s.conn.lines.find((l) => l.text.startsWith('AUTH'));
    expect(auth).toMatchObject({ text: 'AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm', tls: true });
  });
});

describe('AUTH refused over TLS whose certificate did not verify', () => {
  /** Opportunistic STARTTLS with a self-signed certificate (not trusted), then AUTH offered over it. */
  const untrusted = (after: ScriptStep[]): ScriptStep[] => [
    banner(),
    ...ehloSteps(['STARTTLS']),
    ...reply(/^STARTTLS$/, '220 go ahead'),
    { starttls: selfSignedCert() },
    ...ehloSteps(['AUTH PLAIN']),
    ...after,
  ];
  const unverified = (over: Partial<AuthPlan> = {}, insecure = false) =>
    ({ tls: 'opportunistic' as const, tlsParams: trustedTls({ insecure }), auth: authPlan('tim', 'pw-unverified', over) });

  it('opportunistic STARTTLS, certificate not trusted: auth / auth, and AUTH never goes out', async () => {
    const s = await startScriptedServer([...untrusted([]), ...quitSteps]);
    const r = await probe(localPlan(s.port, unverified()));
    expect(r.tls).toMatchObject({ verified: false });
    expect(r.failure).toMatchObject({ phase: 'auth', reason: 'auth', code: null });
    expect(r.failure?.message).toMatch(/certificate/);
    expect(s.commands().some((c) => /^AUTH/i.test(c))).toBe(false);
    expect(s.text()).not.toContain(b64('\0tim\0pw-unverified'));
  });

  it('with insecure (verification off on purpose): AUTH goes out', async () => {
    const s = await startScriptedServer([...untrusted(reply(/^AUTH PLAIN /, '235 2.7.0 ok')), ...reply(/^NOOP$/, '250 ok'), ...quitSteps]);
    const r = await probe(localPlan(s.port, unverified({}, true)));
    expect(r.failure).toBeNull();
    expect(s.conn.lines.find((l) => l.text.startsWith('AUTH'))).toMatchObject({ tls: true });
  });

  it('with allowPlaintext (credentials may go without TLS at all): AUTH goes out', async () => {
    const s = await startScriptedServer([...untrusted(reply(/^AUTH PLAIN /, '235 2.7.0 ok')), ...reply(/^NOOP$/, '250 ok'), ...quitSteps]);
    const r = await probe(localPlan(s.port, unverified({ allowPlaintext: true })));
    expect(r.failure).toBeNull();
    expect(s.commands().some((c) => /^AUTH PLAIN /.test(c))).toBe(true);
  });
});

describe('SASL exchanges, byte for byte', () => {
  it('PLAIN sends the RFC 4616 initial response', async () => {
    const s = await startScriptedServer([...opening('PLAIN LOGIN'), ...reply(/^AUTH /, '235 2.7.0 ok'), ...reply(/^NOOP$/, '250 ok'), ...quitSteps]);
    const r = await probe(localPlan(s.port, { auth: plaintext('tim', 'tanstaaftanstaaf') }));
    expect(r.failure).toBeNull();
    expect(s.commands()).toEqual(['EHLO probe.example.test', 'AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm', 'NOOP', 'QUIT']);
    expect(r.phases.find((p) => p.phase === 'auth')).toMatchObject({ ok: true, code: 235, mechanism: 'PLAIN' });
  });

  it('LOGIN answers the Username: and Password: prompts', async () => {
    const s = await startScriptedServer([
      ...opening('LOGIN'),
      ...reply(/^AUTH LOGIN$/, `334 ${b64('Username:')}`),
      ...reply(/^/, `334 ${b64('Password:')}`),
      ...reply(/^/, '235 2.7.0 ok'),
      ...reply(/^NOOP$/, '250 ok'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { auth: plaintext('probe@example.test', 'l0gin-pw') }));
    expect(r.failure).toBeNull();
    expect(s.errors()).toEqual([]);
    expect(s.commands()).toEqual([
      'EHLO probe.example.test', 'AUTH LOGIN', b64('probe@example.test'), b64('l0gin-pw'), 'NOOP', 'QUIT',
    ]);
  });

  it('LOGIN answers by prompt, not by order, when a server asks for the password first', async () => {
    const s = await startScriptedServer([
      ...opening('LOGIN'),
      ...reply(/^AUTH LOGIN$/, `334 ${b64('Password:')}`),
      ...reply(/^/, `334 ${b64('Username:')}`),
      ...reply(/^/, '235 2.7.0 ok'),
      ...reply(/^NOOP$/, '250 ok'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { auth: plaintext('probe@example.test', 'l0gin-pw') }));
    expect(r.failure).toBeNull();
    expect(s.commands().slice(1, 4)).toEqual(['AUTH LOGIN', b64('l0gin-pw'), b64('probe@example.test')]);
  });

  it('CRAM-MD5 answers the challenge with the RFC 2195 digest', async () => {
    const s = await startScriptedServer([
      ...opening('CRAM-MD5'),
      ...reply(/^AUTH CRAM-MD5$/, `334 ${b64('<1896.697170952@postoffice.reston.mci.net>')}`),
      ...reply(/^/, '235 2.7.0 ok'),
      ...reply(/^NOOP$/, '250 ok'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { auth: plaintext('tim', 'tanstaaftanstaaf', 'CRAM-MD5') }));
    expect(r.failure).toBeNull();
    // RFC 2195 section 2: "tim b913a602c7eda7a495b4e6e7334d3890", base64-encoded.
    expect(s.commands().slice(1, 3)).toEqual(['AUTH CRAM-MD5', 'dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw']);
  });

  it('XOAUTH2 sends the bearer token as the initial response', async () => {
    const s = await startScriptedServer([...opening('XOAUTH2'), ...reply(/^AUTH XOAUTH2 /, '235 2.7.0 ok'), ...reply(/^NOOP$/, '250 ok'), ...quitSteps]);
    const r = await probe(localPlan(s.port, { auth: plaintext('someuser@example.com', 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg', 'XOAUTH2') }));
    expect(r.failure).toBeNull();
    // Google's documented example of the XOAUTH2 initial client response.
    expect(s.commands()[1]).toBe(
      'AUTH XOAUTH2 dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==',
    );
  });

  it('XOAUTH2 refused: the 334 error challenge gets an empty response, then the 535 is the failure', async () => {
    const errorJson = b64('{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}');
    const s = await startScriptedServer([
      ...opening('XOAUTH2'),
      ...reply(/^AUTH XOAUTH2 /, `334 ${errorJson}`),
      ...reply(/^$/, '535 5.7.8 Username and Password not accepted'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { auth: plaintext('someuser@example.com', 'expired-token', 'XOAUTH2') }));
    expect(r.failure).toMatchObject({ phase: 'auth', reason: 'reply', code: 535, enhancedCode: '5.7.8' });
    expect(s.errors()).toEqual([]);
    expect(s.commands().slice(2)).toEqual(['', 'QUIT']);
  });

  it('a server that keeps sending 334 is not answered forever', async () => {
    const steps: ScriptStep[] = [...opening('LOGIN'), { expect: /^AUTH LOGIN$/ }];
    for (let i = 0; i < 20; i += 1) steps.push({ send: `334 ${b64('Username:')}\r\n` }, { expect: /^/ });
    const s = await startScriptedServer([...steps, { silence: true }]);
    const r = await probe(localPlan(s.port, { auth: plaintext('u', 'p'), phaseTimeoutMs: 500 }));
    expect(r.ok).toBe(false);
    expect(r.failure?.phase).toBe('auth');
    expect(s.commands().length).toBeLessThan(12);
  });
});

describe('secrets never reach the result record', () => {
  const user = 'probe@example.test';
  const password = 'Sup3r-S3cret-pässword';

  /** Every encoding of the secret that went over the wire. */
  function secretsOf(mechanism: 'PLAIN' | 'LOGIN' | 'XOAUTH2'): string[] {
    const all = [password, b64(password)];
    if (mechanism === 'PLAIN') all.push(b64(`\0${user}\0${password}`));
    if (mechanism === 'XOAUTH2') all.push(b64(`user=${user}\x01auth=Bearer ${password}\x01\x01`));
    return all;
  }

  function scriptFor(mechanism: 'PLAIN' | 'LOGIN' | 'XOAUTH2', final: string): ScriptStep[] {
    const exchange: ScriptStep[] =
      mechanism === 'LOGIN'
        ? [...reply(/^AUTH LOGIN$/, `334 ${b64('Username:')}`), ...reply(/^/, `334 ${b64('Password:')}`), ...reply(/^/, final)]
        : mechanism === 'XOAUTH2' && !final.startsWith('2')
          ? [...reply(/^AUTH XOAUTH2 /, `334 ${b64('{"status":"401"}')}`), ...reply(/^$/, final)]
          : reply(new RegExp(`^AUTH ${mechanism} `), final);
    return [...opening(mechanism), ...exchange, ...reply(/^NOOP$/, '250 ok'), ...quitSteps];
  }

  for (const mechanism of ['PLAIN', 'LOGIN', 'XOAUTH2'] as const) {
    for (const final of ['235 2.7.0 Authentication successful', '535 5.7.8 Error: authentication failed']) {
      it(`${mechanism}, server answers ${final.slice(0, 3)}: transcript shows *** and no secret appears anywhere`, async () => {
        const s = await startScriptedServer(scriptFor(mechanism, final));
        const r = await probe(localPlan(s.port, { transcript: true, auth: plaintext(user, password, mechanism) }));
        expect(r.ok).toBe(final.startsWith('2'));
        // The secret really was sent (so the checks below are meaningful)...
        const sent = s.text();
        expect(secretsOf(mechanism).some((x) => sent.includes(x))).toBe(true);
        // ...and it is nowhere in the record.
        const json = JSON.stringify(r);
        for (const secret of secretsOf(mechanism)) {
          expect(json).not.toContain(secret);
          expect(r.failure?.message ?? '').not.toContain(secret);
        }
        const clientLines = (r.transcript ?? []).filter((l) => l.dir === 'C').map((l) => l.line);
        expect(clientLines.some((l) => l.includes('***'))).toBe(true);
        expect(clientLines.filter((l) => /^AUTH/.test(l)).every((l) => l === `AUTH ${mechanism}` || l === `AUTH ${mechanism} ***`)).toBe(true);
      });
    }
  }

  it('a server that echoes the AUTH argument in its refusal does not get it into the record', async () => {
    const arg = b64(`\0${user}\0${password}`);
    const s = await startScriptedServer([
      ...opening('PLAIN'),
      { expect: /^AUTH PLAIN / },
      { send: `501 5.5.2 cannot decode ${arg}\r\n` },
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { transcript: true, auth: plaintext(user, password, 'PLAIN') }));
    expect(r.failure).toMatchObject({ phase: 'auth', reason: 'reply', code: 501 });
    expect(r.failure?.message).not.toContain(arg);
    expect(JSON.stringify(r)).not.toContain(arg);
  });

  it('fake-mx, wrong password, transcript on: the password is not in the record', async () => {
    const mx = await startFakeMx({ users: { [user]: 'the-right-one' } });
    const r = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls(), transcript: true, auth: authPlan(user, password) }));
    expect(r.failure).toMatchObject({ phase: 'auth', code: 535 });
    const json = JSON.stringify(r);
    for (const secret of secretsOf('PLAIN')) expect(json).not.toContain(secret);
  });
});

describe('negative AUTH check', () => {
  it('expect auth=535 with a wrong password: ok, and nothing after AUTH but QUIT', async () => {
    const mx = await startFakeMx({ users: { 'probe@example.test': 'right' } });
    const r = await probe(
      localPlan(mx.port, {
        tls: 'starttls',
        tlsParams: trustedTls(),
        auth: authPlan('probe@example.test', 'wrong'),
        expect: { auth: exp('535') },
        send: oneRecipient,
      }),
    );
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.phases.find((p) => p.phase === 'auth')).toMatchObject({ ok: true, code: 535 });
    expect(phaseNames(r)).not.toContain('mail');
    expect(phaseNames(r).at(-1)).toBe('quit');
    expect(mx.received).toEqual([]);
  });

  it('expect auth=535 but the password is accepted: auth / expectation', async () => {
    const mx = await startFakeMx({ users: { 'probe@example.test': 'right' } });
    const r = await probe(
      localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls(), auth: authPlan('probe@example.test', 'right'), expect: { auth: exp('535') } }),
    );
    expect(r.failure).toMatchObject({ phase: 'auth', reason: 'expectation', code: 235 });
  });
});
