/** A module's `capacity:` key: its defaults, its limits, and what cannot go with it, each at its file:line:col. */
import { describe, expect, test } from 'vitest';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfigText } from '../../src/config/load.js';

const load = (text: string) => loadConfigText('capacity.yaml', text, { env: {} });

function issues(text: string): string[] {
  const r = load(text);
  if (r.ok) throw new Error('expected issues, the config loaded');
  return r.issues.map(formatIssue);
}

describe('capacity:', () => {
  test('the defaults: 3 sessions until ehlo for 30s, every 1h, no rate; a module without it has none', () => {
    const r = load(`modules:
  cap: { capacity: {} }
  full: { capacity: { sessions: 10, until: starttls, every: 6h, duration: 10s, rate: 2.5 } }
  plain: { tls: none }
targets:
  - { name: a, url: "smtp://127.0.0.1:25", module: cap }
`);
    if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
    expect(r.config.modules.cap!.capacity).toEqual({ sessions: 3, until: 'ehlo', durationMs: 30_000, ratePerSecond: null, everyMs: 3_600_000 });
    expect(r.config.modules.full!.capacity).toEqual({ sessions: 10, until: 'starttls', durationMs: 10_000, ratePerSecond: 2.5, everyMs: 21_600_000 });
    expect(r.config.modules.plain!.capacity).toBeNull();
    expect(r.config.modules.default!.capacity ?? null).toBeNull();
  });

  test('out of range, unknown values and keys: each at its key', () => {
    expect(issues(`modules:
  m:
    capacity:
      sessions: 11
      until: data
      rate: 0
      every: 0s
      flood: true
`)).toEqual([
      'capacity.yaml:4:17 modules.m.capacity.sessions: Too big: expected number to be <=10',
      'capacity.yaml:5:14 modules.m.capacity.until: Invalid option: expected one of "banner"|"ehlo"|"starttls"',
      'capacity.yaml:6:13 modules.m.capacity.rate: Too small: expected number to be >0',
      'capacity.yaml:7:14 modules.m.capacity.every: "0s" must be longer than zero',
      'capacity.yaml:8:7 modules.m.capacity.flood: unknown key "flood"',
    ]);
  });

  test('a run that would not end before the next is due', () => {
    expect(issues(`global: { timeout: 10s }
modules:
  m: { capacity: { every: 30s } }
  n: { timeout: 20s, capacity: { duration: 50s, every: 1m } }
`)).toEqual([
      "capacity.yaml:3:27 modules.m.capacity.every: a capacity run takes up to 40s (duration and one session's timeout): every must be longer, not 30s",
      "capacity.yaml:4:56 modules.n.capacity.every: a capacity run takes up to 70s (duration and one session's timeout): every must be longer, not 1m",
    ]);
  });

  test('an mx:// target under a module with capacity', () => {
    expect(issues(`modules:
  m: { capacity: { sessions: 2 } }
targets:
  - { name: d, url: "mx://example.test", module: m }
`)).toEqual([
      'capacity.yaml:4:21 targets[0].url: module "m" has capacity:, which measures one server: give the MX hosts as smtp:// targets, or use a module without capacity',
    ]);
  });
});
