/**
 * `tls_rpt` (RFC 8460 3): one `v=TLSRPTv1;` TXT record at `_smtp._tls.NAME` whose `rua=` is a comma-separated
 * list of `mailto:` / `https:` URIs, for the domain (scope domain) and for each MX host's name (scope mx).
 *
 * Rules: records that do not start with `v=TLSRPTv1;` are discarded (RFC 8460 3). At the domain: none is a warn
 * (`record-missing`: TLS-RPT is recommended, not required, and without it nobody hears of failed TLS to the domain);
 * at an MX host's name none is n/a (a report address there only serves DANE on that host, RFC 8460 3, and the
 * MX host is often another provider's). Everywhere: several records are a fail (`multiple-records`: senders
 * "MUST assume" none is published); a record that does not parse, lacks `rua=`, or names a URI that is not
 * `mailto:` or `https:` is a fail (`record-invalid`); a failed lookup is a fail (`dns-error`); else pass.
 */
import type { PostureFinding } from '../../src/core/posture.js';
import { DOMAIN, finding, lookupTxt, parseTags, quote, recordsOf, type TxtLookup, type TxtState } from './txt.js';

export const name = 'tls_rpt' as const;

export interface TlsRptGathered {
  domain: string;
  /** The lookup at `_smtp._tls.DOMAIN`. */
  txt: TxtState;
  /** Per MX host (in the order given): the lookup at `_smtp._tls.MXHOST`. */
  mx: readonly { host: string; txt: TxtState }[];
}

export interface TlsRptDeps {
  txt: TxtLookup;
}

export async function gatherTlsRpt(domain: string, mxHosts: readonly string[], deps: TlsRptDeps): Promise<TlsRptGathered> {
  const [txt, ...mx] = await Promise.all([
    lookupTxt(deps.txt, `_smtp._tls.${domain}`),
    ...mxHosts.map((h) => lookupTxt(deps.txt, `_smtp._tls.${bare(h)}`)),
  ]);
  return { domain, txt: txt as TxtState, mx: mxHosts.map((host, i) => ({ host, txt: mx[i] as TxtState })) };
}

/** What one record says: the `rua` URIs, or why it is invalid. */
export function parseTlsRpt(record: string): { ok: true; rua: string[] } | { ok: false; why: string } {
  const tags = parseTags(record);
  if (!tags || [...tags.keys()][0] !== 'v' || tags.get('v') !== 'TLSRPTv1') return { ok: false, why: 'malformed record' };
  const rua = tags.get('rua');
  if (rua === undefined) return { ok: false, why: 'no rua= tag' };
  const uris = rua.split(',').map((u) => u.trim());
  for (const uri of uris) {
    if (!/^(mailto:[^\s@,;]+@[^\s@,;]+|https:\/\/[^\s,;]+)$/i.test(uri)) {
      return { ok: false, why: `rua ${quote(uri, 80)} is not a mailto: or https: URI` };
    }
  }
  return { ok: true, rua: uris };
}

/** The pure judge: one finding for the domain, one per MX host. */
export function judgeTlsRpt(g: TlsRptGathered): PostureFinding[] {
  const out = [judgeOne(g.txt, `_smtp._tls.${g.domain}`, 'domain', null)];
  for (const m of g.mx) out.push(judgeOne(m.txt, `_smtp._tls.${bare(m.host)}`, 'mx', m.host));
  return out;
}

function judgeOne(txt: TxtState, at: string, scope: 'domain' | 'mx', mxHost: string | null): PostureFinding {
  const where = scope === 'domain' ? DOMAIN : { scope, mxHost };
  if (txt.kind === 'error') return finding(name, where, 'fail', 'dns-error', txt.detail);
  const found = recordsOf(txt, 'v=TLSRPTv1;');
  if (found.length === 0) {
    return scope === 'domain'
      ? finding(name, where, 'warn', 'record-missing', `no v=TLSRPTv1 record at ${at}: nobody hears of failed TLS`)
      : finding(name, where, 'n/a', null, `no v=TLSRPTv1 record at ${at}`);
  }
  if (found.length > 1) return finding(name, where, 'fail', 'multiple-records', `${found.length} v=TLSRPTv1 records at ${at}: senders use none`);
  const parsed = parseTlsRpt(found[0] as string);
  if (!parsed.ok) return finding(name, where, 'fail', 'record-invalid', `${at}: ${parsed.why}`);
  return finding(name, where, 'pass', null, `${at}: rua=${quote(parsed.rua.join(','), 160)}`);
}

/** A host name without its trailing dot. */
function bare(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** Gather and judge: what the posture command calls (MX hosts by preference, as the posture run resolved them). */
export async function runTlsRpt(domain: string, mxHosts: readonly string[], deps: TlsRptDeps): Promise<PostureFinding[]> {
  return judgeTlsRpt(await gatherTlsRpt(domain, mxHosts, deps));
}
