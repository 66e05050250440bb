import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSend } from '../../src/plan/build.js';
import { closeAll } from '../helpers/cleanup.js';
import {
  TEST_SERVER_NAME, expiredCert, selfSignedCert, serverCert, testCa, wrongNameCert, type KeyPair,
} from '../helpers/certs.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { localPlan, phaseNames, probe, trustedTls } from '../helpers/plans.js';
import { banner, ehloSteps, multiline, quitSteps, reply, startScriptedServer } from '../helpers/scripted-server.js';

afterEach(closeAll);

describe('test certificates (premises of the TLS tests)', () => {
  const ca = new X509Certificate(testCa().cert);

  it('serverCert is issued by the CA, valid now, for the name and 127.0.0.1', () => {
    const c = new X509Certificate(serverCert().cert);
    expect(c.checkIssued(ca)).toBe(true);
    expect(c.verify(ca.publicKey)).toBe(true);
    expect(c.checkHost(TEST_SERVER_NAME)).toBe(TEST_SERVER_NAME);
    expect(c.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(Date.parse(c.validTo)).toBeGreaterThan(Date.now());
    expect(Date.parse(c.validFrom)).toBeLessThan(Date.now());
  });

  it('expiredCert is issued by the CA and its notAfter is in the past', () => {
    const c = new X509Certificate(expiredCert().cert);
    expect(c.verify(ca.publicKey)).toBe(true);
    expect(c.checkHost(TEST_SERVER_NAME)).toBe(TEST_SERVER_NAME);
    expect(Date.parse(c.validTo)).toBeLessThan(Date.now());
  });

  it('wrongNameCert is issued by the CA for another name only', () => {
    const c = new X509Certificate(wrongNameCert().cert);
    expect(c.verify(ca.publicKey)).toBe(true);
    expect(c.checkHost(TEST_SERVER_NAME)).toBeUndefined();
    expect(c.checkIP('127.0.0.1')).toBeUndefined();
  });

  it('selfSignedCert is its own issuer, not the CA', () => {
    const c = new X509Certificate(selfSignedCert().cert);
    expect(c.checkIssued(c)).toBe(true);
    expect(c.verify(ca.publicKey)).toBe(false);
  });

  it('is generated once per process', () => {
    expect(serverCert()).toBe(serverCert());
    expect(testCa()).toBe(testCa());
  });
});

describe('STARTTLS against fake-mx', () => {
  it('a trusted certificate: ok, verified, the EHLO after the upgrade replaces the capabilities', async () => {
    const mx = await startFakeMx();
    const r = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls() }));
    expect(r.failure).toBeNull();
    expect(phaseNames(r)).toEqual(['connect', 'banner', 'ehlo', 'starttls', 'tls_upgrade', 'ehlo_tls', 'noop', 'quit']);
    expect(r.tls).toMatchObject({
      verified: true, verifyError: null, verificationSkipped: false, servername: TEST_SERVER_NAME, subject: TEST_SERVER_NAME,
    });
    expect(r.tls?.version).toMatch(/^TLSv1\.[23]$/);
    expect(r.tls?.altNames).toEqual(expect.arrayContaining([TEST_SERVER_NAME, '127.0.0.1']));
    expect(r.tls?.daysLeft).toBeGreaterThan(300);
    expect(r.capabilitiesBeforeTls).toHaveProperty('STARTTLS');
    expect(r.capabilities).not.toHaveProperty('STARTTLS');
    expect(r.warnings).toEqual([]);
  });

  it('servername given as an IP address: verified against the IP SAN (no SNI)', async () => {
    const mx = await startFakeMx();
    const r = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls({ servername: '127.0.0.1' }) }));
    expect(r.failure).toBeNull();
    expect(r.tls).toMatchObject({ verified: true, servername: '127.0.0.1' });
  });

  it('opportunistic TLS upgrades when STARTTLS is offered', async () => {
    const mx = await startFakeMx();
    const r = await probe(localPlan(mx.port, { tls: 'opportunistic', tlsParams: trustedTls() }));
    expect(r.failure).toBeNull();
    expect(phaseNames(r)).toContain('tls_upgrade');
    expect(r.tls?.verified).toBe(true);
  });

  it('opportunistic TLS without STARTTLS offered stays plaintext: ok with a warning', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true });
    const r = await probe(localPlan(mx.port, { tls: 'opportunistic', tlsParams: trustedTls() }));
    expect(r.failure).toBeNull();
    expect(r.tls).toBeNull();
    expect(r.warnings.join('\n')).toMatch(/STARTTLS/);
  });

  it('a certificate expiring within minCertDays: ok with a warning', async () => {
    const mx = await startFakeMx();
    const r = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls(), minCertDays: 10_000 }));
    expect(r.failure).toBeNull();
    expect(r.warnings.join('\n')).toMatch(/expires/);
  });

  const bad: { name: string; pair: () => KeyPair; code: RegExp }[] = [
    { name: 'self-signed', pair: () => selfSignedCert(), code: /DEPTH_ZERO_SELF_SIGNED_CERT/ },
    { name: 'expired', pair: () => expiredCert(), code: /CERT_HAS_EXPIRED/ },
    { name: 'wrong-name', pair: () => wrongNameCert(), code: /ERR_TLS_CERT_ALTNAME_INVALID/ },
  ];

  for (const { name, pair, code } of bad) {
    describe(`a ${name} certificate`, () => {
      it(`tls:'starttls' fails at tls_upgrade, reason tls`, async () => {
        const mx = await startFakeMx({ ...pair() });
        const r = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls(), send: makeSend({ from: 'p@example.test', to: ['a@example.test'] }) }));
        expect(r.failure).toMatchObject({ phase: 'tls_upgrade', reason: 'tls', code: null });
        expect(r.failure?.message).toMatch(code);
        expect(r.tls).toMatchObject({ verified: false, verificationSkipped: false });
        expect(r.tls?.verifyError).toMatch(code);
        expect(mx.received).toEqual([]);
        expect(phaseNames(r)).not.toContain('ehlo_tls');
      });

      it(`tls:'opportunistic' is ok with verified=false and the reason recorded`, async () => {
        const mx = await startFakeMx({ ...pair() });
        const r = await probe(localPlan(mx.port, { tls: 'opportunistic', tlsParams: trustedTls() }));
        expect(r.failure).toBeNull();
        expect(r.ok).toBe(true);
        expect(r.tls).toMatchObject({ verified: false, verificationSkipped: false });
        expect(r.tls?.verifyError).toMatch(code);
        expect(r.warnings.join('\n')).toMatch(code);
        expect(phaseNames(r)).toContain('ehlo_tls');
      });

      it(`tls:'starttls' with insecure:true is ok, verificationSkipped=true, verified=false`, async () => {
        const mx = await startFakeMx({ ...pair() });
        const r = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls({ insecure: true }) }));
        expect(r.failure).toBeNull();
        expect(r.tls).toMatchObject({ verified: false, verificationSkipped: true });
        expect(r.tls?.verifyError).toMatch(code);
      });
    });
  }
});

