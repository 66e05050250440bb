/**
 * `phase_histograms`: which phase duration histograms a target's runs feed. `module`:
 * smtp_probe_module_phase_duration_seconds{module,phase} only (the default: its size does not grow with the
 * number of targets); `target`: that and smtp_probe_phase_duration_seconds per target; `none`: neither.
 */
export const PHASE_HISTOGRAMS = ['module', 'target', 'none'] as const;
export type PhaseHistograms = (typeof PHASE_HISTOGRAMS)[number];

/** What metrics, logs and alerts know about a configured target besides its result records. */
export interface TargetMeta {
  /** The target's unique name (the `target` label). */
  name: string;
  /** Static labels from the config, added to every per-target series. */
  labels: Readonly<Record<string, string>>;
  /** The module the target uses. */
  module: string;
  /** The phase histograms this target's runs feed (global or per-module `phase_histograms`). */
  phaseHistograms: PhaseHistograms;
  intervalMs: number;
}
