/**
 * A module's `thresholds: { warning, critical }` and `min_cert_days` as a number, "W,C" or { warning, critical }:
 * the config side of check_smtp's -w/-c and -D warn,crit (README "Config", docs/nagios.md).
 */
import { describe, expect, test } from 'vitest';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfigText, type LoadResult } from '../../src/config/load.js';
import type { CheckPlan } from '../../src/core/plan.js';

function load(module: string): LoadResult {
  const yaml = `modules:\n  m:\n${module.replace(/^/gm, '    ')}\ntargets:\n  - { name: t, url: smtp://mail.example.test:587, module: m }\n`;
  return loadConfigText('c.yaml', yaml, { env: {}, readFile: () => '' });
}

function plan(module: string): CheckPlan {
  const r = load(module);
  if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
  return r.config.targets[0]!.plan;
}

function issues(module: string): string[] {
  const r = load(module);
  return r.ok ? [] : r.issues.map(formatIssue);
}

describe('thresholds', () => {
  test('warning and critical become milliseconds in the plan; either alone is fine; none by default', () => {
    expect(plan('thresholds: { warning: 2s, critical: 5s }').thresholds).toEqual({ warningMs: 2000, criticalMs: 5000 });
    expect(plan('thresholds: { critical: 1500ms }').thresholds).toEqual({ warningMs: null, criticalMs: 1500 });
    expect(plan('tls: starttls').thresholds).toEqual({ warningMs: null, criticalMs: null });
  });

  test('a warning over the critical threshold, an unknown key, a number without a unit: each at its key', () => {
    expect(issues('thresholds: { warning: 5s, critical: 2s }')).toEqual([
      'c.yaml:3:28 modules.m.thresholds.warning: the warning threshold (5s) is over the critical one (2s)',
    ]);
    expect(issues('thresholds: { warn: 5s }')[0]).toMatch(/^c\.yaml:3:19 modules\.m\.thresholds\.warn: unknown key "warn"/);
    expect(issues('thresholds: { critical: 5 }')[0]).toMatch(/^c\.yaml:3:29 modules\.m\.thresholds\.critical: must be a duration/);
  });
});

describe('min_cert_days', () => {
  test('a number is the warning level (as before); "W,C" and { warning, critical } add the critical one', () => {
    expect(plan('min_cert_days: 14')).toMatchObject({ minCertDays: 14, criticalCertDays: null });
    expect(plan('min_cert_days: "14,3"')).toMatchObject({ minCertDays: 14, criticalCertDays: 3 });
    expect(plan('min_cert_days: { warning: 21, critical: 7 }')).toMatchObject({ minCertDays: 21, criticalCertDays: 7 });
    expect(plan('min_cert_days: { critical: 7 }')).toMatchObject({ minCertDays: null, criticalCertDays: 7 });
  });

  test('a critical level over the warning level, or text that is no level, is an issue at the key', () => {
    expect(issues('min_cert_days: "3,14"')).toEqual([
      'c.yaml:3:20 modules.m.min_cert_days: the critical level (14) must not be over the warning level (3)',
    ]);
    expect(issues('min_cert_days: { warning: 3, critical: 14 }')).toEqual([
      'c.yaml:3:20 modules.m.min_cert_days: the critical level (14) must not be over the warning level (3)',
    ]);
    expect(issues('min_cert_days: "soon"')[0]).toMatch(/^c\.yaml:3:20 modules\.m\.min_cert_days: "soon" is not DAYS or WARN,CRIT/);
  });
});
