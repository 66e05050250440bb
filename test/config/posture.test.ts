/** A module's `posture:` and the `posture` alert kind in the config: defaults, conversions, and each mistake at its key. */
import { describe, expect, test } from 'vitest';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfigText } from '../../src/config/load.js';
import type { LoadedConfig } from '../../src/config/resolve.js';
import { POSTURE_CHECKS } from '../../src/core/posture.js';

function load(text: string): LoadedConfig | string[] {
  const r = loadConfigText('posture.yaml', text, { env: {} });
  return r.ok ? r.config : r.issues.map(formatIssue);
}
const ok = (text: string): LoadedConfig => {
  const c = load(text);
  if (Array.isArray(c)) throw new Error(c.join('\n'));
  return c;
};

const HOOK = `  receivers:\n    - { name: ops, type: webhook, url: "http://127.0.0.1:9/hook" }\n`;

describe('posture: in a module', () => {
  test('defaults: every check, every 6h, the system resolver, no connect_to, no options', () => {
    const c = ok(`modules:\n  sec: { posture: {} }\ntargets:\n  - { name: ex, url: "mx://example.test", module: sec }\n`);
    expect(c.modules.sec!.posture).toEqual({ checks: [...POSTURE_CHECKS], everyMs: 6 * 3_600_000, dnsServer: null, connectTo: [], options: {} });
    expect(c.modules.default?.posture ?? null).toBeNull();
  });

  test('checks in report order, every, dns_server, connect_to parsed, a check\'s own keys kept under its name', () => {
    const c = ok(`modules:
  sec:
    posture:
      checks: [open_relay, dane, certificate]
      every: 30m
      dns_server: "127.0.0.1:2053"
      connect_to: ["mx1.example.test:25:127.0.0.1:2525", "::127.0.0.2:"]
      certificate: { warn_days: 21, fail_days: 10 }
      open_relay: { relay_test_domain: relay.example.net }
targets:
  - { name: ex, url: "mx://example.test", module: sec }
`);
    expect(c.modules.sec!.posture).toEqual({
      checks: ['dane', 'certificate', 'open_relay'],
      everyMs: 1_800_000,
      dnsServer: '127.0.0.1:2053',
      connectTo: [{ host: 'mx1.example.test', port: 25, toHost: '127.0.0.1', toPort: 2525 }, { host: '', port: null, toHost: '127.0.0.2', toPort: null }],
      options: { certificate: { warn_days: 21, fail_days: 10 }, open_relay: { relay_test_domain: 'relay.example.net' } },
    });
  });

  test('each mistake at its key', () => {
    const issues = load(`modules:
  sec:
    posture:
      checks: [dane, nonsense]
      every: 100ms
      dns_server: "resolver.example"
      connect_to: ["mx1:25"]
      certificate: { warn_days: -1 }
      vrfy: { names: [postmaster] }
      surprise: 1
targets:
  - { name: ex, url: "smtp://192.0.2.1", module: sec }
`);
    expect(Array.isArray(issues)).toBe(true);
    const text = (issues as string[]).join('\n');
    expect(text).toMatch(/posture\.yaml:4:\d+ modules\.sec\.posture\.checks\[1\]: /);
    expect(text).toMatch(/posture\.yaml:6:\d+ modules\.sec\.posture\.dns_server: must be an IP address/);
    expect(text).toMatch(/posture\.yaml:7:\d+ modules\.sec\.posture\.connect_to\[0\]: "mx1:25" is not HOST:PORT:ADDR:PORT/);
    expect(text).toMatch(/posture\.yaml:8:\d+ modules\.sec\.posture\.certificate\.warn_days: /);
    expect(text).toMatch(/posture\.yaml:10:\d+ modules\.sec\.posture(\.surprise)?: .*surprise/);
  });

  test('every under a second, options of a check left out of checks, and an IP address target are refused', () => {
    const issues = load(`modules:
  sec:
    posture:
      checks: [dane]
      every: 500ms
      vrfy: { names: [postmaster] }
targets:
  - { name: ex, url: "smtp://192.0.2.1", module: sec }
`) as string[];
    expect(issues).toEqual([
      'posture.yaml:5:14 modules.sec.posture.every: must be at least 1s',
      'posture.yaml:6:13 modules.sec.posture.vrfy: options of vrfy, which checks: leaves out (add it to checks, or remove these options)',
      'posture.yaml:8:22 targets[0].url: module "sec" has posture:, which judges a mail domain and its MX host names: give a domain or host name, not the address 192.0.2.1',
    ]);
  });
});

describe('the posture alert kind', () => {
  test('checks and on with their defaults; one run fires and one resolves unless the rule says otherwise', () => {
    const c = ok(`targets:\n  - { name: ex, url: "smtp://mail.example.test" }
alerts:
  defaults: { failure_threshold: 3 }
  rules:
    - { name: p1, kind: posture, receivers: [ops] }
    - { name: p2, kind: posture, checks: [dane, mta_sts], on: warn, failure_threshold: 2, success_threshold: 2, receivers: [ops] }
${HOOK}`);
    expect(c.alertRules.map((r) => [r.name, r.postureChecks, r.postureOn, r.failureThreshold, r.successThreshold])).toEqual([
      ['p1', [...POSTURE_CHECKS], 'fail', 1, 1],
      ['p2', ['dane', 'mta_sts'], 'warn', 2, 2],
    ]);
  });

  test('an unknown check or on level is refused at its key', () => {
    const issues = load(`targets:\n  - { name: ex, url: "smtp://mail.example.test" }
alerts:
  rules:
    - { name: p1, kind: posture, checks: [dane, dkim], on: pass, receivers: [ops] }
${HOOK}`) as string[];
    expect(issues.some((i) => /^posture\.yaml:5:\d+ alerts\.rules\[0\]\.checks\[1\]: /.test(i))).toBe(true);
    expect(issues.some((i) => /^posture\.yaml:5:\d+ alerts\.rules\[0\]\.on: /.test(i))).toBe(true);
  });
});
