/**
 * `dmarc` (RFC 7489): the domain's one `v=DMARC1` record at `_dmarc.DOMAIN` and its policy.
 *
 * Rules, in order: a failed lookup (SERVFAIL, timeout) is a fail (`dns-error`: receivers get a temporary error and
 * apply no policy); no record is a fail (`record-missing`: nothing tells receivers what to do with mail forging
 * the domain, and nobody gets reports, which is worse than `p=none`, itself a warn); several `v=DMARC1` records
 * are a fail (`multiple-records`: RFC 7489 6.6.3 has receivers apply no policy); a record that does not parse or
 * whose first tag is not `v` is a fail (`record-invalid`); no `p=` is a fail (`policy-missing`); a `p` other than
 * none/quarantine/reject is a fail (`record-invalid`); `p=none` is a warn (`policy-none`: monitoring only);
 * `p=quarantine` or `p=reject` passes. The detail names p, sp and pct.
 *
 * Not done: the organizational-domain fallback of RFC 7489 6.6.3 (it needs the public suffix list); the check
 * looks at `_dmarc.DOMAIN` of the domain it was given.
 */
import type { PostureFinding } from '../../src/core/posture.js';
import { DOMAIN, finding, lookupTxt, parseTags, quote, recordsOf, word, type TxtLookup, type TxtState } from './txt.js';

export const name = 'dmarc' as const;

/** What `gatherDmarc` collected: the TXT lookup at `_dmarc.DOMAIN`. */
export interface DmarcGathered {
  domain: string;
  txt: TxtState;
}

export interface DmarcDeps {
  txt: TxtLookup;
}

const POLICIES = new Set(['none', 'quarantine', 'reject']);

export async function gatherDmarc(domain: string, deps: DmarcDeps): Promise<DmarcGathered> {
  return { domain, txt: await lookupTxt(deps.txt, `_dmarc.${domain}`) };
}

/** The pure judge: one finding for the domain. */
export function judgeDmarc(g: DmarcGathered): PostureFinding[] {
  const at = `_dmarc.${g.domain}`;
  const say = (result: PostureFinding['result'], reason: string | null, detail: string): PostureFinding[] => [
    finding(name, DOMAIN, result, reason, detail),
  ];
  if (g.txt.kind === 'error') return say('fail', 'dns-error', g.txt.detail);
  const found = recordsOf(g.txt, 'v=DMARC1');
  if (found.length === 0) return say('fail', 'record-missing', `no v=DMARC1 record at ${at}`);
  if (found.length > 1) return say('fail', 'multiple-records', `${found.length} v=DMARC1 records at ${at}: receivers apply none`);
  const record = found[0] as string;
  const tags = parseTags(record);
  if (!tags || [...tags.keys()][0] !== 'v' || tags.get('v')?.toUpperCase() !== 'DMARC1') {
    return say('fail', 'record-invalid', `${at}: malformed record ${quote(record)}`);
  }
  const p = tags.get('p');
  if (p === undefined) return say('fail', 'policy-missing', `${at}: no p= tag in ${quote(record)}`);
  const policy = p.toLowerCase();
  if (!POLICIES.has(policy)) return say('fail', 'record-invalid', `${at}: p=${word(p)} is not none, quarantine or reject`);
  const sp = tags.get('sp');
  const detail = `p=${policy}${sp !== undefined ? ` sp=${word(sp)}` : ''} pct=${word(tags.get('pct') ?? '100')}`;
  if (policy === 'none') return say('warn', 'policy-none', `${detail}: receivers only monitor, forged mail is delivered`);
  return say('pass', null, detail);
}

/** Gather and judge: what the posture command calls. */
export async function runDmarc(domain: string, deps: DmarcDeps): Promise<PostureFinding[]> {
  return judgeDmarc(await gatherDmarc(domain, deps));
}
