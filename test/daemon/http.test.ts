/**
 * The daemon's HTTP side under `global.web` and against hostile requests, over real loopback sockets: module
 * names that are not modules, the /probe credential guard, a bounded /probe flood against a real SMTP responder,
 * /probe in flight at stop, and the reload switch.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log.js';
import { systemLookup } from '../../src/runner/run.js';
import { serverCert } from '../helpers/certs.js';

/** A minimal SMTP responder that counts connections; with `held`, it greets only once `open()` is called. */
interface Responder {
  port: number;
  active: number;
  peak: number;
  connections: number;
  open(): void;
  close(): Promise<void>;
}

async function responder(held = false): Promise<Responder> {
  let release: () => void = () => undefined;
  const gate = held ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  const sockets = new Set<net.Socket>();
  const r: Responder = { port: 0, active: 0, peak: 0, connections: 0, open: () => release(), close: async () => undefined };
  const server = net.createServer((s) => {
    sockets.add(s);
    r.connections++;
    r.active++;
    r.peak = Math.max(r.peak, r.active);
    s.on('close', () => {
      sockets.delete(s);
      r.active--;
    });
    s.on('error', () => undefined);
    void gate.then(() => {
      if (s.destroyed) return;
      s.write('220 mx.test ESMTP\r\n');
      s.on('data', (d) => {
        for (const line of d.toString().split('\r\n').filter(Boolean)) s.write(/^QUIT/i.test(line) ? '221 bye\r\n' : '250 ok\r\n');
      });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  r.port = (server.address() as net.AddressInfo).port;
  r.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((ok) => server.close(ok));
  };
  return r;
}

let dir: string;
const daemons: Daemon[] = [];
const responders: Responder[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-http-'));
  const pair = serverCert();
  writeFileSync(join(dir, 'client.pem'), pair.cert);
  writeFileSync(join(dir, 'client.key'), pair.key);
});
afterEach(async () => {
  for (const r of responders) r.open();
  await Promise.all(daemons.splice(0).map((d) => d.stop(2000)));
  await Promise.all(responders.splice(0).map((r) => r.close()));
});

async function startResponder(held = false): Promise<Responder> {
  const r = await responder(held);
  responders.push(r);
  return r;
}

function configText(web = ''): string {
  return `global: { interval: 1m, timeout: 5s, phase_timeout: 4s, ehlo: probe.test${web ? `, web: { ${web} }` : ''} }
modules:
  plain: { tls: none }
  client_cert:
    tls: none
    tls_config: { cert_file: ${join(dir, 'client.pem')}, key_file: ${join(dir, 'client.key')} }
  cert_only:
    tls: none
    tls_config: { cert_file: ${join(dir, 'client.pem')} }
  from_address:
    tls: none
    source_ip_address: 127.0.0.1
  pinned:
    tls: none
    source_ip_address: 127.0.0.1
    probe_targets: ["smtp://127.0.0.1:2525"]
`;
}

function writeConfig(text: string): string {
  const file = join(dir, `config-${daemons.length}-${Date.now()}.yaml`);
  writeFileSync(file, text);
  return file;
}

function create(file: string): Daemon | string[] {
  return Daemon.create({
    configFile: file, env: {}, shard: null, listen: { host: '127.0.0.1', port: 0 }, clock: systemClock,
    lookup: systemLookup, logger: createLogger('silent'), version: '9.9.9', workers: 1,
  });
}

async function startDaemon(text: string): Promise<{ d: Daemon; base: string; file: string }> {
  const file = writeConfig(text);
  const d = create(file);
  if (Array.isArray(d)) throw new Error(d.join('\n'));
  daemons.push(d);
  const a = await d.start();
  return { d, base: `http://127.0.0.1:${a.port}`, file };
}

const get = async (url: string, init?: RequestInit) => {
  const r = await fetch(url, init);
  return { status: r.status, headers: r.headers, body: await r.text() };
};

async function until(what: () => boolean, ms = 5000, message = 'condition not met in time'): Promise<void> {
  for (const end = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error(message);
  }
}

async function eventually(what: () => Promise<boolean>, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !(await what()); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

describe('/probe module names', () => {
  test('names of Object.prototype members are unknown modules (400), and no check runs', async () => {
    const smtp = await startResponder();
    const { base } = await startDaemon(configText());
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const r = await get(`${base}/probe?target=smtp://127.0.0.1:${smtp.port}&module=${name}`);
      expect(r.status, name).toBe(400);
      expect(r.body).toMatch(/unknown module/);
    }
    expect(smtp.connections).toBe(0);
    expect((await get(`${base}/probe?target=smtp://127.0.0.1:${smtp.port}&module=plain`)).body).toMatch(/^probe_success 1$/m);
  });
});

describe('/probe credential guard', () => {
  test('a module with a client certificate or key, or a source address, only probes its probe_targets (403 elsewhere)', async () => {
    const smtp = await startResponder();
    const { base } = await startDaemon(configText());
    for (const module of ['client_cert', 'cert_only', 'from_address', 'pinned']) {
      const r = await get(`${base}/probe?target=smtp://127.0.0.1:${smtp.port}&module=${module}`);
      expect(r.status, module).toBe(403);
      expect(r.body).toMatch(/only probes its probe_targets/);
    }
    expect(smtp.connections).toBe(0);
    expect((await get(`${base}/probe?target=smtp://127.0.0.1:${smtp.port}&module=plain`)).status).toBe(200);
  });
});

describe('/probe flood', () => {
  test('200 concurrent /probe under the default max_concurrent_probes (32): at most 32 SMTP connections, the rest 503 with Retry-After', async () => {
    const limit = 32; // DEFAULTS.web.maxConcurrentProbes
    const smtp = await startResponder(true);
    const { base } = await startDaemon(configText());
    const url = `${base}/probe?target=smtp://127.0.0.1:${smtp.port}&module=plain`;
    const answers: { status: number; retryAfter: string | null; body: string }[] = [];
    const all = Array.from({ length: 200 }, () =>
      get(url).then((r) => void answers.push({ status: r.status, retryAfter: r.headers.get('retry-after'), body: r.body }), () => undefined),
    );
    await until(() => answers.length + smtp.active >= 200, 10_000, `${answers.length} answered, ${smtp.active} SMTP connections open`);
    expect(smtp.peak).toBe(limit);
    expect(answers).toHaveLength(200 - limit);
    expect(answers.every((a) => a.status === 503 && Number(a.retryAfter) >= 1)).toBe(true);
    expect((await get(`${base}/healthz`)).status).toBe(200);
    smtp.open();
    await Promise.all(all);
    const ok = answers.filter((a) => a.status === 200);
    expect(ok).toHaveLength(limit);
    for (const a of ok) expect(a.body).toMatch(/^probe_success 1$/m);
    expect(smtp.peak).toBe(limit);
  });

  test('32 /probe runs at once raise no MaxListenersExceededWarning (each listens to the daemon\'s shutdown)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const smtp = await startResponder(true);
      const { base } = await startDaemon(configText());
      const url = `${base}/probe?target=smtp://127.0.0.1:${smtp.port}&module=plain`;
      const all = Array.from({ length: 32 }, () => get(url));
      await until(() => smtp.active === 32, 10_000, `${smtp.active} SMTP connections open`);
      smtp.open();
      await Promise.all(all);
      await new Promise<void>((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.filter((n) => n === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('/probe in flight at stop', () => {
  test('a run that finishes within the grace period answers its real result', async () => {
    const smtp = await startResponder(true);
    const { d, base } = await startDaemon(configText());
    const answer = get(`${base}/probe?target=smtp://127.0.0.1:${smtp.port}&module=plain`);
    await until(() => smtp.active === 1);
    const stopped = d.stop(5000);
    // stopping: /healthz says so and a new /probe is refused (503), while the running one continues
    await eventually(async () => (await get(`${base}/healthz`)).status === 503);
    const late = await get(`${base}/probe?target=smtp://127.0.0.1:${smtp.port}&module=plain`);
    expect(late.status).toBe(503);
    smtp.open();
    const r = await answer;
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^probe_success 1$/m);
    await stopped;
  });
  test('a run still going when the grace period ends answers 503, never a false probe_success 0', async () => {
    const smtp = await startResponder(true);
    const { d, base } = await startDaemon(configText());
    const answer = get(`${base}/probe?target=smtp://127.0.0.1:${smtp.port}&module=plain`);
    await until(() => smtp.active === 1);
    await d.stop(300);
    const r = await answer;
    expect(r.status).toBe(503);
    expect(r.body).not.toMatch(/probe_success/);
  });
});

describe('global.web', () => {
  test('reload: false refuses POST /-/reload; a reload (SIGHUP) that turns it on applies at once', async () => {
    const { d, base, file } = await startDaemon(configText('reload: false'));
    const off = await get(`${base}/-/reload`, { method: 'POST' });
    expect(off.status).toBe(403);
    writeFileSync(file, configText('reload: true, max_concurrent_probes: 2'));
    expect((await d.reload()).ok).toBe(true);
    expect((await get(`${base}/-/reload`, { method: 'POST' })).status).toBe(200);
    expect((await get(`${base}/-/reload`, { method: 'POST', headers: { 'Sec-Fetch-Site': 'cross-site' } })).status).toBe(403);
  });
  test('header_timeout over request_timeout, or a zero timeout, is a config error', () => {
    const bad = create(writeConfig(configText('header_timeout: 40s, request_timeout: 30s')));
    expect(Array.isArray(bad) ? bad.join('\n') : 'loaded').toMatch(/global\.web\.header_timeout: .*request_timeout/);
    const zero = create(writeConfig(configText('keep_alive_timeout: 0s')));
    expect(Array.isArray(zero) ? zero.join('\n') : 'loaded').toMatch(/global\.web\.keep_alive_timeout/);
  });
});
