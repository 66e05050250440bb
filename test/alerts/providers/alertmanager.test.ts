import { describe, expect, it } from 'vitest';
import { alertmanagerReceiver } from '../../../src/alerts/providers/alertmanager.js';
import { CTX, firing, NOW, refresh, reminder, resolved } from './fixtures.js';

const AM = 'http://alertmanager:9093';
const alerts = (b: string) => JSON.parse(b) as Record<string, unknown>[];

describe('alertmanager receiver', () => {
  it('posts an array of v2 alerts to /api/v2/alerts', () => {
    const [req, ...more] = alertmanagerReceiver.build([firing()], { url: AM }, CTX);
    expect(more).toEqual([]);
    expect(req!.url).toBe('http://alertmanager:9093/api/v2/alerts');
    expect(req!.describe).toBe('alertmanager http://alertmanager:9093/api/v2/alerts');
    expect(req!.headers['Content-Type']).toBe('application/json');
    expect(alerts(req!.body)).toEqual([
      {
        labels: { severity: 'critical', env: 'prod', alertname: 'smtp_probe_down', target: 'mx1-submission' },
        annotations: {
          summary: 'mx1-submission is down: auth failed with 535',
          description: 'auth reply 535: 535 5.7.8 Error: authentication failed',
        },
        startsAt: '2026-11-26T02:00:00.000Z',
        endsAt: new Date(NOW + 3 * 30_000).toISOString(),
        generatorURL: 'http://probe.example.test:9469/',
      },
    ]);
  });

  it('firing, reminder and refresh end 3 intervals ahead; resolved ends at the resolve time', () => {
    const [req] = alertmanagerReceiver.build([firing(), reminder(), refresh({ intervalMs: 60_000 }), resolved()], { url: AM }, CTX);
    expect(alerts(req!.body).map((a) => a.endsAt)).toEqual([
      '2026-11-26T02:11:30.000Z',
      '2026-11-26T02:11:30.000Z',
      '2026-11-26T02:13:00.000Z',
      '2026-11-26T02:20:00.000Z',
    ]);
    expect(req!.ids).toEqual(['n-firing-1', 'n-reminder-1', 'n-refresh-1', 'n-resolved-1']);
    expect(['firing', 'reminder', 'resolved', 'refresh'].every((k) => alertmanagerReceiver.accepts(k as never))).toBe(true);
  });

  it('alertname and target always win over static labels; severity may be overridden', () => {
    const [req] = alertmanagerReceiver.build(
      [firing({ alertKind: 'slow', labels: { alertname: 'x', target: 'y', severity: 'page', team: 'mail' } })],
      { url: AM },
      CTX,
    );
    expect(alerts(req!.body)[0]!.labels).toEqual({ severity: 'page', alertname: 'smtp_probe_down', target: 'mx1-submission', team: 'mail' });
    const [w] = alertmanagerReceiver.build([firing({ alertKind: 'certificate', labels: {} })], { url: AM }, CTX);
    expect((alerts(w!.body)[0]!.labels as Record<string, string>).severity).toBe('warning');
  });

  it('keeps a route prefix, and splits batches of more than 100', () => {
    expect(alertmanagerReceiver.maxBatch).toBe(100);
    const batch = Array.from({ length: 150 }, (_, i) => refresh({ id: `r${i}`, target: `mx${i}` }));
    const reqs = alertmanagerReceiver.build(batch, { url: 'https://am.example.test/alertmanager/' }, CTX);
    expect(reqs.map((r) => [r.url, alerts(r.body).length])).toEqual([
      ['https://am.example.test/alertmanager/api/v2/alerts', 100],
      ['https://am.example.test/alertmanager/api/v2/alerts', 50],
    ]);
  });

  it('omits generatorURL without an external URL', () => {
    const [req] = alertmanagerReceiver.build([resolved()], { url: AM }, { ...CTX, externalUrl: '' });
    expect(alerts(req!.body)[0]).not.toHaveProperty('generatorURL');
    expect(alerts(req!.body)[0]!.annotations).toEqual({ summary: 'mx1-submission is up again', description: 'mx1-submission is up again' });
  });

  it('describe shows the API path it appends, never a configured path before it', () => {
    const [req] = alertmanagerReceiver.build([firing()], { url: 'http://proxy.example.test:8080/am/s3cretTOKEN/' }, CTX);
    expect(req!.url).toBe('http://proxy.example.test:8080/am/s3cretTOKEN/api/v2/alerts');
    expect(req!.describe).toBe('alertmanager http://proxy.example.test:8080/…/api/v2/alerts');
  });
});
