/**
 * `check --strict` (a warning fails the check, in every format), the JUnit shape CI servers read, and failure
 * texts that say each thing once.
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckResult } from '../../src/core/result.js';
import { closeAll } from '../helpers/cleanup.js';
import { testCa } from '../helpers/certs.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { cli, type Run } from '../helpers/cli.js';



let caFile: string;
beforeAll(() => {
  caFile = join(mkdtempSync(join(tmpdir(), 'smtp-probe-strict-')), 'ca.pem');
  writeFileSync(caFile, testCa().cert);
});
afterEach(closeAll);

const tls = (): string[] => ['--tls', 'starttls', '--ca', caFile];
const results = (r: Run): CheckResult[] => (JSON.parse(r.stdout) as { results: CheckResult[] }).results;

describe('--strict: any warning fails the check, the warning text is the message', () => {
  test('a certificate under --min-cert-days passes without --strict (0, WARNING in nagios) and fails with it in every format', async () => {
    const mx = await startFakeMx();
    const url = `smtp://127.0.0.1:${mx.port}`;
    const warn = [url, ...tls(), '--min-cert-days', '99999'];
    for (const format of ['text', 'json', 'junit']) expect((await cli(['check', ...warn, '--format', format])).code).toBe(0);
    expect((await cli(['check', ...warn, '--format', 'nagios'])).code).toBe(1);

    const text = await cli(['check', ...warn, '--strict']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/ {2}FAILED /);
    expect(text.stdout).toMatch(/failure {2}tls_upgrade \(tls\): certificate expires in \d+ days .*under the minimum of 99999/);

    const json = await cli(['check', ...warn, '--strict', '--format', 'json']);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { ok: boolean }).ok).toBe(false);
    expect(results(json)[0]!.failure).toMatchObject({ phase: 'tls_upgrade', reason: 'tls', code: null, message: expect.stringMatching(/^certificate expires in/) });

    const junit = await cli(['check', ...warn, '--strict', '--format', 'junit']);
    expect(junit.code).toBe(1);
    expect(junit.stdout).toMatch(/<testsuite [^>]*failures="1"/);
    expect(junit.stdout).toMatch(/<failure type="tls" message="tls_upgrade \(tls\): certificate expires in \d+ days/);

    const nagios = await cli(['check', ...warn, '--strict', '--format', 'nagios']);
    expect(nagios.code).toBe(2);
    expect(nagios.stdout).toMatch(/^SMTP CRITICAL - .* failed at tls_upgrade \(tls\): certificate expires in/);
  });

  test('any warning, not only the certificate: opportunistic TLS without STARTTLS offered', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true });
    const url = `smtp://127.0.0.1:${mx.port}`;
    const lax = await cli(['check', url, '--format', 'json']);
    expect(lax.code).toBe(0);
    expect(results(lax)[0]!.warnings.join()).toMatch(/STARTTLS not advertised/);
    const strict = await cli(['check', url, '--format', 'json', '--strict']);
    expect(strict.code).toBe(1);
    expect(results(strict)[0]!.failure).toMatchObject({ reason: 'expectation', message: expect.stringMatching(/STARTTLS not advertised/) });
  });

  test('a run over --warning fails with reason slow under --strict', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true });
    const r = await cli(['check', `127.0.0.1:${mx.port}`, '--tls', 'none', '--warning', '1ms', '--strict', '--format', 'json']);
    expect(r.code).toBe(1);
    expect(results(r)[0]!.failure).toMatchObject({ reason: 'slow', message: expect.stringMatching(/over the warning threshold of 1ms/) });
  });

  test('a clean run passes under --strict', async () => {
    const mx = await startFakeMx();
    expect((await cli(['check', `127.0.0.1:${mx.port}`, ...tls(), '--strict'])).code).toBe(0);
  });
});

describe('junit', () => {
  test('classname carries no dots (Jenkins would make a package tree of them); every target is a testcase', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true });
    const r = await cli(['check', `smtp://127.0.0.1:${mx.port}`, `smtp://localhost:${mx.port}`, 'smtp://127.0.0.1:1', '--format', 'junit']);
    expect(r.code).toBe(1);
    const classnames = [...r.stdout.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"/g)];
    expect(classnames.map((m) => m[2])).toEqual([`smtp://127.0.0.1:${mx.port}`, `smtp://localhost:${mx.port}`, 'smtp://127.0.0.1:1']);
    for (const m of classnames) expect(m[1]).toBe('smtp-probe');
  });
});

describe('failure texts say each thing once', () => {
  test('a refused AUTH: the reply code appears once in the text, junit and nagios failure lines', async () => {
    const mx = await startFakeMx({ users: { probe: 'right' }, authMethods: ['PLAIN'] });
    const argv = ['check', `127.0.0.1:${mx.port}`, ...tls(), '--auth-user', 'probe', '--auth-pass-env', 'PW'];
    const text = await cli([...argv], { PW: 'wrong' });
    expect(text.code).toBe(1);
    const line = text.stdout.split('\n').find((l) => l.includes('failure'))!;
    expect(line).toMatch(/failure {2}auth \(reply\): 535 /);
    expect(line.match(/535/g)).toHaveLength(1);
    const junit = await cli([...argv, '--format', 'junit'], { PW: 'wrong' });
    const message = /<failure type="reply" message="([^"]*)"/.exec(junit.stdout)![1]!;
    expect(message.match(/535/g)).toHaveLength(1);
    const nagios = await cli([...argv, '--format', 'nagios'], { PW: 'wrong' });
    expect(nagios.stdout.split(' | ')[0]!.match(/535/g)).toHaveLength(1);
  });

  test('a refused connection: "connect: connection refused", not "connect: connect - ..."', async () => {
    const r = await cli(['check', 'smtp://127.0.0.1:1', '--format', 'junit']);
    expect(r.stdout).toMatch(/<failure type="connect" message="connect: connection refused/);
    const text = await cli(['check', 'smtp://127.0.0.1:1']);
    expect(text.stdout).toMatch(/failure {2}connect: connection refused/);
  });

  test("a relay check that passes shows the server's refusal", async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true, localDomains: ['example.test'] });
    const r = await cli(['check', `127.0.0.1:${mx.port}`, '--to', 'someone@outside.example', '--expect', 'rcpt=5xx', '--format', 'json']);
    expect(r.code).toBe(0);
    const rcpt = results(r)[0]!.phases.find((p) => p.phase === 'rcpt')!;
    expect(rcpt).toMatchObject({ ok: true, code: 554 });
    expect(rcpt.detail).toMatch(/^refused as expected \(5xx\): 554 5\.7\.1 /);
    const text = await cli(['check', `127.0.0.1:${mx.port}`, '--to', 'someone@outside.example', '--expect', 'rcpt=5xx']);
    expect(text.stdout).toMatch(/rcpt +ok +554 .*refused as expected \(5xx\): 554 5\.7\.1/);
  });
});
