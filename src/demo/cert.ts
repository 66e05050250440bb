/**
 * The demo server's TLS certificate, made when the demo starts (no key in the repository): an EC P-256 key from
 * node:crypto and a self-signed X.509 v3 certificate for localhost and 127.0.0.1. Node can sign but has no
 * certificate builder, so the few DER structures a certificate needs (RFC 5280 4.1) are encoded here.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

interface DemoKeyPair {
  /** PEM certificate: the demo's clients trust exactly this (their `ca`). */
  cert: string;
  /** PEM PKCS#8 private key: lives in this process only. */
  key: string;
}

const DAY_MS = 86_400_000;
/** The certificate's name, and what the demo's checks verify against. */
const NAME = 'localhost';

let made: DemoKeyPair | null = null;

/** The demo's key and certificate, made once per process on first use. */
export function demoCertificate(): DemoKeyPair {
  made ??= makeSelfSigned(Date.now());
  return made;
}

/** Exported for the tests; `random` gives the serial number's bytes. */
export function makeSelfSigned(now: number, random: (n: number) => Buffer = randomBytes): DemoKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(NAME)))));
  const serial = random(16);
  // A positive INTEGER in minimal DER: first byte 0x01-0x7f (0x00 followed by a byte under 0x80 is "illegal
  // padding", which OpenSSL refuses: one start in 256 failed so before).
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const extensions = seq(
    extension('2.5.29.19', true, seq(tlv(0x01, Buffer.from([0xff])))), // basicConstraints: CA (its own trust anchor)
    extension('2.5.29.17', false, seq(tlv(0x82, Buffer.from(NAME)), tlv(0x87, Buffer.from([127, 0, 0, 1])))), // subjectAltName
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version v3
    tlv(0x02, serial),
    ecdsaWithSha256,
    name,
    seq(time(now - DAY_MS), time(now + 365 * DAY_MS)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, extensions),
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const der = seq(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return { cert: `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`, key: String(privateKey.export({ type: 'pkcs8', format: 'pem' })) };
}

/** One DER TLV: tag, definite length, contents. */
function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

function seq(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(items));
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const n of rest) {
    const groups = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString(); // 2026-12-04T16:29:58.123Z
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return Number(iso.slice(0, 4)) < 2050 ? tlv(0x17, Buffer.from(digits.slice(2))) : tlv(0x18, Buffer.from(digits));
}
