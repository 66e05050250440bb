/**
 * TLSA records against a served certificate chain (RFC 6698 2.1, RFC 7671, RFC 7672 3.1): which records an SMTP
 * client may use, and which certificate of the chain one of them matches. Pure: DER in, a match out, no I/O.
 *
 * For SMTP only DANE-TA(2) and DANE-EE(3) are usable; PKIX-TA(0) and PKIX-EE(1) are not (RFC 7672 3.1.3), nor
 * are selectors other than 0 (the whole certificate) and 1 (its SubjectPublicKeyInfo) or matching types other than
 * 0 (exact), 1 (SHA2-256) and 2 (SHA2-512). A DANE-EE record matches the leaf only; a DANE-TA record matches a
 * certificate the server sent above the leaf. What a DANE-TA match still needs (the leaf issued under that
 * certificate, its name against the TLSA base domain or the MX name, its dates) is the dane check's to judge.
 */
import { createHash, X509Certificate } from 'node:crypto';

/** One TLSA record, as the DNS client (`src/dns/secure.ts`, its `TlsaData`) returns it. */
export interface TlsaData {
  usage: number;
  selector: number;
  matchingType: number;
  data: Buffer;
}

export const DANE_TA = 2;
export const DANE_EE = 3;

/** Usable by an SMTP client (RFC 7672 3.1.3): usage 2 or 3, selector 0 or 1, matching type 0, 1 or 2. */
export function isUsableTlsa(r: Pick<TlsaData, 'usage' | 'selector' | 'matchingType'>): boolean {
  return (r.usage === DANE_TA || r.usage === DANE_EE) && (r.selector === 0 || r.selector === 1) && r.matchingType >= 0 && r.matchingType <= 2;
}

/** The certificate association data a record of this selector and matching type would hold for `certDer`; null
 * when the certificate does not parse or the selector/matching type is not one of those above. */
export function associationData(certDer: Buffer, selector: number, matchingType: number): Buffer | null {
  let selected: Buffer;
  try {
    if (selector === 0) selected = new X509Certificate(certDer).raw;
    else if (selector === 1) selected = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
    else return null;
  } catch {
    return null;
  }
  if (matchingType === 0) return selected;
  if (matchingType === 1) return createHash('sha256').update(selected).digest();
  if (matchingType === 2) return createHash('sha512').update(selected).digest();
  return null;
}

export interface TlsaMatch {
  record: TlsaData;
  /** 0: the leaf (DANE-EE); 1 and up: the certificate of the chain a DANE-TA record named. */
  certIndex: number;
}

/**
 * The first usable record that matches the chain (DER, leaf first, as the server sent it), DANE-EE records
 * before DANE-TA ones; null when none does. Unusable records are skipped, never matched.
 */
export function matchTlsa(records: readonly TlsaData[], chain: readonly Buffer[]): TlsaMatch | null {
  const usable = records.filter(isUsableTlsa);
  const ordered = [...usable.filter((r) => r.usage === DANE_EE), ...usable.filter((r) => r.usage === DANE_TA)];
  for (const record of ordered) {
    const candidates = record.usage === DANE_EE ? [0] : chain.map((_, i) => i).slice(1);
    for (const i of candidates) {
      const cert = chain[i];
      const data = cert ? associationData(cert, record.selector, record.matchingType) : null;
      if (data !== null && data.equals(record.data)) return { record, certIndex: i };
    }
  }
  return null;
}

/** A record as presentation text: `3 1 1 9f86d0...` (the data cut to 16 hex digits), for details. */
export function tlsaText(r: TlsaData): string {
  const hex = r.data.toString('hex');
  return `${r.usage} ${r.selector} ${r.matchingType} ${hex.length > 16 ? `${hex.slice(0, 16)}...` : hex}`;
}
