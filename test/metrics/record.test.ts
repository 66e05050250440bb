import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PHASE_BUCKETS, TargetMetrics } from '../../src/metrics/record.js';
import { mxHostLabel } from '../../src/metrics/labels.js';
import { createRegistry } from '../../src/metrics/registry.js';
import { family, parseExposition, samplesOf, valueOf, type Exposition } from './exposition.js';
import {
  authFailure, CERT_EXPIRY_SECONDS, connectTimeout, fullSuccess, meta, rcptFailure, STARTED_AT_SECONDS, tlsInfo,
} from './fixtures.js';

function setup(staticLabelNames: string[] = []): { registry: Registry; metrics: TargetMetrics; scrape: () => Promise<Exposition> } {
  const registry = createRegistry({ processMetrics: false });
  const metrics = new TargetMetrics(registry, { version: '1.2.3', staticLabelNames });
  return { registry, metrics, scrape: async () => parseExposition(await registry.metrics()) };
}

/** Every sample line whose labels include target="name". */
function seriesOf(e: Exposition, target: string): string[] {
  return e.samples.filter((s) => s.labels.target === target).map((s) => `${s.name}${JSON.stringify(s.labels)}`);
}

describe('TargetMetrics.record: a full successful run', () => {
  it('projects every phase, the reply codes, TLS and the counters', async () => {
    const { metrics, scrape } = setup();
    metrics.record(meta('submission'), fullSuccess('submission'));
    const e = await scrape();
    const t = { target: 'submission' };

    expect(family(e, 'smtp_probe_success')).toEqual({ 'target=submission': 1 });
    expect(family(e, 'smtp_probe_duration_seconds')).toEqual({ 'target=submission': 0.0311 });
    expect(family(e, 'smtp_probe_phase_last_duration_seconds', t)).toEqual({
      'phase=dns': 0.0012, 'phase=connect': 0.0004, 'phase=banner': 0.0019, 'phase=ehlo': 0.0011,
      'phase=starttls': 0.0008, 'phase=tls_upgrade': 0.0065, 'phase=ehlo_tls': 0.001, 'phase=auth': 0.0031,
      'phase=mail': 0.0009, 'phase=rcpt': 0.0013, 'phase=data': 0.0005, 'phase=message': 0.012,
      'phase=quit': 0.0004,
    });
    // Two RCPT records: the durations add up, the last code (251) wins.
    expect(family(e, 'smtp_probe_reply_code', t)).toEqual({
      'phase=banner': 220, 'phase=ehlo': 250, 'phase=starttls': 220, 'phase=ehlo_tls': 250, 'phase=auth': 235,
      'phase=mail': 250, 'phase=rcpt': 251, 'phase=data': 354, 'phase=message': 250, 'phase=quit': 221,
    });
    expect(family(e, 'smtp_probe_runs_total')).toEqual({
      'result=success,target=submission': 1, 'result=failure,target=submission': 0,
    });
    expect(samplesOf(e, 'smtp_probe_failures_total')).toEqual([]);
    expect(family(e, 'smtp_probe_runs_skipped_total')).toEqual({ 'target=submission': 0 });
    expect(valueOf(e, 'smtp_probe_last_run_timestamp_seconds', t)).toBeCloseTo(STARTED_AT_SECONDS + 0.0311, 6);
    expect(family(e, 'smtp_probe_tls_cert_expiry_timestamp_seconds')).toEqual({ 'target=submission': CERT_EXPIRY_SECONDS });
    expect(family(e, 'smtp_probe_tls_version_info')).toEqual({ 'target=submission,version=TLSv1.3': 1 });
    expect(family(e, 'smtp_probe_build_info')).toEqual({ 'version=1.2.3': 1 });
    // phase_histograms none for this target: the family is declared but has no series.
    expect(e.type.get('smtp_probe_phase_duration_seconds')).toBe('histogram');
    expect(e.samples.filter((s) => s.name.startsWith('smtp_probe_phase_duration_seconds'))).toEqual([]);
  });

  it('declares every family with HELP and the right TYPE', async () => {
    const { scrape } = setup();
    const e = await scrape();
    expect(Object.fromEntries(e.type)).toEqual({
      smtp_probe_success: 'gauge',
      smtp_probe_duration_seconds: 'gauge',
      smtp_probe_phase_last_duration_seconds: 'gauge',
      smtp_probe_phase_duration_seconds: 'histogram',
      smtp_probe_reply_code: 'gauge',
      smtp_probe_runs_total: 'counter',
      smtp_probe_failures_total: 'counter',
      smtp_probe_runs_skipped_total: 'counter',
      smtp_probe_last_run_timestamp_seconds: 'gauge',
      smtp_probe_tls_cert_expiry_timestamp_seconds: 'gauge',
      smtp_probe_tls_version_info: 'gauge',
      smtp_probe_tls_verified: 'gauge',
      smtp_probe_warnings: 'gauge',
      smtp_probe_schedule_lag_seconds: 'histogram',
      smtp_probe_module_phase_duration_seconds: 'histogram',
      smtp_probe_build_info: 'gauge',
      smtp_probe_config_last_reload_successful: 'gauge',
      smtp_probe_config_last_reload_success_timestamp_seconds: 'gauge',
    });
    for (const name of e.type.keys()) expect(e.help.get(name), name).toMatch(/\S/);
  });

  it('never turns server text into a label value', async () => {
    const { registry, metrics } = setup();
    metrics.record(meta('a'), fullSuccess('a'));
    metrics.record(meta('a'), authFailure('a'));
    const text = await registry.metrics();
    for (const raw of ['Postfix', 'authentication failed', 'UGFzc3dvcmQ6', '5.7.8', 'mail.example.test', 'PLAIN', '192.0.2.10']) {
      expect(text).not.toContain(raw);
    }
  });
});

