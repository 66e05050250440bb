import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfigText } from '../../src/config/load.js';
import type { LoadedConfig } from '../../src/config/resolve.js';

/**
 * Config → plan: each target's plan watches what the `capability` alert rules that select it require (by
 * `targets:`, by `modules:`, or all targets when neither), each requirement once; the module's own
 * require_capabilities stay apart in requireCapabilities.
 */

/** No file is read: a config naming one is a test bug. */
const readFile = (p: string): string => {
  throw new Error(`unexpected read of ${p}`);
};

function load(yaml: string): LoadedConfig {
  const r = loadConfigText('watch.yaml', yaml, { env: {}, readFile });
  if (!r.ok) throw new Error(`expected the config to load, got:\n${r.issues.map(formatIssue).join('\n')}`);
  return r.config;
}

function plans(c: LoadedConfig): Record<string, { watch: string[]; require: string[] }> {
  return Object.fromEntries(c.targets.map((t) => [t.name, { watch: t.plan.watchCapabilities, require: t.plan.requireCapabilities }]));
}

const HEAD = `
modules:
  relay:
    tls: starttls
    require_capabilities: [8BITMIME]
  submission:
    tls: implicit
targets:
  - { name: mx1, url: "smtp://mx1.example.test", module: relay }
  - { name: sub1, url: "smtps://sub1.example.test", module: submission }
`;
const RECEIVERS = `
  receivers:
    - { name: ops, type: webhook, url: "https://hooks.example.test/smtp" }
`;

describe('watchCapabilities from capability alert rules', () => {
  it('one rule selecting a module, one selecting everything: each plan gets its own, deduplicated, in rule order', () => {
    const c = load(`${HEAD}
alerts:
  rules:
    - { name: relay_caps, kind: capability, modules: [relay], require: [STARTTLS, "SIZE>=10240000", PIPELINING], receivers: [ops] }
    - { name: all_caps, kind: capability, require: [PIPELINING, "AUTH=PLAIN", STARTTLS], receivers: [ops] }
${RECEIVERS}`);
    expect(plans(c)).toEqual({
      mx1: { watch: ['STARTTLS', 'SIZE>=10240000', 'PIPELINING', 'AUTH=PLAIN'], require: ['8BITMIME'] },
      sub1: { watch: ['PIPELINING', 'AUTH=PLAIN', 'STARTTLS'], require: [] },
    });
  });

  it('a rule selecting by target name, and rules of other kinds, which contribute nothing', () => {
    const c = load(`${HEAD}
alerts:
  rules:
    - { name: down, kind: down, receivers: [ops] }
    - { name: cert, kind: certificate, days_left_under: 14, receivers: [ops] }
    - { name: sub_caps, kind: capability, targets: [sub1], require: ["AUTH=PLAIN", "AUTH=PLAIN"], receivers: [ops] }
    - { name: no_auth_in_clear, kind: capability, modules: [relay], auth_before_tls: true, receivers: [ops] }
${RECEIVERS}`);
    expect(plans(c)).toEqual({
      mx1: { watch: [], require: ['8BITMIME'] },
      sub1: { watch: ['AUTH=PLAIN'], require: [] },
    });
  });

  it('a rule naming targets and modules selects a target matching either', () => {
    const c = load(`${HEAD}
  - { name: mx2, url: "smtp://mx2.example.test" }
alerts:
  rules:
    - { name: either, kind: capability, targets: [mx2], modules: [submission], require: [DSN], receivers: [ops] }
${RECEIVERS}`);
    expect(plans(c)).toEqual({
      mx1: { watch: [], require: ['8BITMIME'] },
      sub1: { watch: ['DSN'], require: [] },
      mx2: { watch: ['DSN'], require: [] },
    });
  });

  it('no alerts section: no plan watches anything', () => {
    const c = load(HEAD);
    expect(plans(c)).toEqual({
      mx1: { watch: [], require: ['8BITMIME'] },
      sub1: { watch: [], require: [] },
    });
  });
});
