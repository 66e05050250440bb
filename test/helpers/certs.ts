/**
 * Certificates made at test time with the `openssl` CLI (no keys in the repository). A test CA, leaf
 * certificates signed by it, a self-signed one, an expired one and one for the wrong name. Generated lazily
 * once per test process, in a temporary directory removed at exit. All values are PEM strings.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

/** The name test servers present and test plans verify (`tlsParams.servername`). */
export const TEST_SERVER_NAME = 'mail.example.test';

let workDir: string | null = null;
let serial = 0x1000;
const cache = new Map<string, KeyPair>();

function dir(): string {
  if (workDir) return workDir;
  const d = mkdtempSync(path.join(tmpdir(), 'smtp-probe-certs-'));
  workDir = d;
  writeFileSync(path.join(d, 'index.txt'), '');
  process.once('exit', () => rmSync(d, { recursive: true, force: true }));
  return d;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir(), stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

function read(file: string): string {
  return readFileSync(path.join(dir(), file), 'utf8');
}

function once(id: string, make: () => KeyPair): KeyPair {
  const hit = cache.get(id);
  if (hit) return hit;
  const made = make();
  cache.set(id, made);
  return made;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** File-name-safe id for a name. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]/g, '_');
}

/** The test certificate authority. Trust it with `tlsParams.ca = testCa().cert`. */
export function testCa(): KeyPair {
  return once('ca', () => {
    openssl([
      'req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650',
      '-subj', '/CN=smtp-probe test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return { cert: read('ca.crt'), key: read('ca.key') };
  });
}

/**
 * A leaf certificate signed by the test CA (`openssl ca`, which takes explicit validity dates), for `cn` with the
 * given subjectAltName entries. `start`/`end` are `YYYYMMDDHHMMSSZ`.
 */
function issue(id: string, cn: string, san: string, validity: { start?: string; end?: string; days?: number }): KeyPair {
  testCa();
  const base = slug(id);
  serial += 1;
  writeFileSync(path.join(dir(), `${base}.serial`), `${serial.toString(16)}\n`);
  writeFileSync(
    path.join(dir(), `${base}.cnf`),
    [
      '[ ca ]', 'default_ca = test_ca',
      '[ test_ca ]', 'database = index.txt', `serial = ${base}.serial`, 'new_certs_dir = .',
      'certificate = ca.crt', 'private_key = ca.key', 'default_md = sha256', 'policy = any_name',
      'unique_subject = no', 'copy_extensions = none', 'email_in_dn = no',
      '[ any_name ]', 'commonName = supplied',
      '[ leaf ]', 'basicConstraints = CA:FALSE', 'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = serverAuth', `subjectAltName = ${san}`, '',
    ].join('\n'),
  );
  openssl(['req', '-new', ...EC, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${cn}`]);
  const dates = validity.start && validity.end
    ? ['-startdate', validity.start, '-enddate', validity.end]
    : ['-days', String(validity.days ?? 365)];
  openssl([
    'ca', '-batch', '-notext', '-config', `${base}.cnf`, '-extensions', 'leaf', ...dates,
    '-in', `${base}.csr`, '-out', `${base}.crt`,
  ]);
  return { cert: read(`${base}.crt`), key: read(`${base}.key`) };
}

/** A valid certificate for `name` signed by the test CA; SAN DNS:name and IP:127.0.0.1. */
export function serverCert(name = TEST_SERVER_NAME): KeyPair {
  return once(`server-${name}`, () => issue(`server-${name}`, name, `DNS:${name},IP:127.0.0.1`, { days: 365 }));
}

/** A certificate signed by the test CA whose validity ended in the past (2020-01-01 .. 2020-02-01). */
export function expiredCert(name = TEST_SERVER_NAME): KeyPair {
  return once(`expired-${name}`, () =>
    issue(`expired-${name}`, name, `DNS:${name},IP:127.0.0.1`, { start: '20200101000000Z', end: '20200201000000Z' }),
  );
}

/** A certificate signed by the test CA for a different name than the one asked for (no IP entry either). */
export function wrongNameCert(otherName = 'other.example.test'): KeyPair {
  return once(`wrong-${otherName}`, () => issue(`wrong-${otherName}`, otherName, `DNS:${otherName}`, { days: 365 }));
}

/** A self-signed certificate for `name` (SAN DNS:name, IP:127.0.0.1), not issued by the test CA. */
export function selfSignedCert(name = TEST_SERVER_NAME): KeyPair {
  return once(`self-${name}`, () => {
    const base = slug(`self-${name}`);
    openssl([
      'req', '-x509', ...EC, '-keyout', `${base}.key`, '-out', `${base}.crt`, '-days', '365',
      '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name},IP:127.0.0.1`,
    ]);
    return { cert: read(`${base}.crt`), key: read(`${base}.key`) };
  });
}
