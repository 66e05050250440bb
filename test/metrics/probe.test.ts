import { register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { probeRegistry } from '../../src/metrics/probe.js';
import { family, parseExposition, type Exposition } from './exposition.js';
import { authFailure, CERT_EXPIRY_SECONDS, connectTimeout, fullSuccess, rcptFailure } from './fixtures.js';

async function scrape(...args: Parameters<typeof probeRegistry>): Promise<Exposition> {
  return parseExposition(await probeRegistry(...args).metrics());
}

describe('probeRegistry (/probe, blackbox_exporter style)', () => {
  it('a full successful run', async () => {
    const e = await scrape(fullSuccess('m'), { timeoutSeconds: 10 });
    expect(Object.fromEntries(e.type)).toEqual({
      probe_success: 'gauge', probe_duration_seconds: 'gauge', probe_timeout_seconds: 'gauge',
      probe_dns_lookup_time_seconds: 'gauge', probe_ip_protocol: 'gauge', probe_ssl_earliest_cert_expiry: 'gauge',
      probe_tls_version_info: 'gauge', probe_smtp_phase_duration_seconds: 'gauge', probe_smtp_reply_code: 'gauge',
    });
    expect(family(e, 'probe_success')).toEqual({ '': 1 });
    expect(family(e, 'probe_duration_seconds')).toEqual({ '': 0.0311 });
    expect(family(e, 'probe_timeout_seconds')).toEqual({ '': 10 });
    expect(family(e, 'probe_dns_lookup_time_seconds')).toEqual({ '': 0.0012 });
    expect(family(e, 'probe_ip_protocol')).toEqual({ '': 4 });
    expect(family(e, 'probe_ssl_earliest_cert_expiry')).toEqual({ '': CERT_EXPIRY_SECONDS });
    expect(family(e, 'probe_tls_version_info')).toEqual({ 'version=TLSv1.3': 1 });
    expect(family(e, 'probe_smtp_phase_duration_seconds')).toEqual({
      'phase=dns': 0.0012, 'phase=connect': 0.0004, 'phase=banner': 0.0019, 'phase=ehlo': 0.0011,
      'phase=starttls': 0.0008, 'phase=tls_upgrade': 0.0065, 'phase=ehlo_tls': 0.001, 'phase=auth': 0.0031,
      'phase=mail': 0.0009, 'phase=rcpt': 0.0013, 'phase=data': 0.0005, 'phase=message': 0.012,
      'phase=quit': 0.0004,
    });
    expect(family(e, 'probe_smtp_reply_code')).toEqual({
      'phase=banner': 220, 'phase=ehlo': 250, 'phase=starttls': 220, 'phase=ehlo_tls': 250, 'phase=auth': 235,
      'phase=mail': 250, 'phase=rcpt': 251, 'phase=data': 354, 'phase=message': 250, 'phase=quit': 221,
    });
  });

  it('a failure at auth: probe_success 0 and the failed phase and reason', async () => {
    const e = await scrape(authFailure('m'), { timeoutSeconds: 7.5 });
    expect(family(e, 'probe_success')).toEqual({ '': 0 });
    expect(family(e, 'probe_timeout_seconds')).toEqual({ '': 7.5 });
    const computed = await scrape(authFailure('m'), { timeoutSeconds: ((0.7 - 0.5) * 1000) / 1000 });
    expect(family(computed, 'probe_timeout_seconds')).toEqual({ '': 0.2 });
    expect(family(e, 'probe_smtp_failure_info')).toEqual({ 'phase=auth,reason=reply': 1 });
    expect(family(e, 'probe_smtp_reply_code')).toMatchObject({ 'phase=auth': 535 });
    expect(family(e, 'probe_smtp_reply_code')['phase=mail']).toBeUndefined();
  });

  it('no TLS and no dns phase: no TLS series, DNS lookup time 0; IPv6', async () => {
    const e = await scrape(rcptFailure('m'), { timeoutSeconds: 10 });
    expect(e.type.has('probe_ssl_earliest_cert_expiry')).toBe(false);
    expect(e.type.has('probe_tls_version_info')).toBe(false);
    expect(family(e, 'probe_dns_lookup_time_seconds')).toEqual({ '': 0 });
    expect(family(e, 'probe_ip_protocol')).toEqual({ '': 6 });
    expect(family(e, 'probe_smtp_failure_info')).toEqual({ 'phase=rcpt,reason=reply': 1 });
  });

  it('nothing answered: no reply code family at all', async () => {
    const e = await scrape(connectTimeout('m'), { timeoutSeconds: 10 });
    expect([...e.type.keys()]).toEqual([
      'probe_success', 'probe_duration_seconds', 'probe_timeout_seconds', 'probe_dns_lookup_time_seconds',
      'probe_ip_protocol', 'probe_smtp_phase_duration_seconds', 'probe_smtp_failure_info',
    ]);
    expect(family(e, 'probe_smtp_phase_duration_seconds')).toEqual({ 'phase=connect': 10 });
    expect(family(e, 'probe_smtp_failure_info')).toEqual({ 'phase=connect,reason=timeout': 1 });
  });

  it('a fresh registry per call, never the global one', async () => {
    const a = probeRegistry(fullSuccess('m'), { timeoutSeconds: 10 });
    const b = probeRegistry(authFailure('m'), { timeoutSeconds: 10 });
    expect(a).not.toBe(b);
    expect(family(parseExposition(await a.metrics()), 'probe_success')).toEqual({ '': 1 });
    expect(register.getMetricsAsArray()).toEqual([]);
  });

  it('an unknown TLS version is "other"; server text never becomes a label', async () => {
    const r = authFailure('m');
    r.tls = { ...r.tls!, version: 'TLSv9 "x"' };
    const text = await probeRegistry(r, { timeoutSeconds: 10 }).metrics();
    expect(family(parseExposition(text), 'probe_tls_version_info')).toEqual({ 'version=other': 1 });
    for (const raw of ['authentication failed', 'Postfix', '5.7.8', 'TLSv9']) expect(text).not.toContain(raw);
  });
});
