import type { ConfiguredTarget } from '../config/resolve.js';
import type { PostureSnapshot } from '../core/posture.js';
import type { HistoryStore } from '../history/store.js';
import type { FiringAlert, StatusSource, TargetDetail, TargetView } from '../history/view.js';

export interface StatusParts {
  version: string;
  /** The targets this replica runs, in config order. */
  targets(): readonly ConfiguredTarget[];
  target(name: string): ConfiguredTarget | undefined;
  history: HistoryStore;
  /** The alerts firing now (none without alert rules). */
  firing(): FiringAlert[];
  /** The target's last posture run; null when none. */
  posture(name: string): PostureSnapshot | null;
}

/**
 * The names of the alerts firing for each target: `rule` for the target's own, `rule (host)` for an MX host's
 * (alert target `<target>/<host>`). Alerts of no configured target (the probe's own isolated alert) are in none.
 */
function firingByTarget(firing: readonly FiringAlert[], targets: readonly ConfiguredTarget[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (name: string, label: string): void => void (out.get(name) ?? out.set(name, []).get(name)!).push(label);
  const names = new Set(targets.map((t) => t.name));
  const mx = new Set(targets.filter((t) => t.plan.mx).map((t) => t.name));
  for (const f of firing) {
    if (names.has(f.target)) {
      add(f.target, f.rule);
      continue;
    }
    // An MX host's alert: the longest mx:// target name it extends (tried at each "/", longest first).
    for (let i = f.target.lastIndexOf('/'); i > 0; i = f.target.lastIndexOf('/', i - 1)) {
      const owner = f.target.slice(0, i);
      if (!mx.has(owner)) continue;
      add(owner, `${f.rule} (${f.target.slice(i + 1)})`);
      break;
    }
  }
  return out;
}

/** What the pages, the badges and `/api/v1/` read from the running daemon. */
export function statusSource(p: StatusParts): StatusSource {
  const watched = (t: ConfiguredTarget) => ({ name: t.name, url: t.url, module: t.module, labels: t.labels });
  return {
    version: p.version,
    targets: (): TargetView[] => {
      const targets = p.targets();
      const firing = firingByTarget(p.firing(), targets);
      return targets.map((t) => p.history.view(watched(t), firing.get(t.name) ?? []));
    },
    details: (only) => {
      const targets = p.targets();
      const firing = firingByTarget(p.firing(), targets);
      const out: TargetDetail[] = [];
      for (const t of targets) {
        const names = firing.get(t.name) ?? [];
        if (only === undefined || p.history.view(watched(t), names).status === only) out.push(p.history.detail(watched(t), names, p.posture(t.name)));
      }
      return out;
    },
    target: (name) => {
      const t = p.target(name);
      if (!t) return null;
      // Over every target: an MX host's alert belongs to the longest mx:// name it extends (example/sub, not example).
      return p.history.detail(watched(t), firingByTarget(p.firing(), p.targets()).get(name) ?? [], p.posture(name));
    },
    alerts: () => ({ firing: p.firing(), events: p.history.events.all() }),
  };
}
