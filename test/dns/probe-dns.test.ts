/**
 * /probe resolves names the way scheduled targets do: through global.dns_servers when the config sets them (the
 * hosts file first), otherwise through the system's resolver, both without getaddrinfo.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, test } from 'vitest';
import { Daemon } from '../../src/daemon/daemon.js';
import { closeAll } from '../helpers/cleanup.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { startResponders } from './responder.js';
import { startTestDaemon } from '../helpers/daemon.js';

const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-probe-dns-'));
const daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop(2000)));
  await closeAll();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('/probe of a name only global.dns_servers knows: resolved through them; localhost still from the hosts file', async () => {
  const dns = await startDnsServer({ 'probe-only.test': { a: ['127.0.0.1'] } });
  const smtp = await startResponders({ '127.0.0.1': {} });
  const file = join(dir, 'config.yaml');
  writeFileSync(file, `global: { interval: 60s, timeout: 2s, phase_timeout: 1s, ehlo: probe.test, dns_servers: ["${dns.address}"] }
modules:
  plain: { tls: none }
targets:
  - { name: local, url: "smtp://127.0.0.1:${smtp.port}", module: plain }
`);
  const { d, base } = await startTestDaemon(file);
  daemons.push(d);
  const probe = async (target: string): Promise<string> =>
    (await fetch(`${base}/probe?target=${encodeURIComponent(target)}&module=plain&debug=true`)).text();

  const named = await probe(`smtp://probe-only.test:${smtp.port}`);
  expect(named).toMatch(/^probe_success 1$/m);
  expect(dns.queriesFor('probe-only.test', 'A')).toHaveLength(1);
  expect(await probe(`smtp://localhost:${smtp.port}`)).toMatch(/^probe_success 1$/m);
  expect(dns.queriesFor('localhost')).toEqual([]);
});