describe('TargetMetrics.record: failures', () => {
  it('a failure at auth: success 0, the failure counted by phase and reason, no later phases', async () => {
    const { metrics, scrape } = setup();
    metrics.record(meta('submission'), authFailure('submission'));
    const e = await scrape();
    const t = { target: 'submission' };
    expect(valueOf(e, 'smtp_probe_success', t)).toBe(0);
    expect(family(e, 'smtp_probe_runs_total', t)).toEqual({ 'result=success': 0, 'result=failure': 1 });
    expect(family(e, 'smtp_probe_failures_total', t)).toEqual({ 'phase=auth,reason=reply': 1 });
    expect(family(e, 'smtp_probe_reply_code', t)).toEqual({
      'phase=banner': 220, 'phase=ehlo': 250, 'phase=starttls': 220, 'phase=ehlo_tls': 250, 'phase=auth': 535,
      'phase=quit': 221,
    });
    expect(Object.keys(family(e, 'smtp_probe_phase_last_duration_seconds', t))).toEqual([
      'phase=dns', 'phase=connect', 'phase=banner', 'phase=ehlo', 'phase=starttls', 'phase=tls_upgrade',
      'phase=ehlo_tls', 'phase=auth', 'phase=quit',
    ]);
    expect(valueOf(e, 'smtp_probe_phase_last_duration_seconds', { ...t, phase: 'auth' })).toBe(0.0031);
  });

  it('a failure without a reply (connect timeout) has no reply code at all', async () => {
    const { metrics, scrape } = setup();
    metrics.record(meta('m'), connectTimeout('m'));
    const e = await scrape();
    expect(samplesOf(e, 'smtp_probe_reply_code')).toEqual([]);
    expect(family(e, 'smtp_probe_failures_total')).toEqual({ 'phase=connect,reason=timeout,target=m': 1 });
    expect(family(e, 'smtp_probe_phase_last_duration_seconds')).toEqual({ 'phase=connect,target=m': 10 });
  });

  it("takes the failure's code when the phase record has none", async () => {
    const { metrics, scrape } = setup();
    const r = rcptFailure('m');
    r.phases = r.phases.map((p) => (p.phase === 'rcpt' ? { ...p, code: undefined } : p));
    metrics.record(meta('m'), r);
    expect(valueOf(await scrape(), 'smtp_probe_reply_code', { target: 'm', phase: 'rcpt' })).toBe(550);
  });
});

