import { describe, expect, it } from 'vitest';
import type { CapabilityVerdict } from '../../src/core/result.js';
import { capabilityFacts, type Capabilities } from '../../src/smtp/ehlo.js';

/**
 * The capability facts every result record carries: each requirement judged on the EHLO reply where it belongs
 * (STARTTLS on the plaintext one, the rest on the last one) and whether AUTH was offered before TLS.
 */

/** A plaintext EHLO offering STARTTLS and AUTH, and the EHLO after the upgrade (no STARTTLS, more AUTH). */
const PLAIN: Capabilities = { PIPELINING: '', SIZE: '10240000', STARTTLS: '', AUTH: 'LOGIN', '8BITMIME': '' };
const AFTER_TLS: Capabilities = { PIPELINING: '', SIZE: '52428800', AUTH: 'PLAIN LOGIN', '8BITMIME': '', REQUIRETLS: '' };
/** A server without STARTTLS or AUTH. */
const BARE: Capabilities = { PIPELINING: '', SIZE: '1000' };

interface Row {
  name: string;
  plain: Capabilities | null;
  final: Capabilities | null;
  requirements: string[];
  encrypted: boolean;
  verdict: CapabilityVerdict | null;
  authBeforeTls: boolean | null;
}

const rows: Row[] = [
  {
    name: 'no requirements, no AUTH: ok, nothing checked',
    plain: BARE, final: BARE, requirements: [], encrypted: false,
    verdict: { ok: true, checked: [], missing: [] }, authBeforeTls: false,
  },
  {
    name: 'STARTTLS present before TLS, absent after: met (judged on the plaintext EHLO)',
    plain: PLAIN, final: AFTER_TLS, requirements: ['STARTTLS'], encrypted: false,
    verdict: { ok: true, checked: ['STARTTLS'], missing: [] }, authBeforeTls: true,
  },
  {
    name: 'STARTTLS written in lower case: still judged on the plaintext EHLO',
    plain: PLAIN, final: AFTER_TLS, requirements: [' starttls '], encrypted: false,
    verdict: { ok: true, checked: [' starttls '], missing: [] }, authBeforeTls: true,
  },
  {
    name: 'STARTTLS not offered in plaintext: missing',
    plain: BARE, final: BARE, requirements: ['STARTTLS'], encrypted: false,
    verdict: { ok: false, checked: ['STARTTLS'], missing: [{ requirement: 'STARTTLS', problem: 'capability STARTTLS not advertised' }] },
    authBeforeTls: false,
  },
  {
    name: 'SIZE>=N judged on the final EHLO: the post-TLS limit meets it, the plaintext one would not',
    plain: PLAIN, final: AFTER_TLS, requirements: ['SIZE>=20000000'], encrypted: false,
    verdict: { ok: true, checked: ['SIZE>=20000000'], missing: [] }, authBeforeTls: true,
  },
  {
    name: 'SIZE>=N over the advertised limit',
    plain: BARE, final: BARE, requirements: ['SIZE>=10240000'], encrypted: false,
    verdict: { ok: false, checked: ['SIZE>=10240000'], missing: [{ requirement: 'SIZE>=10240000', problem: 'capability SIZE is 1000, wanted >= 10240000' }] },
    authBeforeTls: false,
  },
  {
    name: 'SIZE 0 means no fixed limit: any SIZE>=N is met',
    plain: { SIZE: '0' }, final: { SIZE: '0' }, requirements: ['SIZE>=999999999999'], encrypted: false,
    verdict: { ok: true, checked: ['SIZE>=999999999999'], missing: [] }, authBeforeTls: false,
  },
  {
    name: 'AUTH=PLAIN: offered only after TLS, which is where it is judged',
    plain: PLAIN, final: AFTER_TLS, requirements: ['AUTH=PLAIN'], encrypted: false,
    verdict: { ok: true, checked: ['AUTH=PLAIN'], missing: [] }, authBeforeTls: true,
  },
  {
    name: 'AUTH=PLAIN against a final EHLO offering only LOGIN',
    plain: PLAIN, final: { AUTH: 'LOGIN' }, requirements: ['AUTH=PLAIN'], encrypted: false,
    verdict: { ok: false, checked: ['AUTH=PLAIN'], missing: [{ requirement: 'AUTH=PLAIN', problem: 'capability AUTH is "LOGIN", lacks PLAIN' }] },
    authBeforeTls: true,
  },
  {
    name: 'AUTH=PLAIN without AUTH at all',
    plain: BARE, final: BARE, requirements: ['AUTH=PLAIN'], encrypted: false,
    verdict: { ok: false, checked: ['AUTH=PLAIN'], missing: [{ requirement: 'AUTH=PLAIN', problem: 'capability AUTH not advertised' }] },
    authBeforeTls: false,
  },
  {
    name: 'REQUIRETLS offered only after the upgrade: met',
    plain: PLAIN, final: AFTER_TLS, requirements: ['REQUIRETLS'], encrypted: false,
    verdict: { ok: true, checked: ['REQUIRETLS'], missing: [] }, authBeforeTls: true,
  },
  {
    name: 'several requirements, each judged in order, the unmet ones listed with their problems',
    plain: BARE, final: BARE, requirements: ['PIPELINING', 'STARTTLS', 'SIZE>=5000', 'DSN'], encrypted: false,
    verdict: {
      ok: false,
      checked: ['PIPELINING', 'STARTTLS', 'SIZE>=5000', 'DSN'],
      missing: [
        { requirement: 'STARTTLS', problem: 'capability STARTTLS not advertised' },
        { requirement: 'SIZE>=5000', problem: 'capability SIZE is 1000, wanted >= 5000' },
        { requirement: 'DSN', problem: 'capability DSN not advertised' },
      ],
    },
    authBeforeTls: false,
  },
  {
    name: 'a requirement given twice (required and watched) is judged once',
    plain: BARE, final: BARE, requirements: ['STARTTLS', 'PIPELINING', 'STARTTLS', 'PIPELINING'], encrypted: false,
    verdict: { ok: false, checked: ['STARTTLS', 'PIPELINING'], missing: [{ requirement: 'STARTTLS', problem: 'capability STARTTLS not advertised' }] },
    authBeforeTls: false,
  },
  {
    name: 'an unreadable requirement is missing, with why',
    plain: BARE, final: BARE, requirements: ['SIZE>=lots'], encrypted: false,
    verdict: {
      ok: false,
      checked: ['SIZE>=lots'],
      missing: [{ requirement: 'SIZE>=lots', problem: 'unreadable capability requirement "SIZE>=lots" (>= takes a whole number)' }],
    },
    authBeforeTls: false,
  },
  {
    name: 'implicit TLS: the one EHLO is encrypted, so AUTH in it is not AUTH before TLS; STARTTLS is not offered',
    plain: AFTER_TLS, final: AFTER_TLS, requirements: ['STARTTLS', 'AUTH=PLAIN'], encrypted: true,
    verdict: { ok: false, checked: ['STARTTLS', 'AUTH=PLAIN'], missing: [{ requirement: 'STARTTLS', problem: 'capability STARTTLS not advertised' }] },
    authBeforeTls: false,
  },
  {
    name: 'plaintext session offering AUTH: AUTH before TLS',
    plain: { AUTH: 'PLAIN' }, final: { AUTH: 'PLAIN' }, requirements: [], encrypted: false,
    verdict: { ok: true, checked: [], missing: [] }, authBeforeTls: true,
  },
  {
    name: 'STARTTLS upgrade where AUTH appears only after TLS: not AUTH before TLS',
    plain: { STARTTLS: '', PIPELINING: '' }, final: { AUTH: 'PLAIN', PIPELINING: '' }, requirements: ['STARTTLS', 'AUTH=PLAIN'], encrypted: false,
    verdict: { ok: true, checked: ['STARTTLS', 'AUTH=PLAIN'], missing: [] }, authBeforeTls: false,
  },
  {
    name: 'HELO fallback (empty capabilities): everything missing, no AUTH',
    plain: {}, final: {}, requirements: ['PIPELINING'], encrypted: false,
    verdict: { ok: false, checked: ['PIPELINING'], missing: [{ requirement: 'PIPELINING', problem: 'capability PIPELINING not advertised' }] },
    authBeforeTls: false,
  },
  {
    name: 'no EHLO reply seen (plain null): null fields',
    plain: null, final: null, requirements: ['STARTTLS'], encrypted: false,
    verdict: null, authBeforeTls: null,
  },
  {
    name: 'plaintext EHLO seen, the one after TLS not (final null): null fields',
    plain: PLAIN, final: null, requirements: ['STARTTLS'], encrypted: false,
    verdict: null, authBeforeTls: null,
  },
  {
    name: 'final seen, plaintext null: null fields',
    plain: null, final: AFTER_TLS, requirements: [], encrypted: true,
    verdict: null, authBeforeTls: null,
  },
];

describe('capabilityFacts', () => {
  for (const r of rows) {
    it(r.name, () => {
      expect(capabilityFacts(r.plain, r.final, r.requirements, r.encrypted)).toEqual({
        requiredCapabilities: r.verdict,
        authBeforeTls: r.authBeforeTls,
      });
    });
  }

  it('does not change the requirement list it is given', () => {
    const requirements = ['STARTTLS', 'STARTTLS'];
    capabilityFacts(BARE, BARE, requirements, false);
    expect(requirements).toEqual(['STARTTLS', 'STARTTLS']);
  });
});
