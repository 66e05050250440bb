/**
 * The daemon's posture runs against the real validating resolver of test/real/dnsstack.sh (unbound in front of
 * nsd, the signed zone probe-posture.test; .ci/run starts it): a module with `posture:` (checks dane, every 1 s,
 * dns_server the stack's unbound), the target smtp://mx1.probe-posture.test, its port-25 connections sent by
 * posture.connect_to to a scripted STARTTLS server on 127.0.0.1:0 that serves the zone's certificate, and a posture
 * alert rule to a webhook sink. `dnsstack.sh set-tlsa mx1 stale` makes the TLSA record stale (re-signed, nsd
 * restarted, unbound flushed): the alert fires through the webhook; `set-tlsa mx1 good` resolves it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Daemon } from '../../src/daemon/daemon.js';
import { closeAll } from '../helpers/cleanup.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';
import { STRONG, startPostureServer } from '../posture/helpers/smtp-server.js';
import { until } from '../web/wait.js';
import { stacksUp } from './stacks.js';

const env = process.env;
const server = stacksUp('posture-daemon.test', 'dns') ? env.DNSSTACK_SERVER : undefined;

const zone = env.DNSSTACK_ZONE ?? 'probe-posture.test';
const mx1 = `mx1.${zone}`;

function setTlsa(state: 'good' | 'stale'): void {
  execFileSync('bash', ['test/real/dnsstack.sh', 'set-tlsa', 'mx1', state], { stdio: ['ignore', 'ignore', 'pipe'] });
}

interface Body { status: string; alert: string; target: string; summary: string; findings?: { check: string; result: string; reason: string | null; mxHost: string }[] }

describe.skipIf(!server)('a posture alert through the daemon, the real resolver and a webhook', () => {
  let hook: WebhookSink;
  let d: Daemon;
  let base: string;
  const bodies = (): Body[] => hook.requests.filter((r) => r.path === '/hook').map((r) => JSON.parse(r.body) as Body);
  const metrics = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
  const series = `smtp_probe_posture_result{target="mx1",check="dane",mx_host="${mx1}"}`;

  beforeAll(async () => {
    const pair = { cert: readFileSync(env.DNSSTACK_CERT!, 'utf8') + readFileSync(env.DNSSTACK_CA!, 'utf8'), key: readFileSync(env.DNSSTACK_KEY!, 'utf8') };
    const smtp = await startPostureServer({ tls: { pair, options: STRONG } });
    hook = await startWebhookSink();
    const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-posture-real-'));
    const file = join(dir, 'config.yaml');
    // The target's own check (every hour) asks the same unbound: no name of the test zone goes to the system resolver.
    writeFileSync(file, `global: { interval: 1h, timeout: 2s, phase_timeout: 1s, ehlo: probe.test }
modules:
  sec:
    posture: { checks: [dane], every: 1s, dns_server: "${server}", connect_to: ["${mx1}:25:127.0.0.1:${smtp.port}"] }
targets:
  - { name: mx1, url: "smtp://${mx1}", module: sec, dns_servers: ["${server}"] }
alerts:
  rules:
    - { name: dane_broken, kind: posture, checks: [dane], receivers: [ops] }
  receivers:
    - { name: ops, type: webhook, url: "${hook.url('/hook')}" }
`);
    ({ d, base } = await startTestDaemon(file));
  });
  afterAll(async () => {
    setTlsa('good');
    await d?.stop(1000);
    await hook?.close();
    await closeAll();
  });

  test('good → pass; stale → fail tlsa-invalid and the alert fires; good again → pass and it resolves', async () => {
    await until('dane passes on /metrics', async () => (await metrics()).includes(`${series} 1`), 30_000);
    expect(bodies()).toEqual([]);
    try {
      setTlsa('stale');
      await until('the firing reaches the webhook', () => bodies().some((b) => b.status === 'firing'), 30_000);
      const firing = bodies()[0]!;
      expect(firing).toMatchObject({ alert: 'dane_broken', target: 'mx1' });
      expect(firing.findings).toEqual([expect.objectContaining({ check: 'dane', result: 'fail', reason: 'tlsa-invalid', mxHost: mx1 })]);
      expect(firing.summary).toContain(`dane fail at ${mx1} 127.0.0.1 (tlsa-invalid)`);
      expect(await metrics()).toContain(`smtp_probe_posture_info{target="mx1",check="dane",mx_host="${mx1}",result="fail",reason="tlsa-invalid"} 1`);
    } finally {
      setTlsa('good');
    }
    await until('the resolve reaches the webhook', () => bodies().some((b) => b.status === 'resolved'), 30_000);
    expect(bodies().map((b) => b.status)).toEqual(['firing', 'resolved']);
    await until('dane passes again on /metrics', async () => (await metrics()).includes(`${series} 1`), 30_000);
  }, 120_000);
});