describe('implicit TLS against fake-mx', () => {
  it('a CA given in tlsParams.ca: ok, tls phase before the banner, no STARTTLS', async () => {
    const mx = await startFakeMx({ secure: true });
    const r = await probe(
      localPlan(mx.port, { tls: 'implicit', tlsParams: trustedTls(), send: makeSend({ from: 'p@example.test', to: ['a@example.test'] }) }),
    );
    expect(r.failure).toBeNull();
    expect(phaseNames(r)).toEqual(['connect', 'tls', 'banner', 'ehlo', 'mail', 'rcpt', 'data', 'message', 'noop', 'quit']);
    expect(r.url).toMatch(/^smtps:/);
    expect(r.tls).toMatchObject({ verified: true, verifyError: null });
    expect(mx.received[0]?.secure).toBe(true);
  });

  it('without the CA the certificate is untrusted: tls / tls', async () => {
    const mx = await startFakeMx({ secure: true });
    const r = await probe(localPlan(mx.port, { tls: 'implicit', tlsParams: { servername: TEST_SERVER_NAME, insecure: false } }));
    expect(r.failure).toMatchObject({ phase: 'tls', reason: 'tls' });
    expect(r.tls?.verified).toBe(false);
  });

  it('an expired certificate: tls / tls', async () => {
    const mx = await startFakeMx({ secure: true, ...expiredCert() });
    const r = await probe(localPlan(mx.port, { tls: 'implicit', tlsParams: trustedTls() }));
    expect(r.failure).toMatchObject({ phase: 'tls', reason: 'tls' });
    expect(r.failure?.message).toMatch(/CERT_HAS_EXPIRED/);
  });

  it('a server that never answers the handshake: timeout at tls within phaseTimeoutMs', async () => {
    const s = await startScriptedServer([{ silence: true }]);
    const r = await probe(localPlan(s.port, { tls: 'implicit', tlsParams: trustedTls(), phaseTimeoutMs: 300, timeoutMs: 10_000 }));
    expect(r.failure).toMatchObject({ phase: 'tls', reason: 'timeout' });
    expect(r.wallMs).toBeLessThan(300 + 1500);
  });

  it('a plaintext server on the implicit-TLS port: tls / tls or timeout, never ok', async () => {
    const s = await startScriptedServer([banner(), { silence: true }]);
    const r = await probe(localPlan(s.port, { tls: 'implicit', tlsParams: trustedTls(), phaseTimeoutMs: 500 }));
    expect(r.ok).toBe(false);
    expect(r.failure?.phase).toBe('tls');
    expect(['tls', 'timeout']).toContain(r.failure?.reason);
  });
});

