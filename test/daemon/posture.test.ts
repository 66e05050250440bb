/**
 * The daemon's posture runs over real sockets: a module with `posture:` (every 1 s, checks dane and starttls),
 * an mx:// target whose MX host's connections go (posture.connect_to) to a scripted STARTTLS server on
 * 127.0.0.1:0, DNS from a table that answers as a validating resolver would (AD set), and a posture alert rule
 * to a webhook sink. The TLSA record is made stale and fixed again: /metrics and the webhook follow both ways.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { associationData, type TlsaData } from '../../checks/posture/tlsa.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import type { PostureSnapshot } from '../../src/core/posture.js';
import type { SecureDns } from '../../src/dns/secure.js';
import { closeAll } from '../helpers/cleanup.js';
import { serverCert, wrongNameCert } from '../helpers/certs.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';
import { fakeSecureDns, type FakeEntry } from '../dns/secure-fake.js';
import { STRONG, startPostureServer } from '../posture/helpers/smtp-server.js';
import { until } from '../web/wait.js';

const MX = 'mail.example.test';
const pair = serverCert(MX);
const tlsaOf = (certPem: string): TlsaData => {
  const der = new X509Certificate(certPem).raw;
  return { usage: 3, selector: 1, matchingType: 1, data: associationData(der, 1, 1)! };
};
const GOOD = tlsaOf(pair.cert);
const STALE = tlsaOf(wrongNameCert().cert);

let dir: string;
let hook: WebhookSink;
let tlsa: TlsaData = GOOD;
const daemons: Daemon[] = [];

/** What a validating resolver says of the test domain, the TLSA record as it is now. */
const dns: SecureDns = {
  query: (name, type) => {
    const table: Record<string, FakeEntry> = {
      'example.test MX': { ad: true, records: [{ exchange: MX, preference: 10 }] },
      [`${MX} A`]: { ad: true, records: ['127.0.0.1'] },
      [`_25._tcp.${MX} TLSA`]: { ad: true, records: [tlsa] },
    };
    return fakeSecureDns(table, { ad: true }).query(name, type);
  },
};

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-posture-'));
  hook = await startWebhookSink();
  tlsa = GOOD;
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop(1000)));
  await hook.close();
  await closeAll();
});

async function start(smtpPort: number, client: SecureDns = dns): Promise<string> {
  const file = join(dir, 'config.yaml');
  // The target's own check asks a DNS server on a closed loopback port: it fails at dns, nothing leaves the host.
  writeFileSync(file, `global: { interval: 1h, timeout: 2s, phase_timeout: 1s, ehlo: probe.test, dns_servers: ["127.0.0.1:9"] }
modules:
  sec:
    posture: { checks: [dane, starttls], every: 1s, connect_to: ["${MX}:25:127.0.0.1:${smtpPort}"] }
targets:
  - { name: example, url: "mx://example.test", module: sec, labels: { env: test } }
alerts:
  rules:
    - { name: dane_broken, kind: posture, checks: [dane], receivers: [ops] }
  receivers:
    - { name: ops, type: webhook, url: "${hook.url('/hook')}" }
`);
  const t = await startTestDaemon(file, { posture: { dns: () => client } });
  daemons.push(t.d);
  return t.base;
}

const metrics = async (base: string): Promise<string> => (await fetch(`${base}/metrics`)).text();
interface Body { status: string; alert: string; target: string; summary: string; result: unknown; findings?: { check: string; result: string; reason: string | null; mxHost: string; address: string }[] }
const bodies = (): Body[] => hook.requests.filter((r) => r.path === '/hook').map((r) => JSON.parse(r.body) as Body);

