/**
 * A `SecureDns` answering from a table, for the posture checks' tests: what a validating resolver would say
 * (rcode, AD, records) without a socket. Keys are `name TYPE` (any case, trailing dot optional); a name not in
 * the table answers NXDOMAIN, a name in it asked for another type NODATA (NOERROR, no records), both with AD as
 * `missing.ad` says (a signed zone's validated denial, or an unsigned one's).
 */
import type { DnsAnswer, RecordData, SecureDns, SecureRrType } from '../../src/dns/secure.js';
import { normalizeHostName as normalizeDnsName } from '../../src/dns/system-files.js';

export interface FakeEntry {
  rcode?: DnsAnswer['rcode'];
  ad?: boolean;
  records?: readonly RecordData[SecureRrType][];
  cnames?: string[];
  error?: DnsAnswer['error'];
  extendedErrors?: DnsAnswer['extendedErrors'];
  detail?: string;
}

export interface FakeSecureDns extends SecureDns {
  /** Every question, as `name TYPE`, in order. */
  asked: string[];
}

export function fakeSecureDns(table: Record<string, FakeEntry>, missing: { ad: boolean } = { ad: false }): FakeSecureDns {
  const byKey = new Map<string, FakeEntry>();
  const names = new Set<string>();
  for (const [k, v] of Object.entries(table)) {
    const [name = '', type = ''] = k.trim().split(/\s+/);
    byKey.set(`${normalizeDnsName(name)} ${type.toUpperCase()}`, v);
    names.add(normalizeDnsName(name));
  }
  const asked: string[] = [];
  return {
    asked,
    async query<T extends SecureRrType>(rawName: string, type: T): Promise<DnsAnswer<T>> {
      const name = normalizeDnsName(rawName);
      const key = `${name} ${type}`;
      asked.push(key);
      const e = byKey.get(key) ?? { rcode: names.has(name) ? 'NOERROR' : 'NXDOMAIN', ad: missing.ad };
      const error = e.error ?? null;
      const rcode = error ? null : (e.rcode ?? 'NOERROR');
      const records = (error ? [] : [...(e.records ?? [])]) as RecordData[T][];
      const detail = e.detail ?? (error ? `fake ${error}` : `${rcode}${e.ad ? ' AD' : ''}, ${records.length} ${type} record(s)`);
      return { name, type, rcode, ad: error ? false : (e.ad ?? false), records, cnames: e.cnames ?? [], tcp: false, extendedErrors: e.extendedErrors ?? [], error, detail };
    },
  };
}
