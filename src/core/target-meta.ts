/** What metrics, logs and alerts know about a configured target besides its result records. */
export interface TargetMeta {
  /** The target's unique name (the `target` label). */
  name: string;
  /** Static labels from the config, added to every per-target series. */
  labels: Readonly<Record<string, string>>;
  /** The module the target uses. */
  module: string;
  /** Record smtp_probe_phase_duration_seconds for this target (global or per-module `phase_histograms`). */
  phaseHistograms: boolean;
  intervalMs: number;
}
