/**
 * The `dane` posture check against the real validating resolver of test/real/dnsstack.sh (unbound in front of
 * nsd, DNSSEC-signed test zones on 127.0.0.1; .ci/run starts it), through the AD-reading DNS client
 * `src/dns/secure.ts`. A scripted STARTTLS server on 127.0.0.1:0 serves the stack's certificate (with its CA);
 * the TLSA records are looked up at `_25._tcp.MX` as a sender would, the connection goes to the test port.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { createSecureDns } from '../../src/dns/secure.js';
import { runDane } from '../../checks/posture/dane.js';
import type { PostureFinding } from '../../src/core/posture.js';
import { closeAll } from '../helpers/cleanup.js';
import type { ScriptedServer } from '../helpers/scripted-server.js';
import { STRONG, startPostureServer, testDeps } from '../posture/helpers/smtp-server.js';
import { stacksUp } from './stacks.js';

const env = process.env;
const server = stacksUp('posture-dane.test', 'dns') ? env.DNSSTACK_SERVER : undefined;

const zone = env.DNSSTACK_ZONE ?? 'probe-posture.test';
const bogus = env.DNSSTACK_BOGUS_ZONE ?? 'bogus-posture.test';
const insecure = env.DNSSTACK_INSECURE_ZONE ?? 'insecure-posture.test';
const row = (fs: PostureFinding[]): [string, string | null][] => fs.map((f) => [f.result, f.reason]);

describe.skipIf(!server)('dane against unbound + nsd', () => {
  const dns = createSecureDns({ server: server ?? null, timeoutMs: 5000, clock: systemClock });
  let smtp: ScriptedServer;

  beforeAll(async () => {
    const pair = { cert: readFileSync(env.DNSSTACK_CERT!, 'utf8') + readFileSync(env.DNSSTACK_CA!, 'utf8'), key: readFileSync(env.DNSSTACK_KEY!, 'utf8') };
    smtp = await startPostureServer({ tls: { pair, options: STRONG } });
  });
  afterAll(closeAll);

  /** What a sender learned of the MX and the host's A RRsets (their AD bits), then the dane check of that host. */
  async function dane(domain: string, mxHost: string, at?: number): Promise<PostureFinding[]> {
    const mx = await dns.query(domain, 'MX');
    const a = await dns.query(mxHost, 'A');
    expect(mx.records.map((r) => r.exchange)).toContain(mxHost);
    const t = { mxHost, address: '127.0.0.1', port: smtp.port, tlsaPort: 25, mxSecure: mx.ad, addressSecure: a.ad };
    return runDane(t, { ...testDeps, tlsa: (name) => dns.query(name, 'TLSA') }, { at });
  }

  function setTlsa(state: 'good' | 'stale'): void {
    execFileSync('bash', ['test/real/dnsstack.sh', 'set-tlsa', 'mx1', state], { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  test('mx1 (3 1 1 of the served key) passes; mx2 (3 1 1 of a stale key) fails tlsa-invalid; mx3 (2 0 1 of the CA) passes', async () => {
    expect(row(await dane(zone, `mx1.${zone}`))).toEqual([['pass', null]]);
    expect(row(await dane(zone, `mx2.${zone}`))).toEqual([['fail', 'tlsa-invalid']]);
    expect(row(await dane(zone, `mx3.${zone}`))).toEqual([['pass', null]]);
  });

  test('--at after the leaf ends: DANE-TA (mx3) fails certificate-expired, DANE-EE (mx1) still passes', async () => {
    const later = Date.now() + 20 * 365 * 86_400_000;
    expect(row(await dane(zone, `mx3.${zone}`, later))).toEqual([['fail', 'certificate-expired']]);
    expect(row(await dane(zone, `mx1.${zone}`, later))).toEqual([['pass', null]]);
  });

  test('the bogus zone (tampered TLSA) fails dnssec-invalid; the insecure zone is n/a', async () => {
    const [b] = await dane(bogus, `mx1.${bogus}`);
    expect(b).toMatchObject({ result: 'fail', reason: 'dnssec-invalid' });
    expect(b!.detail).toMatch(/SERVFAIL/);
    const [i] = await dane(insecure, `mx1.${insecure}`);
    expect(i).toMatchObject({ result: 'n/a', reason: 'insecure' });
  });

  test('set-tlsa mx1 stale fails it, good passes it again', async () => {
    try {
      setTlsa('stale');
      expect(row(await dane(zone, `mx1.${zone}`))).toEqual([['fail', 'tlsa-invalid']]);
    } finally {
      setTlsa('good');
    }
    expect(row(await dane(zone, `mx1.${zone}`))).toEqual([['pass', null]]);
  }, 60_000);
});
