/**
 * Editors show a property's `description` as help: every property of the config's JSON Schema has one, and the
 * texts say something about their key (no one phrase shared by keys of different names, as "A duration with
 * units" once was on every duration). examples/smtp-probe.schema.json is this schema (test/examples/config.test.ts).
 */
import { describe, expect, test } from 'vitest';
import { configJsonSchema } from '../../src/config/schema.js';

interface Property {
  /** JSON pointer of the property's schema. */
  at: string;
  key: string;
  description: string | undefined;
}

/** Every entry of every `properties` anywhere in the schema (object branches of anyOf/oneOf, records, items). */
export function properties(node: unknown, at = '#'): Property[] {
  if (Array.isArray(node)) return node.flatMap((n, i) => properties(n, `${at}/${i}`));
  if (!node || typeof node !== 'object') return [];
  const own = Object.entries((node as { properties?: Record<string, { description?: unknown }> }).properties ?? {}).map(([key, p]) => ({
    at: `${at}/properties/${key}`,
    key,
    description: typeof p.description === 'string' && p.description.trim() !== '' ? p.description : undefined,
  }));
  return [...own, ...Object.entries(node).flatMap(([k, v]) => properties(v, `${at}/${k}`))];
}

const all = properties(configJsonSchema());

describe('JSON Schema descriptions', () => {
  test('the walk finds the schema\'s properties (global, web, modules, checks, targets, alerts, rules, receivers)', () => {
    const keys = new Set(all.map((p) => p.at.replace(/\/(anyOf|oneOf)\/\d+/g, '')));
    for (const at of [
      '#/properties/global/properties/web/properties/reload',
      '#/properties/modules/additionalProperties/properties/auth/properties/password_file',
      '#/properties/modules/additionalProperties/properties/roundtrip/properties/folders',
      '#/properties/targets/items/properties/labels',
      '#/properties/alerts/properties/rules/items/properties/days_left_under',
      '#/properties/alerts/properties/receivers/items/properties/routing_key_file',
      '#/properties/alerts/properties/silences/items/properties/comment',
    ]) expect(keys).toContain(at);
    expect(all.length).toBeGreaterThan(140);
  });

  test('every property has a description (the list names those without)', () => {
    expect(all.filter((p) => p.description === undefined).map((p) => p.at)).toEqual([]);
  });

  test('no description is shared by keys of different names', () => {
    const keysOf = new Map<string, Set<string>>();
    for (const p of all) if (p.description) keysOf.set(p.description, (keysOf.get(p.description) ?? new Set()).add(p.key));
    const shared = [...keysOf].filter(([, keys]) => keys.size > 1).map(([d, keys]) => `${[...keys].join(', ')}: ${d}`);
    expect(shared).toEqual([]);
  });

  test('descriptions are sentences of help, not a word or two', () => {
    const short = all.filter((p) => p.description !== undefined && p.description.length < 25).map((p) => `${p.at}: ${p.description}`);
    expect(short).toEqual([]);
  });
});