describe('TargetMetrics.record: series the last run did not produce are removed', () => {
  it('TLS, then a run without TLS: no TLS version or certificate expiry left', async () => {
    const { metrics, scrape } = setup();
    metrics.record(meta('m'), fullSuccess('m'));
    let e = await scrape();
    expect(samplesOf(e, 'smtp_probe_tls_version_info')).toHaveLength(1);
    expect(samplesOf(e, 'smtp_probe_tls_cert_expiry_timestamp_seconds')).toHaveLength(1);

    metrics.record(meta('m'), rcptFailure('m'));
    e = await scrape();
    expect(samplesOf(e, 'smtp_probe_tls_version_info')).toEqual([]);
    expect(samplesOf(e, 'smtp_probe_tls_cert_expiry_timestamp_seconds')).toEqual([]);
  });

  it('a reply code for data, then a run failing at rcpt: no data (or later) series', async () => {
    const { metrics, scrape } = setup();
    metrics.record(meta('m'), fullSuccess('m'));
    metrics.record(meta('m'), rcptFailure('m'));
    const e = await scrape();
    const t = { target: 'm' };
    expect(family(e, 'smtp_probe_reply_code', t)).toEqual({
      'phase=banner': 220, 'phase=ehlo': 250, 'phase=mail': 250, 'phase=rcpt': 550, 'phase=rset': 250,
      'phase=quit': 221,
    });
    expect(Object.keys(family(e, 'smtp_probe_phase_last_duration_seconds', t)).sort()).toEqual([
      'phase=banner', 'phase=connect', 'phase=ehlo', 'phase=mail', 'phase=quit', 'phase=rcpt', 'phase=rset',
    ]);
    expect(valueOf(e, 'smtp_probe_phase_last_duration_seconds', { ...t, phase: 'rcpt' })).toBe(0.0007);
  });

  it('a new TLS version replaces the old one; an unknown one becomes "other"', async () => {
    const { metrics, scrape } = setup();
    metrics.record(meta('m'), fullSuccess('m', { tls: tlsInfo({ version: 'TLSv1.2' }) }));
    metrics.record(meta('m'), fullSuccess('m', { tls: tlsInfo({ version: 'TLSv1.3' }) }));
    expect(family(await scrape(), 'smtp_probe_tls_version_info')).toEqual({ 'target=m,version=TLSv1.3': 1 });
    metrics.record(meta('m'), fullSuccess('m', { tls: tlsInfo({ version: 'TLSv1.4 "}\n' }) }));
    expect(family(await scrape(), 'smtp_probe_tls_version_info')).toEqual({ 'target=m,version=other': 1 });
    metrics.record(meta('m'), fullSuccess('m', { tls: tlsInfo({ version: 'SSLv3' }) }));
    expect(family(await scrape(), 'smtp_probe_tls_version_info')).toEqual({ 'target=m,version=SSLv3': 1 });
  });

  it('a certificate without notAfter: no expiry series', async () => {
    const { metrics, scrape } = setup();
    metrics.record(meta('m'), fullSuccess('m'));
    metrics.record(meta('m'), fullSuccess('m', { tls: tlsInfo({ validTo: null }) }));
    const e = await scrape();
    expect(samplesOf(e, 'smtp_probe_tls_cert_expiry_timestamp_seconds')).toEqual([]);
    expect(samplesOf(e, 'smtp_probe_tls_version_info')).toHaveLength(1);
  });
});

describe('TargetMetrics: counters', () => {
  it('accumulate over runs and never go down', async () => {
    const { metrics, scrape } = setup();
    const m = meta('m');
    const runs = [fullSuccess, authFailure, fullSuccess, rcptFailure, authFailure, fullSuccess, connectTimeout];
    for (const run of runs) metrics.record(m, run('m'));
    const e = await scrape();
    expect(family(e, 'smtp_probe_runs_total', { target: 'm' })).toEqual({ 'result=success': 3, 'result=failure': 4 });
    expect(family(e, 'smtp_probe_failures_total', { target: 'm' })).toEqual({
      'phase=auth,reason=reply': 2, 'phase=rcpt,reason=reply': 1, 'phase=connect,reason=timeout': 1,
    });
    // The gauges show the last run only.
    expect(valueOf(e, 'smtp_probe_success', { target: 'm' })).toBe(0);
    expect(family(e, 'smtp_probe_phase_last_duration_seconds', { target: 'm' })).toEqual({ 'phase=connect': 10 });
  });

  it('skipped() counts per target, and creates the target series when it comes first', async () => {
    const { metrics, scrape } = setup(['env']);
    metrics.skipped(meta('slow', { labels: { env: 'prod' } }));
    metrics.skipped(meta('slow', { labels: { env: 'prod' } }));
    metrics.record(meta('fast', { labels: { env: 'prod' } }), fullSuccess('fast'));
    const e = await scrape();
    expect(family(e, 'smtp_probe_runs_skipped_total')).toEqual({ 'env=prod,target=slow': 2, 'env=prod,target=fast': 0 });
    expect(samplesOf(e, 'smtp_probe_success', { target: 'slow' })).toEqual([]);
  });
});

