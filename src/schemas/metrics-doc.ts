/**
 * docs/metrics.md, generated from the metric registries themselves: a `RunMetrics` fed a few result records
 * (a TLS submission, a failure, an mx:// run, a round trip) so that every family has series, the alerting
 * metrics with one firing alert, and the /probe registry of a success and of a failure. Each family is listed
 * with its name, type, labels and help as the code registers them. Only the docs generator and tests use it.
 */
import { Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { createDeliveryMetrics } from '../alerts/delivery/metrics.js';
import { AlertEngine } from '../alerts/engine.js';
import type { AlertRule } from '../alerts/types.js';
import type { CapacityReport } from '../core/capacity.js';
import type { PostureFinding } from '../core/posture.js';
import { WARNING_KINDS, type CheckResult, type PhaseRecord } from '../core/result.js';
import type { TargetMeta } from '../core/target-meta.js';
import { CAPACITY_QUANTILES } from '../metrics/capacity.js';
import { probeRegistry } from '../metrics/probe.js';
import { RunMetrics } from '../metrics/run.js';

export interface MetricFamilyDoc {
  name: string;
  type: string;
  labels: string[];
  help: string;
}

const STARTED_AT = '2026-01-01T00:00:00.000Z';

function record(url: string, phases: PhaseRecord[], over: Partial<CheckResult> = {}): CheckResult {
  const failed = phases.find((p) => !p.ok);
  return {
    target: 'docs', url, ok: failed === undefined, startedAt: STARTED_AT,
    durationMs: phases.reduce((n, p) => n + p.durationMs, 0), attempts: 1, warnings: [],
    failure: failed ? { phase: failed.phase, reason: 'reply', code: failed.code ?? null, enhancedCode: null, message: 'refused' } : null,
    phases, banner: '220 mail.example.test ESMTP', capabilities: {}, capabilitiesBeforeTls: null, tls: null,
    messageId: null, probeId: '00000000-0000-4000-8000-000000000000', ...over,
  };
}

const TLS: CheckResult['tls'] = {
  version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', verified: true, verifyError: null, verificationSkipped: false,
  servername: 'mail.example.test', subject: 'mail.example.test', issuer: 'Example CA', altNames: ['mail.example.test'],
  validFrom: '2025-12-01T00:00:00.000Z', validTo: '2026-03-01T00:00:00.000Z', daysLeft: 59, fingerprint256: 'AB:CD',
};

/** A STARTTLS submission that delivered, with a round trip; an RCPT refused; both as MX hosts of an mx:// run. */
function sampleResults(): { tls: CheckResult; failed: CheckResult; mx: CheckResult[] } {
  const tls = record('smtp://mail.example.test:587', [
    { phase: 'dns', ok: true, durationMs: 1 }, { phase: 'connect', ok: true, durationMs: 1, address: '192.0.2.1' },
    { phase: 'banner', ok: true, durationMs: 2, code: 220 }, { phase: 'ehlo', ok: true, durationMs: 1, code: 250 },
    { phase: 'starttls', ok: true, durationMs: 1, code: 220 }, { phase: 'tls_upgrade', ok: true, durationMs: 5 },
    { phase: 'roundtrip', ok: true, durationMs: 900 },
  ], {
    tls: TLS,
    warnings: ['the run took 0.911s, over the warning threshold of 500ms'],
    warningKinds: ['slow'],
    roundtrip: {
      deliveredMs: 900, folder: 'INBOX', transitMs: 1000, authResults: null,
      hops: [{ index: 1, from: 'a', by: 'b', with: 'ESMTPS', id: null, for: null, date: STARTED_AT, delayMs: 1000, raw: 'from a by b' }],
    },
  });
  const failed = record('smtp://mail.example.test:25', [
    { phase: 'connect', ok: true, durationMs: 1, address: '192.0.2.1' }, { phase: 'banner', ok: true, durationMs: 2, code: 220 },
    { phase: 'rcpt', ok: false, durationMs: 1, code: 554 },
  ]);
  const mxHost = (host: string, r: CheckResult): CheckResult => ({ ...r, url: 'mx://example.test', mx: { host, preference: 10, address: '192.0.2.25' } });
  const mx = [mxHost('mx1.example.test', tls), mxHost('mx2.example.test', failed)];
  return { tls, failed, mx };
}

/** A capacity run of five sessions until STARTTLS that a 421 stopped. */
const CAPACITY: CapacityReport = {
  url: 'smtp://mail.example.test:25', sessions: 5, until: 'starttls', durationMs: 30_000, ratePerSecond: null, address: '192.0.2.1',
  loopback: false, startedAt: STARTED_AT, elapsedMs: 250, ok: false, started: 12,
  results: { accepted: 10, refused: 0, '421': 2, '4xx': 0, '5xx': 0, timeout: 0, error: 0 }, maxConcurrentOk: 2,
  phases: {
    connect: { count: 12, meanMs: 2, p50Ms: 1, p95Ms: 19, maxMs: 19 }, banner_first_byte: { count: 12, meanMs: 45, p50Ms: 40, p95Ms: 68, maxMs: 68 },
    banner: { count: 12, meanMs: 45, p50Ms: 40, p95Ms: 70, maxMs: 70 }, ehlo: { count: 10, meanMs: 5, p50Ms: 4, p95Ms: 12, maxMs: 12 },
    tls: { count: 10, meanMs: 25, p50Ms: 17, p95Ms: 87, maxMs: 87 },
  },
  stoppedBy421: { phase: 'banner', reply: '421 4.7.0 mail.example.test Error: too many connections', openSessions: 4, okSessions: 2, atMs: 250 },
  problems: [], interrupted: false, failure: null,
};

const meta = (name: string): TargetMeta => ({ name, labels: {}, module: 'm', phaseHistograms: 'target', intervalMs: 60_000 });

/** A posture run of a domain (module posture:): a check of the domain, and checks of one MX host's address. */
const POSTURE: PostureFinding[] = [
  { check: 'spf', scope: 'domain', mxHost: null, address: null, result: 'pass', reason: null, detail: 'one v=spf1 record ending in -all' },
  { check: 'dane', scope: 'address', mxHost: 'mx1.example.test', address: '192.0.2.1', result: 'fail', reason: 'tlsa-invalid', detail: 'no TLSA record matches the chain served' },
  { check: 'certificate', scope: 'address', mxHost: 'mx1.example.test', address: '192.0.2.1', result: 'warn', reason: 'certificate-host-mismatch', detail: 'the certificate names mail.example.test' },
];

/** The /metrics registry of a daemon that has run a few targets and has one alert firing. */
function daemonRegistry(): Registry {
  const registry = new Registry();
  const metrics = new RunMetrics(registry, { version: '0.0.0', staticLabelNames: [] });
  const { tls, failed, mx } = sampleResults();
  metrics.recordRun(meta('submission'), [tls], { late: 1, never: 1 });
  metrics.recordRun(meta('relay'), [failed]);
  metrics.recordRun(meta('domain'), mx);
  metrics.recordCapacity(meta('submission'), CAPACITY, Date.parse(STARTED_AT));
  metrics.recordPosture(meta('domain'), POSTURE, Date.parse(STARTED_AT));
  metrics.skipped(meta('relay'));
  metrics.observeLag(0.01);
  metrics.configReloaded(true, Date.parse(STARTED_AT));
  const rule: AlertRule = {
    name: 'down', kind: 'down', receivers: ['ops'], targets: null, modules: null, failureThreshold: 1, successThreshold: 1,
    reminderIntervalMs: 0, sendResolved: true, scope: 'host',
  };
  const engine = new AlertEngine({ rules: [rule], silences: [], now: () => Date.parse(STARTED_AT), notify: () => {}, registry });
  engine.observe({ name: 'relay', module: 'm', labels: {}, intervalMs: 60_000 }, failed);
  const delivery = createDeliveryMetrics(registry);
  delivery.receivers(['ops']);
  delivery.count('ops', 'sent', 1);
  return registry;
}

/** Every family of a registry, in registration order; labels from its label names and the series it holds. */
async function families(registry: Registry): Promise<MetricFamilyDoc[]> {
  const declared = new Map(registry.getMetricsAsArray().map((m) => [m.name, (m as { labelNames?: string[] }).labelNames ?? []]));
  const json = (await registry.getMetricsAsJSON()) as MetricObjectWithValues<MetricValue<string>>[];
  return json.map((m) => {
    const labels = new Set(declared.get(m.name));
    for (const v of m.values) for (const l of Object.keys(v.labels)) if (l !== 'le') labels.add(l);
    if (m.values.length === 0) throw new Error(`docs: metric family ${m.name} has no series: record a result that makes one`);
    const first = ['target', 'mx_host'].filter((l) => labels.has(l));
    return { name: m.name, type: String(m.type), labels: [...first, ...[...labels].filter((l) => !first.includes(l))], help: m.help };
  });
}

/** The /metrics families and the /probe families (those of a success and of a failure, merged). */
export async function metricFamilies(): Promise<{ daemon: MetricFamilyDoc[]; probe: MetricFamilyDoc[] }> {
  const { tls, failed } = sampleResults();
  const probe = new Map<string, MetricFamilyDoc>();
  for (const r of [tls, failed]) for (const f of await families(probeRegistry(r, { timeoutSeconds: 10 }))) probe.set(f.name, f);
  return { daemon: await families(daemonRegistry()), probe: [...probe.values()] };
}

function table(rows: readonly MetricFamilyDoc[]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = rows.map((f) => `| \`${f.name}\` | ${f.type} | ${f.labels.map((l) => `\`${l}\``).join(', ')} | ${cell(f.help)} |`);
  return ['| name | type | labels | help |', '|---|---|---|---|', ...lines].join('\n');
}

export async function metricsMarkdown(): Promise<string> {
  const { daemon, probe } = await metricFamilies();
  return `# Metrics

<!-- Generated by \`npm run docs\` (src/schemas/metrics-doc.ts) from the metric registries; do not edit. -->

Every metric smtp-probe exports, as the code registers it. Histograms also give \`_bucket{le}\`, \`_sum\` and
\`_count\` series. Label values come from fixed vocabularies (phases, failure reasons, TLS versions, results):
server text never becomes a label. README "Running as a monitor" explains how the series behave.

## /metrics

Per-target series carry \`target\` and the target's static labels (its \`labels:\` in the config, not shown
below); each MX host of an \`mx://\` target has its own series with \`mx_host\`. Series the target's latest
run did not produce are removed. \`smtp_probe_alerts_firing\` and \`smtp_probe_notification*\` exist when the
config has an \`alerts\` section. The daemon also exports prom-client's process and Node.js metrics
(\`process_*\`, \`nodejs_*\`).

${table(daemon)}

**Phase histograms** follow \`phase_histograms\` (global or per module). \`module\`, the default:
\`smtp_probe_module_phase_duration_seconds{module,phase}\` only, one histogram per module and phase whatever the
number of targets (each MX host's result of an \`mx://\` run is one observation). \`target\`: also
\`smtp_probe_phase_duration_seconds\` per target (and MX host) and phase, 15 buckets each: 10,000 targets make it
millions of lines. \`none\`: neither. A reload that changes the setting removes the series that no longer apply;
a module's series go when no target feeds them any more. Per-target quantiles over time come from
\`quantile_over_time\` on \`smtp_probe_phase_last_duration_seconds\`, which every target has:
\`quantile_over_time(0.95, smtp_probe_phase_last_duration_seconds{target="mx1",phase="banner"}[1h])\`.

**\`smtp_probe_tls_verified\`** is 1 when the server certificate of the last run verified (chain and name), 0
when it did not (tolerated by opportunistic TLS or \`insecure_skip_verify\`, or the run's failure). A run
without a TLS handshake (\`tls: none\`, STARTTLS not offered, a failure before it) removes the series.

**\`smtp_probe_warnings{kind}\`** counts the last run's warnings by kind, the result record's \`warningKinds\`:
${WARNING_KINDS.map((k) => `\`${k}\``).join(', ')}. A kind the last run did not have is **removed**, not set to 0:
most runs have no warning, so a fleet exports a warning series only where there is something to say, rather than
one per target and kind. Alert on \`smtp_probe_warnings{kind="cert_expiring"} > 0\` (the alert resolves when
the series goes); \`max_over_time(smtp_probe_warnings[1h])\` shows what came and went.

**Capacity series** (\`smtp_probe_capacity_*\`) exist for the targets whose module has \`capacity:\` once its first
capacity run has finished, and hold that last run's figures (docs/capacity.md). \`smtp_probe_capacity_phase_seconds\`
has a \`quantile\` label of ${CAPACITY_QUANTILES.map(([q, k]) => `\`${q}\` (${k.replace('Ms', '')})`).join(', ')} per phase the run
timed (\`connect\`, \`banner_first_byte\`, \`banner\`, \`ehlo\`, \`tls\`); \`smtp_probe_capacity_sessions\` one series per
\`result\` (\`accepted\`, \`refused\`, \`421\`, \`4xx\`, \`5xx\`, \`timeout\`, \`error\`), 0 for the kinds the run did not
have. A run that could not start or was cut short changes none of them: \`time() -
smtp_probe_capacity_last_run_timestamp_seconds\` says how old the figures are.

## /probe

One run, in blackbox_exporter's style: a fresh registry per request. Series that do not apply to the run are
left out (no TLS: no \`probe_ssl_earliest_cert_expiry\`; no failure: no \`probe_smtp_failure_info\`).

${table(probe)}
`;
}
