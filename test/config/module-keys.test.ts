import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { CHECKS, checkOptionShape, type CheckModule, type SchemaKit } from '../../checks/index.js';
import { STEP_KINDS } from '../../src/core/plan.js';
import { moduleSchema } from '../../src/config/schema.js';

/**
 * Checks own their module keys: a module's keys are the union of every check's `options(kit)` and the keys the
 * runner reads itself, and no key is claimed twice (Object.assign / object spread would let the later one win
 * silently).
 */

/** Built as config/schema.ts builds its kit (which it does not export). */
const kit: SchemaKit = {
  z,
  oneLine: (what) => z.string().regex(/^[^\r\n]*$/, `${what} must be one line`),
  mailAddress: z.string().regex(/^$|^[^@\s<>]+@[^@\s<>]+$/, 'must be a mail address (local@domain)'),
  file: z.string(),
};

/**
 * The keys config/schema.ts adds for the runner (its `runnerKeys`, not exported: written out here, so a key
 * added there without a test fails the union below).
 */
const RUNNER_KEYS = ['ip_protocol', 'source_ip_address', 'timeout', 'phase_timeout', 'thresholds', 'expect', 'steps', 'probe_targets', 'phase_histograms', 'roundtrip', 'capacity', 'posture'];

/** Each check's own keys, by kind. */
const ownKeys: [string, string[]][] = (Object.entries(CHECKS) as [string, CheckModule][]).map(([kind, check]) => [
  kind,
  Object.keys(check.options?.(kit) ?? {}),
]);

describe('module keys', () => {
  it('every step kind has a check, registered under its own kind', () => {
    expect(Object.keys(CHECKS).sort()).toEqual([...STEP_KINDS].sort());
    for (const [kind, check] of Object.entries(CHECKS) as [string, CheckModule][]) expect(check.kind).toBe(kind);
  });

  it('the checks that own keys own these (a premise: the union below is not vacuous)', () => {
    expect(Object.fromEntries(ownKeys.filter(([, keys]) => keys.length > 0).map(([k, keys]) => [k, [...keys].sort()]))).toEqual({
      banner: ['banner_pattern'],
      ehlo: ['ehlo', 'require_capabilities'],
      starttls: ['min_cert_days', 'tls', 'tls_config'],
      auth: ['auth'],
      send: ['send'],
    });
  });

  it('no two checks claim the same key', () => {
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    for (const [kind, keys] of ownKeys) {
      for (const key of keys) {
        const first = owner.get(key);
        if (first) clashes.push(`${key}: ${first} and ${kind}`);
        else owner.set(key, kind);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('no check claims a key the runner reads itself', () => {
    const checkKeys = ownKeys.flatMap(([, keys]) => keys);
    expect(checkKeys.filter((k) => RUNNER_KEYS.includes(k))).toEqual([]);
  });

  it("checkOptionShape(kit) holds exactly the checks' keys", () => {
    const union = new Set(ownKeys.flatMap(([, keys]) => keys));
    expect(Object.keys(checkOptionShape(kit)).sort()).toEqual([...union].sort());
  });

  it("moduleSchema's keys are the union of every check's keys and the runner's", () => {
    const union = new Set([...ownKeys.flatMap(([, keys]) => keys), ...RUNNER_KEYS]);
    expect(Object.keys(moduleSchema.shape).sort()).toEqual([...union].sort());
  });

  it("each check key in moduleSchema has the check's own schema (nothing laid over it)", () => {
    const shape = moduleSchema.shape as Record<string, z.ZodType>;
    for (const [kind, check] of Object.entries(CHECKS) as [string, CheckModule][]) {
      for (const [key, schema] of Object.entries(check.options?.(kit) ?? {})) {
        const json = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
        expect(json(shape[key]!), `${kind}: ${key}`).toEqual(json(schema as z.ZodType));
      }
    }
  });

  it('moduleSchema is strict: a key nobody owns is refused', () => {
    const r = moduleSchema.safeParse({ tls: 'starttls', no_such_key: true });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => [i.code, (i as { keys?: string[] }).keys])).toEqual([['unrecognized_keys', ['no_such_key']]]);
  });

  it('a module with one key from each owner parses', () => {
    const r = moduleSchema.safeParse({
      banner_pattern: '^220 ',
      ehlo: 'probe.example.test',
      require_capabilities: ['PIPELINING', 'SIZE>=1000'],
      tls: 'starttls',
      min_cert_days: 14,
      timeout: '5s',
      steps: ['banner', 'ehlo', 'quit'],
    });
    expect(r.error?.issues ?? []).toEqual([]);
    expect(r.data?.timeout).toBe(5_000);
  });
});