describe('TargetMetrics: phase histograms', () => {
  it('only for targets with phaseHistograms target', async () => {
    const { metrics, scrape } = setup();
    metrics.record(meta('on', { phaseHistograms: 'target' }), fullSuccess('on'));
    metrics.record(meta('on', { phaseHistograms: 'target' }), authFailure('on'));
    metrics.record(meta('off', { phaseHistograms: 'none' }), fullSuccess('off'));
    const e = await scrape();
    const hist = e.samples.filter((s) => s.name.startsWith('smtp_probe_phase_duration_seconds'));
    expect(hist.every((s) => s.labels.target === 'on')).toBe(true);
    expect(family(e, 'smtp_probe_phase_duration_seconds_count', { target: 'on' })).toEqual({
      'phase=dns': 2, 'phase=connect': 2, 'phase=banner': 2, 'phase=ehlo': 2, 'phase=starttls': 2,
      'phase=tls_upgrade': 2, 'phase=ehlo_tls': 2, 'phase=auth': 2, 'phase=mail': 1, 'phase=rcpt': 1,
      'phase=data': 1, 'phase=message': 1, 'phase=quit': 2,
    });
    // One observation per phase per run: the two RCPTs as one 1.3 ms observation.
    expect(valueOf(e, 'smtp_probe_phase_duration_seconds_sum', { target: 'on', phase: 'rcpt' })).toBe(0.0013);
    const rcptBuckets = family(e, 'smtp_probe_phase_duration_seconds_bucket', { target: 'on', phase: 'rcpt' });
    expect(Object.keys(rcptBuckets)).toHaveLength(PHASE_BUCKETS.length + 1);
    expect(rcptBuckets).toMatchObject({ 'le=0.001': 0, 'le=0.0025': 1, 'le=30': 1, 'le=+Inf': 1 });
    expect(PHASE_BUCKETS[0]).toBe(0.001);
    expect(PHASE_BUCKETS.at(-1)).toBe(30);
  });

  it('switching a target to phaseHistograms none removes its histograms', async () => {
    const { metrics, scrape } = setup();
    metrics.record(meta('m', { phaseHistograms: 'target' }), fullSuccess('m'));
    metrics.record(meta('m', { phaseHistograms: 'none' }), fullSuccess('m'));
    const e = await scrape();
    expect(e.samples.filter((s) => s.name.startsWith('smtp_probe_phase_duration_seconds'))).toEqual([]);
    expect(valueOf(e, 'smtp_probe_runs_total', { target: 'm', result: 'success' })).toBe(2);
  });
});

