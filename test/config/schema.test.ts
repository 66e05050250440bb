import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { configJsonSchema } from '../../src/config/schema.js';
import { fixtureNames, fixtureText } from './fixture.js';
import { checkJsonSchema, openObjects, type Schema } from './json-schema-check.js';

/**
 * The JSON Schema editors use (`# yaml-language-server: $schema=...`). No JSON Schema validator (ajv) is in
 * node_modules, so json-schema-check.ts implements the keywords configJsonSchema() emits.
 */
const schema = configJsonSchema() as Schema;
const check = (name: string): string[] => checkJsonSchema(schema, parse(fixtureText(name)) as unknown);

describe('configJsonSchema()', () => {
  test('is strict everywhere: every object schema has additionalProperties: false', () => {
    expect(schema.additionalProperties).toBe(false);
    expect(openObjects(schema)).toEqual([]);
  });

  test.each(fixtureNames('valid-').filter((n) => n !== 'valid-env.yaml'))('accepts %s', (name) => {
    expect(check(name)).toEqual([]);
  });

  // The editor sees the file before ${ENV} expansion. A value the loader accepts must not be flagged by the
  // schema only because it holds a ${VAR}: here `listen: "${PROBE_LISTEN_HOST:-127.0.0.1}:9469"`.
  test('accepts valid-env.yaml as written, ${VAR} references and all', () => {
    expect(check('valid-env.yaml')).toEqual([]);
  });

  test('rejects an unknown top-level key', () => {
    expect(check('invalid-unknown-top-level-key.yaml')).toEqual(['/scrape_interval: additional property not allowed']);
  });

  test('rejects an unknown nested key', () => {
    expect(check('invalid-typo-nested-key.yaml')).toEqual(['/modules/submission/tls_config/servername: additional property not allowed']);
  });

  test('rejects a wrong type and a bad enum value', () => {
    expect(check('invalid-wrong-type.yaml')).toEqual(['/global/concurrency: expected integer, got string']);
    expect(check('invalid-tls-mode.yaml')).toEqual(['/modules/submission/tls: must be one of ["none","opportunistic","starttls","implicit"]']);
  });

  test('the checker itself: catches what it claims to', () => {
    const s: Schema = {
      type: 'object',
      properties: { a: { type: 'array', items: { type: 'string', pattern: '^x' }, minItems: 1 }, b: { anyOf: [{ const: 4 }, { const: 6 }] } },
      required: ['a'],
      additionalProperties: false,
    };
    expect(checkJsonSchema(s, { a: ['xy'], b: 6 })).toEqual([]);
    expect(checkJsonSchema(s, { a: ['y'], b: 5, c: 1 })).toEqual([
      '/a/0: "y" does not match ^x',
      '/b: matches none of anyOf (/b: must be 4; /b: must be 6)',
      '/c: additional property not allowed',
    ]);
    expect(checkJsonSchema(s, {})).toEqual(['/a: required']);
  });
});
