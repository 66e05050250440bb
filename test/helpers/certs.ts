/**
 * Certificates made at test time with the `openssl` CLI (no keys in the repository). A test CA, leaf
 * certificates signed by it, a self-signed one, an expired one and one for the wrong name. Generated lazily,
 * once per test process, and kept in memory as PEM strings; every openssl run works in its own temporary
 * directory, removed as soon as the PEM has been read back (an exit hook does not run in vitest workers).
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

let serial = 0x1000;
const cache = new Map<string, KeyPair>();

interface Workdir {
  run(args: string[]): void;
  read(file: string): string;
  write(file: string, text: string): void;
}

/** Run `fn` in a fresh temporary directory that is removed afterwards, whatever happens. */
function inTempDir<T>(fn: (w: Workdir) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'smtp-probe-certs-'));
  const w: Workdir = {
    run(args) {
      try {
        execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        const err = e as { stderr?: Buffer; message: string };
        throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString() ?? err.message}`);
      }
    },
    read: (file) => readFileSync(path.join(dir, file), 'utf8'),
    write: (file, text) => writeFileSync(path.join(dir, file), text),
  };
  try {
    return fn(w);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function once(id: string, make: () => KeyPair): KeyPair {
  const hit = cache.get(id);
  if (hit) return hit;
  const made = make();
  cache.set(id, made);
  return made;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** The test certificate authority. Trust it with `tlsParams.ca = testCa().cert`. */
export function testCa(): KeyPair {
  return once('ca', () =>
    inTempDir((w) => {
      w.run([
        'req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650',
        '-subj', '/CN=smtp-probe test CA',
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ]);
      return { cert: w.read('ca.crt'), key: w.read('ca.key') };
    }),
  );
}

/**
 * A leaf certificate signed by the test CA for `cn` with the given subjectAltName. Issued with `openssl ca`,
 * which takes explicit validity dates (`start`/`end` as `YYYYMMDDHHMMSSZ`), so an expired one is possible on
 * OpenSSL 3.0 (whose `x509 -req` has no way to set a past notAfter).
 */
function issue(cn: string, san: string, validity: { start?: string; end?: string; days?: number }): KeyPair {
  const ca = testCa();
  serial += 1;
  return inTempDir((w) => {
    w.write('ca.crt', ca.cert);
    w.write('ca.key', ca.key);
    w.write('index.txt', '');
    w.write('serial', `${serial.toString(16)}\n`);
    w.write(
      'ca.cnf',
      [
        '[ ca ]', 'default_ca = test_ca',
        '[ test_ca ]', 'database = index.txt', 'serial = serial', 'new_certs_dir = .',
        'certificate = ca.crt', 'private_key = ca.key', 'default_md = sha256', 'policy = any_name',
        'unique_subject = no', 'copy_extensions = none', 'email_in_dn = no',
        '[ any_name ]', 'commonName = supplied',
        '[ leaf ]', 'basicConstraints = CA:FALSE', 'keyUsage = critical,digitalSignature',
        'extendedKeyUsage = serverAuth', `subjectAltName = ${san}`, '',
      ].join('\n'),
    );
    w.run(['req', '-new', ...EC, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${cn}`]);
    const dates = validity.start && validity.end
      ? ['-startdate', validity.start, '-enddate', validity.end]
      : ['-days', String(validity.days ?? 365)];
    w.run(['ca', '-batch', '-notext', '-config', 'ca.cnf', '-extensions', 'leaf', ...dates, '-in', 'leaf.csr', '-out', 'leaf.crt']);
    return { cert: w.read('leaf.crt'), key: w.read('leaf.key') };
  });
}

/** A valid certificate for `name` signed by the test CA; SAN DNS:name and IP:127.0.0.1. */
export function serverCert(name = TEST_SERVER_NAME): KeyPair {
  return once(`server-${name}`, () => issue(name, `DNS:${name},IP:127.0.0.1`, { days: 365 }));
}

/** A certificate signed by the test CA whose validity ended in the past (2020-01-01 .. 2020-02-01). */
export function expiredCert(name = TEST_SERVER_NAME): KeyPair {
  return once(`expired-${name}`, () =>
    issue(name, `DNS:${name},IP:127.0.0.1`, { start: '20200101000000Z', end: '20200201000000Z' }),
  );
}

/** A certificate signed by the test CA for a different name than the one asked for (no IP entry either). */
export function wrongNameCert(otherName = 'other.example.test'): KeyPair {
  return once(`wrong-${otherName}`, () => issue(otherName, `DNS:${otherName}`, { days: 365 }));
}

/** A self-signed certificate for `name` (SAN DNS:name, IP:127.0.0.1), not issued by the test CA. */
export function selfSignedCert(name = TEST_SERVER_NAME): KeyPair {
  return once(`self-${name}`, () =>
    inTempDir((w) => {
      w.run([
        'req', '-x509', ...EC, '-keyout', 'self.key', '-out', 'self.crt', '-days', '365',
        '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name},IP:127.0.0.1`,
      ]);
      return { cert: w.read('self.crt'), key: w.read('self.key') };
    }),
  );
}

/**
 * A valid certificate signed by the test CA that ends `days` days from now (SAN DNS:name, IP:127.0.0.1): for
 * certificate-age thresholds. `daysLeft` in a run comes out as `days - 1` (some seconds of the last day are gone).
 */
export function certValidFor(days: number, name = TEST_SERVER_NAME): KeyPair {
  return once(`days-${days}-${name}`, () => issue(name, `DNS:${name},IP:127.0.0.1`, { days }));
}
