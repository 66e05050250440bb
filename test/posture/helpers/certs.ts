/**
 * RSA certificates the shared test certificates (EC keys) do not cover: a 2048-bit one (for RSA key exchange
 * suites), a 1024-bit one and a SHA-1 signed one (for the certificate check). Self-signed, made once per test
 * process with the openssl CLI in a temporary directory that is removed at once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KeyPair } from '../../helpers/certs.js';

const cache = new Map<string, KeyPair>();

export function rsaCert(bits: 1024 | 2048, digest: 'sha256' | 'sha1' = 'sha256', name = 'mx.example.test'): KeyPair {
  const id = `${bits}-${digest}-${name}`;
  const hit = cache.get(id);
  if (hit) return hit;
  const dir = mkdtempSync(path.join(tmpdir(), 'smtp-probe-posture-certs-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', `rsa:${bits}`, '-nodes', `-${digest}`, '-keyout', 'k.pem', '-out', 'c.pem',
      '-days', '30', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`,
    ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const pair = { cert: readFileSync(path.join(dir, 'c.pem'), 'utf8'), key: readFileSync(path.join(dir, 'k.pem'), 'utf8') };
    cache.set(id, pair);
    return pair;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
