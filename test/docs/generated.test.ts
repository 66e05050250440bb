/**
 * docs/result-record.schema.json, docs/webhook-payload.schema.json and docs/metrics.md are generated
 * (`npm run docs`, src/schemas/docs.ts): the committed files must equal what the code generates now, so a new
 * field, metric or label cannot reach a release undocumented.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { generateDocs } from '../../src/schemas/docs.js';
import { metricFamilies } from '../../src/schemas/metrics-doc.js';

const ROOT = join(import.meta.dirname, '../..');
const generated = await generateDocs();

describe('generated docs', () => {
  test.each(Object.keys(generated))('%s is up to date (regenerate with npm run docs)', (path) => {
    expect(readFileSync(join(ROOT, path), 'utf8')).toBe(generated[path]);
  });

  test('the JSON Schemas forbid undocumented fields and name every field of the record', () => {
    const record = JSON.parse(generated['docs/result-record.schema.json']!) as { additionalProperties: boolean; properties: Record<string, unknown> };
    expect(record.additionalProperties).toBe(false);
    expect(Object.keys(record.properties)).toEqual(expect.arrayContaining(['requiredCapabilities', 'authBeforeTls', 'mx', 'roundtrip', 'transcript']));
    const payload = JSON.parse(generated['docs/webhook-payload.schema.json']!) as { properties: { result: { anyOf: { properties?: object }[] } } };
    const result = payload.properties.result.anyOf.find((s) => s.properties)!;
    expect(Object.keys(result.properties!)).not.toContain('transcript');
  });

  test('the metrics reference lists every family with its type, labels and help', async () => {
    const { daemon, probe } = await metricFamilies();
    for (const f of [...daemon, ...probe]) {
      expect(f.help, f.name).not.toBe('');
      expect(['gauge', 'counter', 'histogram', 'summary'], f.name).toContain(f.type);
    }
    expect(daemon.map((f) => f.name)).toEqual(expect.arrayContaining(['smtp_probe_success', 'smtp_probe_mx_up_ratio', 'smtp_probe_roundtrip_seconds', 'smtp_probe_alerts_firing', 'smtp_probe_notifications_total']));
    expect(daemon.find((f) => f.name === 'smtp_probe_failures_total')?.labels).toEqual(['target', 'mx_host', 'phase', 'reason']);
    expect(probe.map((f) => f.name)).toEqual(expect.arrayContaining(['probe_success', 'probe_smtp_failure_info', 'probe_ssl_earliest_cert_expiry']));
  });

  test('only the generator and tests load the zod schemas of src/schemas (the one-shot CLI loads no zod)', () => {
    const files = (readdirSync(join(ROOT, 'src'), { recursive: true }) as string[]).map((f) => `src/${f}`);
    const code = [...files, ...(readdirSync(join(ROOT, 'checks')) as string[]).map((f) => `checks/${f}`)]
      .filter((f) => f.endsWith('.ts') && !f.startsWith('src/schemas/'));
    expect(code.length).toBeGreaterThan(50);
    const importers = code.filter((f) => /from '[./]*\/schemas\//.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(importers).toEqual([]);
  });
});
