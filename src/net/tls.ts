import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { TLSSocket, createSecureContext, type PeerCertificate, type SecureContext, type SecureVersion } from 'node:tls';
import type { TlsInfo } from '../core/result.js';
import type { TlsParams } from '../core/tls.js';

const DAY_MS = 86_400_000;

const VERIFY_TEXT: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate (unknown issuer or missing chain)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'issuer certificate not found in the trusted CAs',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not match the server name',
};

export function describeVerifyError(code: string, servername: string): string {
  const text = VERIFY_TEXT[code];
  const base = text ? `${code}: ${text}` : code;
  return code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? `${base} "${servername}"` : base;
}

/**
 * A hello of a posture probe's own (only TLS 1.0, only weak suites, SECLEVEL=0): it overrides the settings' version
 * and cipher choice, and gets a context (cached like any other) for that hello.
 */
export interface TlsHello {
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  /** OpenSSL cipher string, e.g. `kRSA:@SECLEVEL=0`. */
  ciphers?: string;
}

/** Most TLS contexts kept: /probe may name any module, and each distinct set of settings has its own context. */
export const CONTEXT_CACHE_SIZE = 64;

/** Contexts by a digest of the settings that shape them, least recently used first (a Map keeps insertion order). */
const contexts = new Map<string, SecureContext>();
/** The digest of each settings object already seen: a plan run again (the scheduler's) skips hashing. */
const keys = new WeakMap<TlsParams, string>();

/**
 * The TLS context for a set of TLS settings, shared by every connection with the same settings: building one
 * (parsing the CA bundle, the client certificate and key) costs more CPU than the rest of a STARTTLS probe's
 * client side. Keyed by the contents (CA, certificate, key, minimum version), not by the settings object, so that
 * /probe, which builds a plan per request, reuses it too; the server name and `insecure` belong to the connection.
 * The key is a digest, so the cache holds no copy of a private key; bounded (least recently used dropped).
 */
export function secureContextFor(params: TlsParams, hello?: TlsHello): SecureContext {
  let key = hello ? `${settingsDigest(params)} ${hello.minVersion ?? '-'} ${hello.maxVersion ?? '-'} ${hello.ciphers ?? '-'}` : keys.get(params);
  if (key === undefined) {
    key = settingsDigest(params);
    keys.set(params, key);
  }
  let ctx = contexts.get(key);
  if (ctx) {
    contexts.delete(key);
  } else {
    ctx = createSecureContext({ ca: params.ca, cert: params.cert, key: params.key, minVersion: params.minVersion, ...hello });
    if (contexts.size >= CONTEXT_CACHE_SIZE) contexts.delete(contexts.keys().next().value!);
  }
  contexts.set(key, ctx);
  return ctx;
}

/** SHA-256 over each field that shapes a context, length-prefixed so that no two settings run together. */
function settingsDigest(params: TlsParams): string {
  const h = createHash('sha256');
  for (const v of [params.ca, params.cert, params.key, params.minVersion]) {
    if (v === undefined) {
      h.update('-;');
      continue;
    }
    // A string is hashed as its UTF-8 bytes: the same digest as a Buffer holding them.
    h.update(`${typeof v === 'string' ? Buffer.byteLength(v) : v.length};`).update(v);
  }
  return h.digest('base64');
}

/**
 * Node's client handshake asks for the detailed peer certificate (every certificate of the chain up to the trusted
 * root, each converted to an object: about 0.3 ms of CPU on OpenSSL 3, a tenth of a whole STARTTLS probe) only to
 * match the server name against the leaf's subject and subjectaltname (`tls.checkServerIdentity`), and
 * `describeTls` asks for the leaf again. This socket answers both from one conversion of the leaf alone. The
 * issuer chain is not part of any record; a handshake that fails verification never asks (Node skips the check).
 */
export function convertPeerCertificateOnce(socket: TLSSocket): void {
  const original = TLSSocket.prototype.getPeerCertificate;
  let leaf: PeerCertificate | undefined;
  const once = (): PeerCertificate => {
    if (leaf) return leaf;
    const cert = original.call(socket, false);
    // Kept only once there is a certificate: a call before the handshake ends is answered, not remembered.
    if (cert && Object.keys(cert).length > 0) leaf = cert;
    return cert;
  };
  socket.getPeerCertificate = once as TLSSocket['getPeerCertificate'];
}

/** SNI may not carry an IP address (RFC 6066 3). */
export function sniFor(servername: string): string | undefined {
  return isIP(servername) ? undefined : servername;
}

/** The certificate and session facts the result record carries. */
export function describeTls(socket: TLSSocket, params: TlsParams, wallNow: number): TlsInfo {
  const cert = socket.getPeerCertificate(false) as PeerCertificate | Record<string, never>;
  const has = cert && Object.keys(cert).length > 0;
  const c = cert as PeerCertificate;
  const validTo = has && c.valid_to ? new Date(c.valid_to) : null;
  const validFrom = has && c.valid_from ? new Date(c.valid_from) : null;
  const verifyCode = socket.authorized ? null : String(socket.authorizationError ?? 'unverified');
  const cipher = socket.getCipher();
  return {
    version: socket.getProtocol() ?? null,
    cipher: cipher?.standardName ?? cipher?.name ?? null,
    verified: socket.authorized,
    verifyError: verifyCode === null ? null : describeVerifyError(verifyCode, params.servername),
    verificationSkipped: params.insecure,
    servername: params.servername,
    subject: has ? distinguishedName(c.subject) : null,
    issuer: has ? distinguishedName(c.issuer) : null,
    altNames: has ? parseAltNames(c.subjectaltname) : [],
    validFrom: validFrom && !Number.isNaN(validFrom.getTime()) ? validFrom.toISOString() : null,
    validTo: validTo && !Number.isNaN(validTo.getTime()) ? validTo.toISOString() : null,
    daysLeft: validTo && !Number.isNaN(validTo.getTime()) ? Math.floor((validTo.getTime() - wallNow) / DAY_MS) : null,
    fingerprint256: has ? (c.fingerprint256 ?? null) : null,
  };
}

function distinguishedName(dn: PeerCertificate['subject'] | undefined): string | null {
  if (!dn) return null;
  const cn = (dn as unknown as Record<string, string | string[] | undefined>).CN;
  if (typeof cn === 'string') return cn;
  if (Array.isArray(cn) && cn.length > 0) return cn.join(', ');
  const parts = Object.entries(dn as unknown as Record<string, string | string[]>).map(
    ([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`,
  );
  return parts.length > 0 ? parts.join(', ') : null;
}

/** `DNS:a, IP Address:1.2.3.4` → `["a", "1.2.3.4"]`. */
export function parseAltNames(san: string | undefined): string[] {
  if (!san) return [];
  return san
    .split(/,\s*/)
    .map((entry) => entry.replace(/^(DNS|IP Address|email|URI):/, ''))
    .filter((v) => v.length > 0)
    .slice(0, 100);
}
