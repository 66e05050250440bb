import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SMTP_EXPOSURE_OPTIONS, SMTP_EXPOSURE_CHECKS, runSmtpExposure } from '../../checks/posture/exposure.js';
import { POSTURE_CHECKS } from '../../src/core/posture.js';
import { closeAll } from '../helpers/cleanup.js';
import { serverCert, testCa } from '../helpers/certs.js';
import { STRONG, startPostureServer, target, testDeps } from './helpers/smtp-server.js';

afterEach(closeAll);

const fast = { ...DEFAULT_SMTP_EXPOSURE_OPTIONS, starttlsInjection: { waitMs: 300 } };

describe('runSmtpExposure', () => {
  it('lists the nine SMTP checks in the order of POSTURE_CHECKS', () => {
    const names = Object.keys(SMTP_EXPOSURE_CHECKS);
    expect(names).toHaveLength(9);
    expect(names).toEqual(POSTURE_CHECKS.filter((c) => names.includes(c)));
  });

  it('a well-configured server passes all nine, one finding each, for its address', async () => {
    const s = await startPostureServer({ tls: { pair: serverCert(), options: STRONG }, vrfy: () => '252 2.0.0 Cannot VRFY', capsTls: ['AUTH PLAIN'] });
    const findings = await runSmtpExposure(target(s, { ca: testCa().cert }), testDeps, undefined, fast);
    expect(findings.map((f) => [f.check, f.result])).toEqual(Object.keys(SMTP_EXPOSURE_CHECKS).map((c) => [c, 'pass']));
    expect(new Set(findings.map((f) => `${f.scope} ${f.mxHost} ${f.address}`))).toEqual(new Set(['address mail.example.test 127.0.0.1']));
    expect(s.text()).not.toContain('DATA');
  });

  it('a server with everything wrong fails them, and runs only the checks asked for', async () => {
    const weak = { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' } as const;
    const s = await startPostureServer({
      tls: { pair: serverCert(), options: weak }, caps: ['AUTH PLAIN LOGIN'], injectionVulnerable: true,
      vrfy: () => '250 2.0.0 <postmaster@mail.example.test>', rcpt: () => '250 2.1.5 Ok',
    });
    const findings = await runSmtpExposure(target(s), testDeps, ['tls_versions', 'starttls_injection', 'auth_before_tls', 'vrfy', 'open_relay'], fast);
    expect(findings.map((f) => [f.check, f.result, f.reason])).toEqual([
      ['tls_versions', 'fail', 'legacy-tls'],
      ['starttls_injection', 'fail', 'starttls-injection'],
      ['auth_before_tls', 'fail', 'auth-before-tls'],
      ['vrfy', 'fail', 'vrfy-enabled'],
      ['open_relay', 'fail', 'open-relay'],
    ]);
    expect(s.text()).not.toContain('DATA');
  });
});
