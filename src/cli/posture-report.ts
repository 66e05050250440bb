/**
 * The four outputs of `smtp-probe posture` (docs/posture.md): text (one line per check per MX/address, then a
 * summary), json, junit (one testcase per finding) and nagios (one line, exit 0/1/2), and the exit code.
 */
import type { PostureFinding, PostureVerdict } from '../core/posture.js';
import type { PostureMx } from '../posture/run.js';
import { esc } from './reporters/junit.js';
import { STATES } from './reporters/nagios.js';

export const POSTURE_FORMATS = ['text', 'json', 'junit', 'nagios'] as const;
export type PostureFormat = (typeof POSTURE_FORMATS)[number];

export interface PostureReport {
  /** The argument as given. */
  target: string;
  domain: string;
  /** The date judged as (`--at`, or today), YYYY-MM-DD. */
  at: string;
  mx: PostureMx[];
  findings: PostureFinding[];
  /** What kept part of the run from happening (a failed MX or address lookup). */
  problems: string[];
  /** No fail (with --strict: no warn either) and no problem. */
  ok: boolean;
}

export function countVerdicts(findings: readonly PostureFinding[]): Record<PostureVerdict, number> {
  const n: Record<PostureVerdict, number> = { pass: 0, warn: 0, fail: 0, 'n/a': 0 };
  for (const f of findings) n[f.result] += 1;
  return n;
}

export function isOk(findings: readonly PostureFinding[], problems: readonly string[], strict: boolean): boolean {
  const n = countVerdicts(findings);
  return n.fail === 0 && (!strict || n.warn === 0) && problems.length === 0;
}

export function scopeOf(f: PostureFinding): string {
  if (f.scope === 'domain') return 'domain';
  return f.scope === 'mx' ? (f.mxHost ?? '') : `${f.mxHost ?? ''}/${f.address ?? ''}`;
}

function summaryOf(r: PostureReport): string {
  const n = countVerdicts(r.findings);
  const hosts = `${r.mx.length} MX host${r.mx.length === 1 ? '' : 's'}, ${r.mx.reduce((k, m) => k + m.addresses.length, 0)} address(es)`;
  return `${r.domain}: ${n.pass} pass, ${n.warn} warn, ${n.fail} fail, ${n['n/a']} n/a (${hosts})`;
}

export function renderText(r: PostureReport): string {
  const rows = r.findings.map((f) => [f.check, scopeOf(f), f.result, f.reason ?? '-', f.detail]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(0, ...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd());
  const problems = r.problems.map((p) => `problem: ${p}`);
  return `${[...lines, ...problems, `${r.ok ? 'OK' : 'NOT OK'} ${summaryOf(r)}`].join('\n')}\n`;
}

export function renderJson(r: PostureReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

export function renderJunit(r: PostureReport, strict: boolean): string {
  const n = countVerdicts(r.findings);
  const failures = n.fail + (strict ? n.warn : 0);
  const cases = r.findings.map((f) => {
    const head = `    <testcase classname="posture.${esc(scopeOf(f))}" name="${esc(f.check)}">`;
    const what = `${f.result}${f.reason ? ` (${f.reason})` : ''}: ${f.detail}`;
    if (f.result === 'fail' || (f.result === 'warn' && strict)) {
      return `${head}\n      <failure message="${esc(what)}" type="${esc(f.reason ?? f.result)}"/>\n    </testcase>`;
    }
    if (f.result === 'n/a') return `${head}\n      <skipped message="${esc(what)}"/>\n    </testcase>`;
    return `${head}\n      <system-out>${esc(what)}</system-out>\n    </testcase>`;
  });
  const problems = r.problems.map((p) => `    <testcase classname="posture" name="lookup">\n      <error message="${esc(p)}"/>\n    </testcase>`);
  const total = cases.length + problems.length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n  <testsuite name="posture ${esc(r.domain)}" tests="${total}" failures="${failures}" errors="${problems.length}" skipped="${n['n/a']}">\n${[...cases, ...problems].join('\n')}\n  </testsuite>\n</testsuites>\n`;
}

/** Nagios: CRITICAL (2) at a fail or a lookup problem, WARNING (1) at a warn, else OK (0); the worst ones named. */
export function nagiosState(r: PostureReport): 0 | 1 | 2 {
  const n = countVerdicts(r.findings);
  if (n.fail > 0 || r.problems.length > 0) return 2;
  return n.warn > 0 ? 1 : 0;
}

export function renderNagios(r: PostureReport): string {
  const state = nagiosState(r);
  const worst = r.findings.filter((f) => f.result === (state === 2 ? 'fail' : 'warn'));
  const named = worst.slice(0, 5).map((f) => `${f.check} ${scopeOf(f)}${f.reason ? ` (${f.reason})` : ''}`);
  const more = worst.length > 5 ? `, ${worst.length - 5} more` : '';
  const lead = [...r.problems, ...named].join(', ').replace(/[|\n]/g, ' ');
  const n = countVerdicts(r.findings);
  const perf = `pass=${n.pass} warn=${n.warn} fail=${n.fail} na=${n['n/a']}`;
  return `POSTURE ${STATES[state]} - ${summaryOf(r)}${lead ? `: ${lead}${more}` : ''} | ${perf}\n`;
}
