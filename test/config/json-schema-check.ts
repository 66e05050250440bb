/**
 * A minimal JSON Schema checker for the keywords `configJsonSchema()` emits (no validator such as ajv is installed):
 * type, properties, required, additionalProperties (false or a schema), propertyNames, items, minItems, enum,
 * const, pattern, minimum, maximum, exclusiveMinimum, anyOf, oneOf. `format` is not checked. Enough to tell
 * whether the schema an editor uses accepts or rejects a file; not a general validator.
 */
export type Schema = Record<string, unknown>;

export function checkJsonSchema(schema: Schema, value: unknown, at = ''): string[] {
  const errors: string[] = [];
  const here = at || '/';
  const type = schema.type as string | string[] | undefined;
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    if (!types.some((t) => hasType(t, value))) return [`${here}: expected ${types.join('|')}, got ${kind(value)}`];
  }
  if ('const' in schema && schema.const !== value) errors.push(`${here}: must be ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${here}: must be one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string' && typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
    errors.push(`${here}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${here}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${here}: above ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) errors.push(`${here}: not above ${schema.exclusiveMinimum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push(`${here}: fewer than ${schema.minItems} items`);
    if (isSchema(schema.items)) value.forEach((v, i) => errors.push(...checkJsonSchema(schema.items as Schema, v, `${at}/${i}`)));
  }
  if (isObject(value)) {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in value)) errors.push(`${at}/${r}: required`);
    for (const [k, v] of Object.entries(value)) {
      if (isSchema(schema.propertyNames)) errors.push(...checkJsonSchema(schema.propertyNames as Schema, k, `${at}/${k} (name)`));
      if (k in props) errors.push(...checkJsonSchema(props[k]!, v, `${at}/${k}`));
      else if (schema.additionalProperties === false) errors.push(`${at}/${k}: additional property not allowed`);
      else if (isSchema(schema.additionalProperties)) errors.push(...checkJsonSchema(schema.additionalProperties as Schema, v, `${at}/${k}`));
    }
  }
  if (Array.isArray(schema.anyOf)) {
    const each = (schema.anyOf as Schema[]).map((s) => checkJsonSchema(s, value, at));
    if (!each.some((e) => e.length === 0)) errors.push(`${here}: matches none of anyOf (${each.flat().join('; ')})`);
  }
  if (Array.isArray(schema.oneOf)) {
    const each = (schema.oneOf as Schema[]).map((s) => checkJsonSchema(s, value, at));
    const ok = each.filter((e) => e.length === 0).length;
    if (ok !== 1) errors.push(`${here}: matches ${ok} of oneOf (${ok === 0 ? each.flat().join('; ') : 'ambiguous'})`);
  }
  return errors;
}

/** Every object schema (one with `properties`) anywhere in the tree: the path of each that allows unknown keys. */
export function openObjects(schema: unknown, at = '#'): string[] {
  if (!isObject(schema)) return Array.isArray(schema) ? schema.flatMap((s, i) => openObjects(s, `${at}/${i}`)) : [];
  const own = 'properties' in schema && schema.additionalProperties !== false ? [at] : [];
  return [...own, ...Object.entries(schema).flatMap(([k, v]) => openObjects(v, `${at}/${k}`))];
}

function hasType(t: string, v: unknown): boolean {
  switch (t) {
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'array':
      return Array.isArray(v);
    case 'object':
      return isObject(v);
    case 'null':
      return v === null;
    default:
      return typeof v === t;
  }
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSchema(v: unknown): boolean {
  return isObject(v);
}
