import type { SmtpReply } from '../core/reply.js';
import type { CapabilityVerdict } from '../core/result.js';

/** EHLO keywords → parameters, keys upper-case (RFC 5321 4.1.1.1: keywords are case-insensitive). */
export type Capabilities = Record<string, string>;

/** Most keywords kept from one EHLO reply: a hostile server cannot grow the record without bound. */
const MAX_CAPABILITIES = 64;
const MAX_PARAM_LENGTH = 512;

export function parseCapabilities(reply: SmtpReply): Capabilities {
  const caps: Capabilities = {};
  for (const line of reply.lines.slice(1)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(line.trim());
    if (!m) continue;
    const key = m[1]!.toUpperCase();
    const params = (m[2] ?? '').trim().slice(0, MAX_PARAM_LENGTH);
    if (!(key in caps) && Object.keys(caps).length >= MAX_CAPABILITIES) break;
    // Old servers announce "AUTH=LOGIN PLAIN" next to "AUTH PLAIN LOGIN": merge the mechanism lists.
    caps[key] = key === 'AUTH' && caps[key] ? mergeWords(caps[key]!, params) : params;
  }
  return caps;
}

function mergeWords(a: string, b: string): string {
  return [...new Set([...a.split(/\s+/), ...b.split(/\s+/)].filter(Boolean))].join(' ');
}

export function hasCapability(caps: Capabilities | null, name: string): boolean {
  return caps !== null && Object.hasOwn(caps, name.toUpperCase());
}

/** The SASL mechanisms offered, upper-case. */
export function authMechanisms(caps: Capabilities | null): string[] {
  const v = caps?.AUTH;
  return v ? v.toUpperCase().split(/\s+/).filter(Boolean) : [];
}

/** The advertised SIZE limit, 0 when advertised without a number, null when not advertised. */
export function sizeLimit(caps: Capabilities | null): number | null {
  if (!hasCapability(caps, 'SIZE')) return null;
  const n = Number.parseInt(caps!.SIZE ?? '', 10);
  return Number.isFinite(n) ? n : 0;
}

/**
 * A required capability: `PIPELINING`, `SIZE>=10240000`, `AUTH=PLAIN` (the parameter list contains the word).
 * Returns null when met, otherwise what is wrong.
 */
export function checkRequirement(caps: Capabilities | null, requirement: string): string | null {
  const m = /^([A-Za-z0-9-]+)(?:(>=|=)(.+))?$/.exec(requirement.trim());
  if (!m) return `unreadable capability requirement "${requirement}"`;
  const name = m[1]!.toUpperCase();
  if (!hasCapability(caps, name)) return `capability ${name} not advertised`;
  if (!m[2]) return null;
  const value = caps![name] ?? '';
  if (m[2] === '>=') {
    if (!/^\d+$/.test(m[3]!)) return `unreadable capability requirement "${requirement}" (>= takes a whole number)`;
    const have = Number.parseInt(value, 10);
    const want = Number(m[3]);
    if (!Number.isFinite(have)) return `capability ${name} has no number (wanted >= ${want})`;
    // RFC 1870: SIZE 0 means no fixed maximum.
    if (name === 'SIZE' && have === 0) return null;
    return have >= want ? null : `capability ${name} is ${have}, wanted >= ${want}`;
  }
  const words = value.toUpperCase().split(/\s+/);
  return words.includes(m[3]!.toUpperCase()) ? null : `capability ${name} is "${value}", lacks ${m[3]}`;
}

/**
 * The run's capability facts for the result record: each requirement judged where it belongs (STARTTLS on the
 * plaintext EHLO, everything else on the last EHLO), and whether AUTH was offered before TLS. Null fields when no
 * EHLO reply was seen.
 */
export function capabilityFacts(
  plain: Capabilities | null,
  final: Capabilities | null,
  requirements: readonly string[],
  encrypted: boolean,
): { requiredCapabilities: CapabilityVerdict | null; authBeforeTls: boolean | null } {
  if (plain === null || final === null) return { requiredCapabilities: null, authBeforeTls: null };
  const checked = [...new Set(requirements)];
  const missing: CapabilityVerdict['missing'] = [];
  for (const requirement of checked) {
    const problem = checkRequirement(requirement.trim().toUpperCase() === 'STARTTLS' ? plain : final, requirement);
    if (problem) missing.push({ requirement, problem });
  }
  return { requiredCapabilities: { ok: missing.length === 0, checked, missing }, authBeforeTls: Object.hasOwn(plain, 'AUTH') && !encrypted };
}