describe('STARTTLS against a scripted server', () => {
  const caps = ['STARTTLS', '8BITMIME'];

  it('scripted STARTTLS with a trusted certificate works end to end (helper check)', async () => {
    const s = await startScriptedServer([
      banner(),
      ...ehloSteps(caps),
      ...reply(/^STARTTLS$/, '220 2.0.0 ready'),
      { starttls: serverCert() },
      ...ehloSteps(['AUTH PLAIN']),
      ...reply(/^NOOP$/, '250 ok'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { tls: 'starttls', tlsParams: trustedTls() }));
    expect(r.failure).toBeNull();
    expect(s.errors()).toEqual([]);
    expect(r.capabilities).toEqual({ AUTH: 'PLAIN' });
    expect(s.conn.lines.filter((l) => l.tls).map((l) => l.text)).toEqual(['EHLO probe.example.test', 'NOOP', 'QUIT']);
  });

  for (const mode of ['starttls', 'opportunistic'] as const) {
    it(`garbage instead of a TLS handshake after 220: tls_upgrade / tls (${mode})`, async () => {
      const s = await startScriptedServer([
        banner(),
        ...ehloSteps(caps),
        ...reply(/^STARTTLS$/, '220 2.0.0 ready'),
        { delay: 50 },
        { send: 'this is not TLS at all\r\n'.repeat(4) },
        { silence: true },
      ]);
      const r = await probe(localPlan(s.port, { tls: mode, tlsParams: trustedTls() }));
      expect(r.failure).toMatchObject({ phase: 'tls_upgrade', reason: 'tls' });
      expect(r.failure?.message).toMatch(/TLS/);
      expect(r.wallMs).toBeLessThan(1000 + 1500);
    });
  }

  it('server closes the connection instead of the handshake: tls_upgrade, never ok', async () => {
    const s = await startScriptedServer([banner(), ...ehloSteps(caps), ...reply(/^STARTTLS$/, '220 2.0.0 ready'), { delay: 30 }, { close: true }]);
    const r = await probe(localPlan(s.port, { tls: 'starttls', tlsParams: trustedTls() }));
    expect(r.failure?.phase).toBe('tls_upgrade');
    expect(['tls', 'closed']).toContain(r.failure?.reason);
  });

  it('STARTTLS answered 220 and then silence: timeout at tls_upgrade within phaseTimeoutMs', async () => {
    const s = await startScriptedServer([banner(), ...ehloSteps(caps), ...reply(/^STARTTLS$/, '220 go ahead'), { silence: true }]);
    const r = await probe(localPlan(s.port, { tls: 'starttls', tlsParams: trustedTls(), phaseTimeoutMs: 300, timeoutMs: 10_000 }));
    expect(r.failure).toMatchObject({ phase: 'tls_upgrade', reason: 'timeout' });
    expect(r.wallMs).toBeLessThan(300 + 1500);
  });

  it('EHLO after the upgrade refused: ehlo_tls / reply', async () => {
    const s = await startScriptedServer([
      banner(),
      ...ehloSteps(['STARTTLS']),
      ...reply(/^STARTTLS$/, '220 go ahead'),
      { starttls: serverCert() },
      ...reply(/^EHLO /, '554 5.7.1 not after TLS either'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { tls: 'starttls', tlsParams: trustedTls() }));
    expect(r.failure).toMatchObject({ phase: 'ehlo_tls', reason: 'reply', code: 554, enhancedCode: '5.7.1' });
    expect(r.tls?.verified).toBe(true);
  });

  it('capabilities other than STARTTLS are required of the EHLO after the upgrade', async () => {
    const script = (after: string[]) => [
      banner(),
      ...ehloSteps(['STARTTLS']),
      ...reply(/^STARTTLS$/, '220 go ahead'),
      { starttls: serverCert() },
      ...ehloSteps(after),
      ...reply(/^NOOP$/, '250 ok'),
      ...quitSteps,
    ];
    const good = await startScriptedServer(script(['AUTH PLAIN LOGIN', 'SIZE 20000000']));
    const ok = await probe(localPlan(good.port, { tls: 'starttls', tlsParams: trustedTls(), requireCapabilities: ['STARTTLS', 'AUTH=PLAIN', 'SIZE>=10000000'] }));
    expect(ok.failure).toBeNull();
    const bad = await startScriptedServer(script(['SIZE 20000000']));
    const r = await probe(localPlan(bad.port, { tls: 'starttls', tlsParams: trustedTls(), requireCapabilities: ['STARTTLS', 'AUTH=PLAIN'] }));
    expect(r.failure).toMatchObject({ phase: 'ehlo_tls', reason: 'expectation', code: 250 });
    expect(r.failure?.message).toMatch(/AUTH/);
  });

  it('RFC 3207 injection: replies sent with the 220 are discarded (warning), not taken as the EHLO after TLS', async () => {
    const s = await startScriptedServer([
      banner(),
      ...ehloSteps(caps),
      { expect: /^STARTTLS$/ },
      { send: '220 2.0.0 ready\r\n250 injected\r\n' },
      { starttls: serverCert() },
      { expect: /^EHLO / },
      { send: multiline(250, ['mail.example.test', 'AUTH PLAIN', 'SIZE 1000000']) },
      ...reply(/^NOOP$/, '250 ok'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { tls: 'starttls', tlsParams: trustedTls() }));
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/discard|inject/i);
    // The capabilities are those of the EHLO sent over TLS, not of the injected reply.
    expect(r.capabilities).toEqual({ AUTH: 'PLAIN', SIZE: '1000000' });
    expect(s.conn.lines.filter((l) => l.tls).map((l) => l.text)).toEqual(['EHLO probe.example.test', 'NOOP', 'QUIT']);
  });

  it('RFC 3207 injection of a partial line with the 220: discarded, ok with a warning', async () => {
    const s = await startScriptedServer([
      banner(),
      ...ehloSteps(caps),
      { expect: /^STARTTLS$/ },
      { send: '220 2.0.0 ready\r\n250 injected-but-incomplete' },
      { starttls: serverCert() },
      ...ehloSteps(['AUTH PLAIN']),
      ...reply(/^NOOP$/, '250 ok'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { tls: 'starttls', tlsParams: trustedTls() }));
    expect(r.failure).toBeNull();
    expect(r.warnings.join('\n')).toMatch(/discard|inject/i);
    expect(r.capabilities).toEqual({ AUTH: 'PLAIN' });
  });
});
