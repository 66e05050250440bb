/** The StatusSource the daemon builds: targets in config order, the alerts firing for each (mx:// hosts named). */
import { describe, expect, test } from 'vitest';
import type { ConfiguredTarget } from '../../src/config/resolve.js';
import { statusSource } from '../../src/daemon/status.js';
import { HistoryStore } from '../../src/history/store.js';
import type { FiringAlert } from '../../src/history/view.js';
import { T0, record } from '../history/records.js';

const target = (name: string, url: string): ConfiguredTarget =>
  ({ name, url, module: 'default', intervalMs: 60_000, labels: {}, plan: { mx: url.startsWith('mx://') ? { maxHosts: 10 } : null } }) as unknown as ConfiguredTarget;
const firing = (rule: string, t: string): FiringAlert => ({ rule, target: t, since: new Date(T0).toISOString(), severity: 'critical', summary: null });

describe('statusSource', () => {
  const targets = [target('mx1', 'smtp://127.0.0.1:25'), target('example', 'mx://example.test'), target('example/sub', 'mx://sub.example.test')];
  const history = new HistoryStore({ capacity: 10, now: () => T0 });
  history.record('mx1', [record('mx1', T0)]);
  const alerts = [
    firing('smtp_probe_down', 'mx1'),
    firing('smtp_cert', 'mx1'),
    firing('smtp_probe_down', 'example/mx2.example.test'),
    firing('smtp_probe_down', 'example/sub/mx9.example.test'),
    firing('smtp_probe_isolated', 'smtp-probe'),
  ];
  const src = statusSource({
    version: '1.2.3', targets: () => targets, target: (n) => targets.find((t) => t.name === n), history, firing: () => alerts, posture: () => null,
  });

  test('every target in config order, pending until it ran; firing alerts by name, an MX host\'s as "rule (host)"', () => {
    expect(src.version).toBe('1.2.3');
    expect(src.targets().map((t) => [t.name, t.status, t.firingAlerts])).toEqual([
      ['mx1', 'ok', ['smtp_probe_down', 'smtp_cert']],
      ['example', 'pending', ['smtp_probe_down (mx2.example.test)']],
      ['example/sub', 'pending', ['smtp_probe_down (mx9.example.test)']],
    ]);
    expect(src.target('example/sub')?.firingAlerts).toEqual(['smtp_probe_down (mx9.example.test)']);
    expect(src.target('nope')).toBeNull();
  });

  test('details(): every target with its history and firing alerts, as target() gives each; only one status when asked', () => {
    expect(src.details()).toEqual(targets.map((t) => src.target(t.name)));
    expect(src.details('pending').map((d) => d.name)).toEqual(['example', 'example/sub']);
    expect(src.details('failing')).toEqual([]);
  });

  test('alerts(): every firing alert (the probe\'s own too) and the events', () => {
    history.addEvent({ at: new Date(T0).toISOString(), event: 'fired', rule: 'smtp_probe_down', target: 'mx1', receiver: null, detail: null });
    const a = src.alerts();
    expect(a.firing).toHaveLength(5);
    expect(a.events.map((e) => e.event)).toEqual(['fired']);
  });
});