describe('posture runs in the daemon', () => {
  test('a stale TLSA fires the posture alert through the webhook, a fixed one resolves it; /metrics follows', async () => {
    const smtp = await startPostureServer({ tls: { pair, options: STRONG } });
    const base = await start(smtp.port);
    const result = `smtp_probe_posture_result{target="example",env="test",check="dane",mx_host="${MX}"}`;
    await until('dane passes', async () => (await metrics(base)).includes(`${result} 1`));
    let text = await metrics(base);
    expect(text).toContain(`smtp_probe_posture_result{target="example",env="test",check="starttls",mx_host="${MX}"} 1`);
    expect(text).toContain(`smtp_probe_posture_info{target="example",env="test",check="dane",mx_host="${MX}",result="pass",reason=""} 1`);
    expect(text).toMatch(/smtp_probe_posture_last_run_timestamp_seconds\{target="example",env="test"\} 1\d{9}/);
    expect(bodies()).toEqual([]);

    tlsa = STALE;
    await until('the firing reaches the webhook', () => bodies().some((b) => b.status === 'firing'));
    const firing = bodies()[0]!;
    expect(firing).toMatchObject({ alert: 'dane_broken', target: 'example', result: null });
    expect(firing.summary).toMatch(new RegExp(`^posture of example\\.test: dane fail at ${MX} 127\\.0\\.0\\.1 \\(tlsa-invalid\\)`));
    expect(firing.findings).toEqual([expect.objectContaining({ check: 'dane', result: 'fail', reason: 'tlsa-invalid', mxHost: MX, address: '127.0.0.1' })]);
    await until('dane fails on /metrics', async () => (await metrics(base)).includes(`${result} 0`));
    text = await metrics(base);
    expect(text).toContain(`smtp_probe_posture_info{target="example",env="test",check="dane",mx_host="${MX}",result="fail",reason="tlsa-invalid"} 1`);
    expect(text).not.toContain(`smtp_probe_posture_info{target="example",env="test",check="dane",mx_host="${MX}",result="pass",reason=""}`);
    expect(text).toContain('smtp_probe_alerts_firing{alert="dane_broken"} 1');
    // The API: the last posture run, and what moved since the run before (dane pass → fail).
    const api = await until('the API shows the change', async () => {
      const d = (await (await fetch(`${base}/api/v1/targets/example`)).json()) as { posture: PostureSnapshot | null };
      return d.posture?.lastChange ? d.posture : undefined;
    });
    expect(api).toMatchObject({ domain: 'example.test', mx: [{ host: MX, preference: 10, addresses: ['127.0.0.1'] }], problems: [] });
    expect(api.previousAt).not.toBeNull();
    expect(api.lastChange!.previousAt < api.lastChange!.at).toBe(true);
    expect(api.lastChange!.changes).toEqual([{ check: 'dane', mxHost: MX, address: '127.0.0.1', from: 'pass', to: 'fail', reason: 'tlsa-invalid', detail: expect.any(String) }]);
    expect(api.findings.map((f) => [f.check, f.result])).toEqual([['dane', 'fail'], ['starttls', 'pass']]);

    tlsa = GOOD;
    await until('the resolve reaches the webhook', () => bodies().some((b) => b.status === 'resolved'));
    expect(bodies().map((b) => b.status)).toEqual(['firing', 'resolved']);
    expect(bodies()[1]!.findings).toEqual([]);
    await until('dane passes again on /metrics', async () => (await metrics(base)).includes(`${result} 1`));
    expect(await metrics(base)).toContain('smtp_probe_alerts_firing{alert="dane_broken"} 0');
  });

  test('n/a has no result series but an info series', async () => {
    const smtp = await startPostureServer({ tls: { pair, options: STRONG } });
    // The MX host's address is not validated (no AD on its A RRset): DANE cannot be trusted, n/a.
    const plain: SecureDns = { query: (name, type) => fakeSecureDns({ 'example.test MX': { ad: true, records: [{ exchange: MX, preference: 10 }] }, [`${MX} A`]: { ad: false, records: ['127.0.0.1'] } }, { ad: false }).query(name, type) };
    const base = await start(smtp.port, plain);
    await until('a posture run', async () => (await metrics(base)).includes('smtp_probe_posture_last_run_timestamp_seconds{'));
    const text = await metrics(base);
    expect(text).not.toMatch(/smtp_probe_posture_result\{[^}]*check="dane"/);
    expect(text).toMatch(new RegExp(`smtp_probe_posture_info\\{target="example",env="test",check="dane",mx_host="${MX}",result="n/a",reason="insecure"\\} 1`));
    expect(text).toContain(`smtp_probe_posture_result{target="example",env="test",check="starttls",mx_host="${MX}"} 1`);
  });
});