describe('TargetMetrics: static labels', () => {
  it('every per-target series carries them; a target without one omits it', async () => {
    const { registry, metrics, scrape } = setup(['region', 'env']);
    metrics.record(meta('a', { labels: { env: 'prod', region: 'eu' }, phaseHistograms: 'target' }), authFailure('a'));
    metrics.skipped(meta('a', { labels: { env: 'prod', region: 'eu' } }));
    metrics.record(meta('b', { labels: { env: 'test' } }), fullSuccess('b'));
    const e = await scrape();
    const perTarget = e.samples.filter((s) => s.labels.target !== undefined);
    for (const s of perTarget.filter((s) => s.labels.target === 'a')) {
      expect(s.labels, s.name).toMatchObject({ env: 'prod', region: 'eu' });
    }
    for (const s of perTarget.filter((s) => s.labels.target === 'b')) {
      expect(s.labels, s.name).toMatchObject({ env: 'test' });
      expect(s.labels.region, s.name).toBeUndefined();
    }
    expect(family(e, 'smtp_probe_failures_total')).toEqual({ 'env=prod,phase=auth,reason=reply,region=eu,target=a': 1 });
    // target first, then the static labels in name order, then the series' own labels.
    expect(await registry.metrics()).toContain('smtp_probe_reply_code{target="a",env="prod",region="eu",phase="auth"} 535');
    // Series without a target label carry no static labels either.
    for (const name of ['smtp_probe_build_info', 'smtp_probe_config_last_reload_successful']) {
      for (const s of samplesOf(e, name)) expect(s.labels.env).toBeUndefined();
    }
  });

  it('rejects static label names that the metrics use or Prometheus reserves', () => {
    const registry = createRegistry({ processMetrics: false });
    for (const bad of ['phase', 'target', 'mx_host', 'version', '__meta', 'le', 'has-dash', '']) {
      expect(() => new TargetMetrics(registry, { version: '1', staticLabelNames: [bad] }), bad).toThrow(TypeError);
    }
  });

  it('a target whose label values change gets new series; the old ones go', async () => {
    const { metrics, scrape } = setup(['env']);
    metrics.record(meta('m', { labels: { env: 'test' } }), fullSuccess('m'));
    metrics.record(meta('m', { labels: { env: 'prod' } }), fullSuccess('m'));
    const e = await scrape();
    expect(e.samples.filter((s) => s.labels.env === 'test')).toEqual([]);
    expect(family(e, 'smtp_probe_runs_total', { target: 'm' })).toEqual({
      'env=prod,result=success': 1, 'env=prod,result=failure': 0,
    });
  });

  it('setStaticLabelNames: new label keys; counters and gauges of unchanged targets carry over', async () => {
    const { metrics, scrape } = setup(['env']);
    const a = meta('a', { labels: { env: 'prod' }, phaseHistograms: 'target' });
    metrics.record(a, fullSuccess('a'));
    metrics.record(a, authFailure('a'));
    metrics.skipped(a);
    metrics.record(meta('b', { labels: { env: 'prod' } }), fullSuccess('b'));

    metrics.setStaticLabelNames(['env', 'region']);
    let e = await scrape();
    expect(family(e, 'smtp_probe_runs_total', { target: 'a' })).toEqual({
      'env=prod,result=success': 1, 'env=prod,result=failure': 1,
    });
    expect(family(e, 'smtp_probe_failures_total')).toEqual({ 'env=prod,phase=auth,reason=reply,target=a': 1 });
    expect(family(e, 'smtp_probe_runs_skipped_total')).toEqual({ 'env=prod,target=a': 1, 'env=prod,target=b': 0 });
    expect(family(e, 'smtp_probe_reply_code', { target: 'a' })).toMatchObject({ 'env=prod,phase=auth': 535 });
    expect(family(e, 'smtp_probe_success')).toEqual({ 'env=prod,target=a': 0, 'env=prod,target=b': 1 });
    // Documented: phase histograms restart.
    expect(e.samples.filter((s) => s.name.startsWith('smtp_probe_phase_duration_seconds'))).toEqual([]);

    // b now has a region: a new series set for b; a keeps its counters.
    metrics.record(meta('b', { labels: { env: 'prod', region: 'eu' } }), fullSuccess('b'));
    metrics.record(a, fullSuccess('a'));
    e = await scrape();
    expect(family(e, 'smtp_probe_runs_total', { result: 'success' })).toEqual({
      'env=prod,target=a': 2, 'env=prod,region=eu,target=b': 1,
    });
    expect(family(e, 'smtp_probe_phase_duration_seconds_count', { target: 'a', phase: 'auth' })).toEqual({ 'env=prod': 1 });

    // Dropping a label key: the series lose it, counts kept.
    metrics.setStaticLabelNames([]);
    e = await scrape();
    expect(family(e, 'smtp_probe_runs_total', { result: 'success' })).toEqual({ 'target=a': 2, 'target=b': 1 });
  });

  it('setStaticLabelNames with the same names (any order) changes nothing', async () => {
    const { metrics, scrape } = setup(['env', 'region']);
    metrics.record(meta('a', { labels: { env: 'prod' }, phaseHistograms: 'target' }), fullSuccess('a'));
    metrics.setStaticLabelNames(['region', 'env', 'env']);
    const e = await scrape();
    expect(valueOf(e, 'smtp_probe_phase_duration_seconds_count', { target: 'a', env: 'prod', phase: 'auth' })).toBe(1);
  });
});

describe('TargetMetrics.forget', () => {
  it('removes every series of the target and leaves the others', async () => {
    const { metrics, scrape } = setup(['env']);
    const gone = meta('gone', { labels: { env: 'prod' }, phaseHistograms: 'target' });
    metrics.record(gone, fullSuccess('gone'));
    metrics.record(gone, authFailure('gone'));
    metrics.skipped(gone);
    metrics.record(meta('kept', { phaseHistograms: 'target' }), fullSuccess('kept'));
    const before = seriesOf(await scrape(), 'kept');

    metrics.forget('gone');
    metrics.forget('never-seen');
    const e = await scrape();
    expect(seriesOf(e, 'gone')).toEqual([]);
    expect(seriesOf(e, 'kept')).toEqual(before);

    // Configured again later: starts from zero.
    metrics.record(gone, fullSuccess('gone'));
    expect(family(await scrape(), 'smtp_probe_runs_total', { target: 'gone' })).toEqual({
      'env=prod,result=success': 1, 'env=prod,result=failure': 0,
    });
  });
});

