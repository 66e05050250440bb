/**
 * `phase_histograms` (global and per module): `module` (the default: one histogram per module and phase, no
 * target label), `target` (also one per target and phase) or `none`. `true`/`false` from older configs still
 * load, as `target`/`none`: the schema converts them once, so every target's meta carries one of the three.
 */
import { describe, expect, test } from 'vitest';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfigText, type LoadResult } from '../../src/config/load.js';
import type { LoadedConfig } from '../../src/config/resolve.js';

function load(yaml: string): LoadResult {
  return loadConfigText('c.yaml', yaml, { env: {}, readFile: (p) => `unread ${p}` });
}

function loaded(yaml: string): LoadedConfig {
  const r = load(yaml);
  if (!r.ok) throw new Error(`expected the config to load, got:\n${r.issues.map(formatIssue).join('\n')}`);
  return r.config;
}

/** target name → its meta's phaseHistograms. */
function settings(yaml: string): Record<string, unknown> {
  return Object.fromEntries(loaded(yaml).targets.map((t) => [t.name, t.meta.phaseHistograms]));
}

const targets = `
targets:
  - { name: a, url: smtp://a.example.test }
  - { name: b, url: smtp://b.example.test, module: on }
  - { name: c, url: smtp://c.example.test, module: off }
  - { name: d, url: smtp://d.example.test, module: mod }
  - { name: e, url: smtp://e.example.test, module: plain }
`;

describe('phase_histograms: module | target | none', () => {
  test('without the key, every target gets module histograms (the default)', () => {
    const c = loaded('targets: [ { name: a, url: smtp://a.example.test } ]\n');
    expect(c.global.phaseHistograms).toBe('module');
    expect(c.targets[0]!.meta.phaseHistograms).toBe('module');
  });

  test('each of the three values, globally and per module; a module without the key follows global', () => {
    const modules = `modules: { on: { phase_histograms: target }, off: { phase_histograms: none }, mod: { phase_histograms: module }, plain: {} }`;
    expect(settings(`global: { phase_histograms: none }\n${modules}${targets}`)).toEqual({
      a: 'none', b: 'target', c: 'none', d: 'module', e: 'none',
    });
    expect(settings(`global: { phase_histograms: target }\n${modules}${targets}`)).toEqual({
      a: 'target', b: 'target', c: 'none', d: 'module', e: 'target',
    });
  });

  test('true and false keep working: true is target, false is none (global and module)', () => {
    const modules = `modules: { on: { phase_histograms: true }, off: { phase_histograms: false }, mod: { phase_histograms: module }, plain: {} }`;
    expect(settings(`global: { phase_histograms: false }\n${modules}${targets}`)).toEqual({
      a: 'none', b: 'target', c: 'none', d: 'module', e: 'none',
    });
    const c = loaded(`global: { phase_histograms: true }\n${modules}${targets}`);
    expect(c.global.phaseHistograms).toBe('target');
    expect(c.modules.on!.phaseHistograms).toBe('target');
    expect(c.modules.off!.phaseHistograms).toBe('none');
    expect(c.modules.plain!.phaseHistograms).toBeNull();
  });

  test('any other value is refused, naming the accepted ones', () => {
    const r = load('global: { phase_histograms: per-target }\ntargets: [ { name: a, url: smtp://a.example.test } ]\n');
    const lines = r.ok ? [] : r.issues.map(formatIssue);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^c\.yaml:1:29 global\.phase_histograms: .*"module".*"target".*"none"/);
    const m = load('modules: { x: { phase_histograms: 1 } }\ntargets: [ { name: a, url: smtp://a.example.test, module: x } ]\n');
    expect(m.ok ? [] : m.issues.map(formatIssue)).toEqual([expect.stringMatching(/^c\.yaml:1:35 modules\.x\.phase_histograms: /)]);
  });
});

describe('phase_histograms offline (validate --offline)', () => {
  test('a ${VAR} may stand for it: some value of the variable (module, target, none) fits', () => {
    const r = loadConfigText('c.yaml', 'global: { phase_histograms: "${HISTOGRAMS}" }\ntargets: [ { name: a, url: smtp://a.example.test } ]\n', {
      env: {}, readFile: (p) => `unread ${p}`, offline: true,
    });
    expect(r.ok ? [] : r.issues.map(formatIssue)).toEqual([]);
  });
});
