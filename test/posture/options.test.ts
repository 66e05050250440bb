/** A module's posture: keys (or the command's flags) → each check's options, and a daemon target → the run's request. */
import { describe, expect, test } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { DEFAULT_SMTP_EXPOSURE_OPTIONS } from '../../checks/posture/exposure.js';
import { postureOptions } from '../../src/posture/options.js';
import { postureRequestOf } from '../../src/posture/request.js';

describe('postureOptions', () => {
  test('nothing given: every check\'s defaults', () => {
    expect(postureOptions({}, null)).toEqual({ mtaStsTimeoutMs: 60_000, smtp: DEFAULT_SMTP_EXPOSURE_OPTIONS, dnsbl: { zones: [] } });
  });

  test('each check\'s keys converted by its own converter; --at reaches the certificate check', () => {
    const at = Date.UTC(2027, 0, 1);
    const o = postureOptions({
      mta_sts: { timeout_ms: 5_000 },
      certificate: { warn_days: 30, fail_days: 3 },
      starttls_injection: { wait_ms: 500 },
      vrfy: { names: ['abuse'] },
      open_relay: { relay_test_domain: 'relay.example.net', tries_per_session: 4 },
      dnsbl: { zones: ['Zen.Spamhaus.org.', 'zen.spamhaus.org'] },
    }, at);
    expect(o).toEqual({
      mtaStsTimeoutMs: 5_000,
      smtp: {
        certificate: { warnDays: 30, failDays: 3, at },
        starttlsInjection: { waitMs: 500 },
        vrfy: { names: ['abuse'] },
        expn: DEFAULT_SMTP_EXPOSURE_OPTIONS.expn,
        openRelay: { relayTestDomain: 'relay.example.net', localPart: 'relaytest', triesPerSession: 4 },
      },
      dnsbl: { zones: ['zen.spamhaus.org'] },
    });
  });
});

describe('postureRequestOf', () => {
  test('the target\'s host and port, implicit TLS on smtps:// and 465, the module\'s CA and EHLO name, the module\'s options', () => {
    const r = loadConfigText('c.yaml', `global: { ehlo: probe.example.test, phase_timeout: 5s }
modules:
  sec:
    tls_config: { ca_file: ca.pem }
    posture: { checks: [dnsbl, vrfy], dns_server: "127.0.0.1:53", dnsbl: { zones: [bl.example.org] }, vrfy: { names: [abuse] } }
targets:
  - { name: d, url: "mx://Example.TEST.", module: sec }
  - { name: s, url: "smtps://mail.example.test", module: sec }
  - { name: p, url: "smtp://mail.example.test:465", module: sec }
`, { env: {}, readFile: () => '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n' });
    if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
    const settings = r.config.modules.sec!.posture!;
    const [d, s, p] = r.config.targets.map((t) => postureRequestOf(t.plan, settings));
    expect(d).toMatchObject({ domain: 'example.test', port: 25, implicitTls: false, checks: ['dnsbl', 'vrfy'], ehloName: 'probe.example.test', smtpTimeoutMs: 5_000, at: null });
    expect(d!.ca).toContain('BEGIN CERTIFICATE');
    expect(d!.options.dnsbl.zones).toEqual(['bl.example.org']);
    expect(d!.options.smtp.vrfy.names).toEqual(['abuse']);
    expect([s!.port, s!.implicitTls, p!.port, p!.implicitTls]).toEqual([465, true, 465, true]);
  });
});
