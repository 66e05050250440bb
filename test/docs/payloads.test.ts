/**
 * The published schemas describe what smtp-probe really sends: result records of real runs against test servers
 * (a STARTTLS + AUTH + delivery success with its transcript, a refused recipient, a refused connection, an
 * mx:// run, a round trip read back from what the server received) and webhook payloads (built by the
 * receiver from the alert engine's notifications, and posted by the daemon to an HTTP sink) validate against
 * the zod schemas of src/schemas, whose objects are strict: a field the code adds without documenting it fails
 * here. The same values are also checked against the generated JSON Schema files in docs/.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.js';
import { webhookReceiver } from '../../src/alerts/providers/webhook.js';
import type { AlertRule, Notification } from '../../src/alerts/types.js';
import { json } from '../../src/cli/reporters/json.js';
import { systemClock } from '../../src/core/clock.js';
import type { CheckPlan } from '../../src/core/plan.js';
import type { CheckResult } from '../../src/core/result.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log.js';
import type { MailboxClient } from '../../src/mailbox/types.js';
import { makePlan, makeSend } from '../../src/plan/build.js';
import { runTarget } from '../../src/runner/mx.js';
import { systemDeps, systemLookup } from '../../src/runner/run.js';
import { checkResultSchema, jsonReportSchema } from '../../src/schemas/result.js';
import { webhookPayloadSchema } from '../../src/schemas/webhook.js';
import { checkJsonSchema, type Schema } from '../config/json-schema-check.js';
import { ZONE } from '../dns/fixtures.js';
import { closeAll } from '../helpers/cleanup.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { startFakeMx, type FakeMx } from '../helpers/fake-mx.js';
import { authPlan, localPlan, probe, trustedTls } from '../helpers/plans.js';
import { toggledServer } from '../helpers/toggled-smtp.js';
import { startWebhookSink } from '../helpers/webhook-sink.js';

afterEach(closeAll);

const ROOT = join(import.meta.dirname, '../..');
const RECORD_JSON_SCHEMA = JSON.parse(readFileSync(join(ROOT, 'docs/result-record.schema.json'), 'utf8')) as Schema;
const PAYLOAD_JSON_SCHEMA = JSON.parse(readFileSync(join(ROOT, 'docs/webhook-payload.schema.json'), 'utf8')) as Schema;

/** Valid by the zod schema and by the published JSON Schema. */
function expectRecord(r: CheckResult): void {
  const parsed = checkResultSchema.safeParse(JSON.parse(JSON.stringify(r)));
  expect(parsed.success, parsed.error?.message).toBe(true);
  expect(checkJsonSchema(RECORD_JSON_SCHEMA, JSON.parse(JSON.stringify(r)))).toEqual([]);
}

function expectPayload(body: string): Record<string, unknown> {
  const value = JSON.parse(body) as Record<string, unknown>;
  const parsed = webhookPayloadSchema.safeParse(value);
  expect(parsed.success, parsed.error?.message).toBe(true);
  expect(checkJsonSchema(PAYLOAD_JSON_SCHEMA, value)).toEqual([]);
  return value;
}

/** One real run (runCheck, through the plans helper), as the record the runner made. */
async function run(plan: CheckPlan): Promise<CheckResult> {
  const { wallMs: _w, ...record } = await probe(plan);
  return record;
}

const USERS = { probe: 's3cret-pass' };
const submission = (mx: FakeMx, p: Partial<CheckPlan> = {}): CheckPlan =>
  localPlan(mx.port, {
    tls: 'starttls', tlsParams: trustedTls(), auth: authPlan('probe', USERS.probe), transcript: true,
    send: makeSend({ from: 'probe@example.test', to: ['probe@example.test'] }), ...p,
  });

/** A mailbox that finds what the test server received, with the headers a delivering server adds. */
function mailboxOf(mx: FakeMx): MailboxClient {
  const stamp = new Date().toUTCString().replace('GMT', '+0000');
  return {
    async open() {
      return {
        async take() {
          const got = mx.received.at(-1);
          if (!got) return null;
          const raw = [
            'Authentication-Results: mail.example.test; spf=pass smtp.mailfrom=probe@example.test; dkim=none; dmarc=none header.from=example.test',
            `Received: from mail.example.test by box.example.test with LMTP id 2; ${stamp}`,
            `Received: from probe.example.test (localhost [127.0.0.1]) by mail.example.test with ESMTPS id 1; ${stamp}`,
            got.text,
          ].join('\r\n');
          return { raw, folder: 'INBOX', seenAt: Date.now() };
        },
        async cleanup() {
          return 0;
        },
        async close() {},
      };
    },
  };
}

