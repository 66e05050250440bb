import { isIP } from 'node:net';
import { createSecureContext, type PeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
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
 * The TLS context for a plan's settings, built once per settings object: building it (parsing the CA bundle)
 * costs more CPU than the rest of a STARTTLS probe's client side. A cache keyed by the object, not global state:
 * plans are immutable, and a dropped plan frees its context.
 */
const contexts = new WeakMap<TlsParams, SecureContext>();

export function secureContextFor(params: TlsParams): SecureContext {
  let ctx = contexts.get(params);
  if (!ctx) {
    ctx = createSecureContext({ ca: params.ca, cert: params.cert, key: params.key, minVersion: params.minVersion });
    contexts.set(params, ctx);
  }
  return ctx;
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
  return {
    version: socket.getProtocol() ?? null,
    cipher: socket.getCipher()?.standardName ?? socket.getCipher()?.name ?? null,
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
