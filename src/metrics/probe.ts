/**
 * The registry for one /probe answer, in blackbox_exporter's style: a fresh registry per request holding
 * `probe_*` series about that single run. Series that do not apply are left out (no TLS: no TLS series),
 * except probe_dns_lookup_time_seconds, which is 0 without a dns phase as in blackbox_exporter.
 */
import { isIP } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import type { CheckResult } from '../core/result.js';
import { projectResult } from './projection.js';

export interface ProbeRegistryOptions {
  /** The timeout the run was given (blackbox_exporter's probe_timeout_seconds). */
  timeoutSeconds: number;
}

export function probeRegistry(result: CheckResult, options: ProbeRegistryOptions): Registry {
  const registry = new Registry();
  const registers = [registry];
  const p = projectResult(result);
  const gauge = (name: string, help: string): Gauge => new Gauge({ name, help, registers });

  gauge('probe_success', 'Whether the probe passed (1) or failed (0).').set(p.success ? 1 : 0);
  gauge('probe_duration_seconds', 'How long the probe took, in seconds.').set(p.durationSeconds);
  // To the microsecond, like the durations: a timeout computed as (0.7 - 0.5) s shows as 0.2, not 0.19999999999999996.
  gauge('probe_timeout_seconds', 'The timeout the probe ran with, in seconds.')
    .set(Math.round(options.timeoutSeconds * 1e6) / 1e6);
  gauge('probe_dns_lookup_time_seconds', 'How long resolving the host name took, in seconds.')
    .set(p.phaseSeconds.get('dns') ?? 0);

  const ipProtocol = connectedProtocol(result);
  if (ipProtocol !== null) gauge('probe_ip_protocol', 'The IP protocol of the connection: 4 or 6.').set(ipProtocol);

  if (p.certExpirySeconds !== null) {
    gauge('probe_ssl_earliest_cert_expiry', 'Unix time at which the server certificate expires (notAfter).')
      .set(p.certExpirySeconds);
  }
  if (p.tlsVersion !== null) {
    new Gauge<'version'>({
      name: 'probe_tls_version_info', registers, labelNames: ['version'],
      help: 'Always 1; the version label tells the TLS version negotiated.',
    }).set({ version: p.tlsVersion }, 1);
  }
  if (p.phaseSeconds.size > 0) {
    const phases = new Gauge<'phase'>({
      name: 'probe_smtp_phase_duration_seconds', registers, labelNames: ['phase'],
      help: 'How long each SMTP phase took, in seconds (several RCPTs add up).',
    });
    for (const [phase, seconds] of p.phaseSeconds) phases.set({ phase }, seconds);
  }
  if (p.replyCodes.size > 0) {
    const codes = new Gauge<'phase'>({
      name: 'probe_smtp_reply_code', registers, labelNames: ['phase'],
      help: 'The last SMTP reply code seen in each phase.',
    });
    for (const [phase, code] of p.replyCodes) codes.set({ phase }, code);
  }
  if (p.failure !== null) {
    new Gauge<'phase' | 'reason'>({
      name: 'probe_smtp_failure_info', registers, labelNames: ['phase', 'reason'],
      help: 'Always 1 when the probe failed; the labels tell the phase that failed and why.',
    }).set({ phase: p.failure.phase, reason: p.failure.reason }, 1);
  }
  return registry;
}

/** 4 or 6 from the address the connect phase used, or null when the run never connected. */
function connectedProtocol(result: CheckResult): 4 | 6 | null {
  const address = result.phases.find((r) => r.phase === 'connect' && r.address)?.address;
  const family = address ? isIP(address) : 0;
  return family === 4 || family === 6 ? family : null;
}