describe('result records of real runs validate against docs/result-record.schema.json', () => {
  test('STARTTLS, AUTH and a delivered message, with the transcript and the capability facts', async () => {
    const mx = await startFakeMx({ users: USERS, authMethods: ['PLAIN'] });
    const r = await run(submission(mx, { requireCapabilities: ['STARTTLS', 'AUTH=PLAIN'] }));
    expect(r.ok, JSON.stringify(r.failure)).toBe(true);
    expect(r.tls?.verified).toBe(true);
    expect(r.transcript?.length).toBeGreaterThan(5);
    expect(r.requiredCapabilities).toMatchObject({ ok: true });
    expectRecord(r);
    expect(jsonReportSchema.safeParse(JSON.parse(json.render({ ok: true, results: [r] }, { transcript: true, minCertDays: null }))).success).toBe(true);
  });

  test('a refused recipient and a refused connection', async () => {
    const mx = await startFakeMx({ rcptRules: [{ match: /nobody@/, code: 550, message: '5.1.1 User unknown' }] });
    const refused = await run(localPlan(mx.port, { send: makeSend({ from: 'a@example.test', to: ['nobody@example.test'] }) }));
    expect(refused.failure).toMatchObject({ phase: 'rcpt', reason: 'reply', code: 550, enhancedCode: '5.1.1' });
    expectRecord(refused);
    const port = mx.port;
    await mx.close();
    const down = await run(localPlan(port));
    expect(down.failure).toMatchObject({ phase: 'connect', reason: 'connect' });
    expectRecord(down);
  });

  test('an mx:// run: one record per MX host with mx { host, preference, address }, TLS not verified', async () => {
    const dns = await startDnsServer(ZONE);
    const mx = await startFakeMx();
    const plan = makePlan({
      host: 'fan.test', port: mx.port, tls: 'opportunistic', ehlo: 'probe.example.test', ipFamily: 4,
      phaseTimeoutMs: 1000, timeoutMs: 3000, mx: { maxHosts: null }, dnsServers: [dns.address],
    });
    const results = await runTarget(plan, systemDeps());
    expect(results).toHaveLength(3);
    for (const r of results) {
      expect(r.mx?.address).toBe('127.0.0.1');
      expect(r.tls?.verifyError).toBeTruthy();
      expectRecord(r);
    }
  });

  test('a round trip: the delivered message read back, its Received chain and Authentication-Results', async () => {
    const mx = await startFakeMx({ users: USERS, authMethods: ['PLAIN'] });
    const plan = submission(mx, { roundtrip: { mailbox: {} as never, timeoutMs: 2000, pollMs: 20 } });
    const [r] = await runTarget(plan, { ...systemDeps(), mailbox: mailboxOf(mx) });
    expect(r!.ok, JSON.stringify(r!.failure)).toBe(true);
    expect(r!.roundtrip?.hops).toHaveLength(2);
    expect(r!.roundtrip?.authResults?.methods?.length).toBe(3);
    expectRecord(r!);
  });

  test('an undocumented field fails (the schema objects are strict)', async () => {
    const mx = await startFakeMx();
    const r = await run(localPlan(mx.port));
    expect(checkResultSchema.safeParse({ ...r, extra: 1 }).success).toBe(false);
    expect(checkResultSchema.safeParse({ ...r, phases: [{ ...r.phases[0], extra: 1 }] }).success).toBe(false);
  });
});

describe('webhook payloads validate against docs/webhook-payload.schema.json', () => {
  test('built by the receiver from the engine: firing for a real failure, resolved for a real success, isolated', async () => {
    const mx = await startFakeMx({ users: USERS, authMethods: ['PLAIN'] });
    const failed = await run(submission(mx, { auth: authPlan('probe', 'wrong') }));
    const passed = await run(submission(mx));
    expect([failed.ok, passed.ok]).toEqual([false, true]);
    const sent: Notification[] = [];
    const rule: AlertRule = {
      name: 'smtp_probe_down', kind: 'down', receivers: ['hook'], targets: null, modules: null, failureThreshold: 1,
      successThreshold: 1, reminderIntervalMs: 0, sendResolved: true, scope: 'host',
    };
    const engine = new AlertEngine({ rules: [rule], silences: [], now: () => Date.now(), notify: (n) => sent.push(n) });
    const target = { name: 'mx1', module: 'submission', labels: { env: 'test' }, intervalMs: 60_000 };
    engine.observe(target, failed);
    engine.observe(target, passed);
    const isolated: Notification = { ...sent[0]!, alert: 'smtp_probe_isolated', alertKind: 'isolated', target: 'smtp-probe', labels: {}, failure: null, result: null };
    const options = { url: 'http://127.0.0.1:9/hook', secret: 'hook-s3cret' };
    const requests = webhookReceiver.build([...sent, isolated], options, { now: Date.now(), externalUrl: 'http://probe.test/' });
    const bodies = requests.map((req) => expectPayload(req.body));
    expect(bodies.map((b) => [b.status, b.alert])).toEqual([['firing', 'smtp_probe_down'], ['resolved', 'smtp_probe_down'], ['firing', 'smtp_probe_isolated']]);
    expect(bodies[0]!.failure).toMatchObject({ phase: 'auth', reason: 'reply', code: 535 });
  });

  test('posted by the daemon to an HTTP sink', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-docs-'));
    const smtp = await toggledServer();
    const hook = await startWebhookSink();
    const file = join(dir, 'config.yaml');
    writeFileSync(file, `global: { interval: 1s, timeout: 800ms, phase_timeout: 500ms, ehlo: probe.test, state_file: ${join(dir, 'state.json')} }
modules: { plain: { tls: none } }
targets: [{ name: mx1, url: "smtp://127.0.0.1:${smtp.port}", module: plain, labels: { env: test } }]
alerts:
  rules: [{ name: smtp_probe_down, kind: down, receivers: [ops], failure_threshold: 1, success_threshold: 1 }]
  receivers: [{ name: ops, type: webhook, url: "${hook.url('/hook')}" }]
`);
    const d = Daemon.create({
      configFile: file, env: {}, shard: null, listen: { host: '127.0.0.1', port: 0 }, clock: systemClock, lookup: systemLookup,
      logger: createLogger('silent'), version: 'test', workers: 1,
    });
    if (Array.isArray(d)) throw new Error(d.join('\n'));
    try {
      smtp.setDown(true);
      await d.start();
      const statuses = (): string[] => hook.requests.map((r) => (JSON.parse(r.body) as { status: string }).status);
      await until(() => statuses().includes('firing'));
      smtp.setDown(false);
      await until(() => statuses().includes('resolved'));
      for (const req of hook.requests) expectPayload(req.body);
    } finally {
      await d.stop(1000);
      await smtp.close();
      await hook.close();
    }
  });
});

async function until(what: () => boolean, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}