describe('TargetMetrics: per-MX results', () => {
  const mx = (host: string, r = fullSuccess('mail')) => ({ ...r, mx: { host, preference: 10, address: '192.0.2.1' } });

  it('labels each MX host, and recordRun drops hosts the run did not reach', async () => {
    const { metrics, scrape } = setup();
    const m = meta('mail');
    metrics.recordRun(m, [mx('MX1.Example.TEST.'), mx('mx2.example.test', authFailure('mail'))]);
    let e = await scrape();
    expect(family(e, 'smtp_probe_success')).toEqual({
      'mx_host=mx1.example.test,target=mail': 1, 'mx_host=mx2.example.test,target=mail': 0,
    });
    expect(family(e, 'smtp_probe_runs_skipped_total')).toEqual({ 'target=mail': 0 });

    metrics.recordRun(m, [mx('mx1.example.test')]);
    e = await scrape();
    expect(e.samples.filter((s) => s.labels.mx_host === 'mx2.example.test')).toEqual([]);
    expect(family(e, 'smtp_probe_runs_total', { mx_host: 'mx1.example.test' })).toEqual({
      'result=success,target=mail': 2, 'result=failure,target=mail': 0,
    });

    metrics.record(m, mx('bad host "name"\n'));
    expect(family(await scrape(), 'smtp_probe_success', { target: 'mail' })).toEqual({
      'mx_host=mx1.example.test': 1, [`mx_host=${mxHostLabel('bad host "name"\n')}`]: 1,
    });
    metrics.forget('mail');
    expect(seriesOf(await scrape(), 'mail')).toEqual([]);
  });
});

describe('TargetMetrics: daemon-wide series', () => {
  it('schedule lag: a histogram without a target label', async () => {
    const { metrics, scrape } = setup(['env']);
    metrics.record(meta('a', { labels: { env: 'prod' } }), fullSuccess('a'));
    for (const lag of [0.002, 0.02, 3, -1, Number.NaN]) metrics.observeLag(lag);
    const e = await scrape();
    const lag = e.samples.filter((s) => s.name.startsWith('smtp_probe_schedule_lag_seconds'));
    expect(lag.every((s) => Object.keys(s.labels).every((k) => k === 'le'))).toBe(true);
    expect(valueOf(e, 'smtp_probe_schedule_lag_seconds_count', {})).toBe(4);
    expect(valueOf(e, 'smtp_probe_schedule_lag_seconds_sum', {})).toBeCloseTo(3.022, 9);
    expect(valueOf(e, 'smtp_probe_schedule_lag_seconds_bucket', { le: '0.005' })).toBe(2);
    expect(valueOf(e, 'smtp_probe_schedule_lag_seconds_bucket', { le: '0.025' })).toBe(3);
    expect(valueOf(e, 'smtp_probe_schedule_lag_seconds_bucket', { le: '5' })).toBe(4);
  });

  it('config reload: successful flag and the time of the last success', async () => {
    const { metrics, scrape } = setup();
    let e = await scrape();
    expect(valueOf(e, 'smtp_probe_config_last_reload_successful', {})).toBe(0);
    metrics.configReloaded(true, 1_795_658_400_500);
    e = await scrape();
    expect(valueOf(e, 'smtp_probe_config_last_reload_successful', {})).toBe(1);
    expect(valueOf(e, 'smtp_probe_config_last_reload_success_timestamp_seconds', {})).toBe(1_795_658_400.5);
    metrics.configReloaded(false, 1_795_658_999_000);
    e = await scrape();
    expect(valueOf(e, 'smtp_probe_config_last_reload_successful', {})).toBe(0);
    expect(valueOf(e, 'smtp_probe_config_last_reload_success_timestamp_seconds', {})).toBe(1_795_658_400.5);
  });

  it('build info', async () => {
    const { scrape } = setup();
    expect(family(await scrape(), 'smtp_probe_build_info')).toEqual({ 'version=1.2.3': 1 });
  });
});
