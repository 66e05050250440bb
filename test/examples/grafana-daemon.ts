/**
 * What the dashboard tests share: the dashboard's expressions (panels and variables) and a daemon whose /metrics
 * carries every series they query: a STARTTLS target with a round trip read back over POP3 (a Received header
 * added, for hop delays), an mx:// target resolved by a DNS server of the test whose certificate is not trusted (a
 * warning, tls_verified 0), a target that is down with an alert rule and a webhook receiver, and a target whose
 * module has capacity: runs (every 2 s, two sessions to EHLO). All on 127.0.0.1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCa, TEST_SERVER_NAME } from '../helpers/certs.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { freePort } from '../helpers/ports.js';
import { startWebhookSink } from '../helpers/webhook-sink.js';
import { startFakePop3 } from '../pool/pop3-server.js';
import { readExample } from './support.js';

export interface Target {
  refId: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}

export interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: { uid?: string };
}

export interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

export interface Expr {
  panel: string;
  expr: string;
}

export const dashboard = JSON.parse(readExample('grafana-dashboard.json')) as Dashboard;
export const allPanels: Panel[] = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
export const queryPanels = allPanels.filter((p) => p.type !== 'row');
/** Every panel query. */
export const exprs: Expr[] = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: `${p.title} ${t.refId}`, expr: t.expr ?? '' })));
export const variableQuery = (v: Variable): string => (typeof v.query === 'string' ? v.query : v.query?.query ?? '');
/** The queries of the query variables (label_values(...)). */
export const variableExprs: Expr[] = dashboard.templating.list
  .filter((v) => v.type === 'query')
  .map((v) => ({ panel: `variable ${v.name}`, expr: variableQuery(v) }));

/** An expression as Prometheus would get it from Grafana: every variable given a value. */
export function substitute(expr: string, rateInterval = '2m', range = '6h'): string {
  return expr.replaceAll('$__rate_interval', rateInterval).replaceAll('$__range', range).replaceAll('$target', '.*').replaceAll('$module', '.*');
}

export interface DashboardDaemon {
  base: string;
  port: number;
  stop(): Promise<void>;
}

/** The daemon (in this process, port 0) and its servers; stop() stops the daemon and removes its files. */
export async function startDashboardDaemon(): Promise<DashboardDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-grafana-'));
  const mx = await startFakeMx();
  const pop = await startFakePop3(() =>
    mx.received.map((m) => `Received: from probe.test by mx1.example.test with ESMTP; ${new Date().toUTCString()}\r\n${m.raw.toString('latin1')}`),
  );
  const dns = await startDnsServer({ 'example.test': { mx: [[10, 'mx1.example.test']] }, 'mx1.example.test': { a: ['127.0.0.1'] } });
  const hook = await startWebhookSink();
  writeFileSync(join(dir, 'ca.pem'), testCa().cert);
  writeFileSync(join(dir, 'mailbox-password'), 'box-secret\n');
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `global: { interval: 1s, timeout: 800ms, phase_timeout: 500ms, ehlo: probe.test, state_file: ${join(dir, 'state.json')} }
modules:
  delivery:
    tls: starttls
    tls_config: { ca_file: ${join(dir, 'ca.pem')}, server_name: ${TEST_SERVER_NAME} }
    send: { from: probe@example.test, to: [box@example.test] }
    roundtrip: { mailbox: "pop3://127.0.0.1:${pop.port}", username: box, password_file: ${join(dir, 'mailbox-password')}, allow_plaintext: true, timeout: 1s, poll_interval: 100ms }
  plain: { tls: none }
  opportunistic: { tls: opportunistic }
  load: { tls: none, capacity: { sessions: 2, until: ehlo, duration: 300ms, every: 2s } }
targets:
  - { name: delivery, url: "smtp://127.0.0.1:${mx.port}", module: delivery, interval: 2s }
  - { name: domain, url: "mx://example.test:${mx.port}", module: opportunistic, dns_servers: ["${dns.address}"] }
  - { name: down, url: "smtp://127.0.0.1:${await freePort()}", module: plain }
  - { name: load, url: "smtp://127.0.0.1:${mx.port}", module: load }
alerts:
  rules:
    - { name: smtp_probe_down, kind: down, targets: [down], failure_threshold: 1, receivers: [ops] }
  receivers:
    - { name: ops, type: webhook, url: "${hook.url('/ops')}" }
`,
  );
  const t = await startTestDaemon(config);
  const port = Number(new URL(t.base).port);
  return {
    base: t.base,
    port,
    stop: async () => {
      await t.d.stop(2000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
