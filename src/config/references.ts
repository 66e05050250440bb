import { DEFAULTS } from '../plan/defaults.js';
import type { ConfigIssue, SourceMap } from './issues.js';

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * Names that refer to each other: duplicate targets, receivers and rules; targets naming a module, rules naming
 * receivers, targets and modules. Works on the unvalidated file too, so a schema error elsewhere does not hide these.
 */
export function referenceIssues(input: unknown, src: SourceMap): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const raw = obj(input);
  const modules = new Set([DEFAULTS.module, ...Object.keys(obj(raw.modules))]);
  const targets = new Map<string, number>();
  for (const [i, t] of arr(raw.targets).entries()) {
    const name = str(obj(t).name);
    const module = obj(t).module === undefined ? DEFAULTS.module : str(obj(t).module);
    if (name !== null) {
      const first = targets.get(name);
      if (first !== undefined) issues.push(src.issue(['targets', i, 'name'], `duplicate target name "${name}" (also targets[${first}])`));
      else targets.set(name, i);
    }
    if (module !== null && !modules.has(module)) {
      const known = [...modules].filter((m) => m !== DEFAULTS.module);
      issues.push(src.issue(['targets', i, 'module'], `module "${module}" is not defined${known.length ? ` (modules: ${known.join(', ')})` : ''}`));
    }
  }
  const alerts = obj(raw.alerts);
  const receivers = new Set<string>();
  for (const [i, r] of arr(alerts.receivers).entries()) {
    const name = str(obj(r).name);
    if (name === null) continue;
    if (receivers.has(name)) issues.push(src.issue(['alerts', 'receivers', i, 'name'], `duplicate receiver name "${name}"`));
    receivers.add(name);
  }
  const rules = new Set<string>();
  for (const [i, r] of arr(alerts.rules).entries()) {
    const p = ['alerts', 'rules', i];
    const name = str(obj(r).name);
    if (name !== null && rules.has(name)) issues.push(src.issue([...p, 'name'], `duplicate rule name "${name}"`));
    if (name !== null) rules.add(name);
    const refs: [string, Set<string> | Map<string, number>, string][] = [
      ['receivers', receivers, 'receiver "%" is not defined in alerts.receivers'],
      ['targets', targets, 'target "%" is not defined'],
      ['modules', modules, 'module "%" is not defined'],
    ];
    for (const [key, known, message] of refs) {
      arr(obj(r)[key]).forEach((v, j) => {
        const ref = str(v);
        if (ref !== null && !known.has(ref)) issues.push(src.issue([...p, key, j], message.replace('%', ref)));
      });
    }
  }
  for (const [i, s] of arr(alerts.silences).entries()) {
    for (const [key, known, what] of [['targets', targets, 'target'], ['modules', modules, 'module']] as const) {
      arr(obj(s)[key]).forEach((v, j) => {
        const ref = str(v);
        if (ref !== null && !known.has(ref)) issues.push(src.issue(['alerts', 'silences', i, key, j], `${what} "${ref}" is not defined`));
      });
    }
    const starts = Date.parse(String(obj(s).starts));
    const ends = Date.parse(String(obj(s).ends));
    if (Number.isFinite(starts) && Number.isFinite(ends) && ends <= starts) {
      issues.push(src.issue(['alerts', 'silences', i, 'ends'], 'ends before it starts'));
    }
  }
  return issues;
}
