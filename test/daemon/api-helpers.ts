/** What the API tests share: the three servers and the three-target config, waiting for a condition, GET as JSON. */
import { startFakeMx, type FakeMx } from '../helpers/fake-mx.js';
import { freePort } from '../helpers/ports.js';

/** A healthy server, one that refuses RCPT for gone@ with 550 5.1.1, and a closed port (closeAll stops them). */
export async function startApiServers(): Promise<{ healthy: FakeMx; refusing: FakeMx; closed: number }> {
  const healthy = await startFakeMx();
  const refusing = await startFakeMx({ rcptRules: [{ match: /^gone@/, code: 550, message: '5.1.1 <gone@example.test>: Recipient address rejected' }] });
  return { healthy, refusing, closed: await freePort() };
}

/** Three targets; the third's name needs percent-encoding in a path. */
export function apiConfig(ports: { healthy: number; refusing: number; closed: number }, extra = ''): string {
  return `global: { interval: 500ms, timeout: 450ms, phase_timeout: 400ms, ehlo: probe.test${extra} }
modules:
  mail: { tls: none, send: { from: probe@example.test, to: [ok@example.test] } }
  gone: { tls: none, send: { from: probe@example.test, to: [gone@example.test] } }
targets:
  - { name: healthy, url: "smtp://127.0.0.1:${ports.healthy}", module: mail, labels: { env: test } }
  - { name: refused, url: "smtp://127.0.0.1:${ports.refusing}", module: gone, labels: { env: test } }
  - { name: "down/1:b", url: "smtp://127.0.0.1:${ports.closed}", module: mail }
`;
}

export async function until(what: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !(await what()); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

export async function getJson<T>(url: string): Promise<{ status: number; type: string; body: T }> {
  const r = await fetch(url);
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: (await r.json()) as T };
}
