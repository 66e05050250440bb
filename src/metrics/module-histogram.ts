/**
 * smtp_probe_module_phase_duration_seconds{module,phase}: the phase durations of every run of a module's
 * targets, one histogram per module and phase (`phase_histograms: module`, the default, and `target`). Its size
 * is modules × phases whatever the number of targets; per-target quantiles come from quantile_over_time over
 * smtp_probe_phase_last_duration_seconds instead (README "Running as a monitor").
 *
 * A module's series last while some target feeds them: a target that stops (its setting became `none`, it moved
 * to another module, it was removed from the config) leaves, and the last one to leave takes the series along.
 */
import { Histogram, type Registry } from 'prom-client';
import type { Phase } from '../core/result.js';
import type { TargetMeta } from '../core/target-meta.js';

export const MODULE_PHASE_HISTOGRAM = 'smtp_probe_module_phase_duration_seconds';

interface ModuleState {
  /** The targets whose latest run fed this module's series. */
  targets: Set<string>;
  /** The phases observed, to remove their series with the module's. */
  phases: Set<Phase>;
}

export class ModulePhaseHistogram {
  private readonly histogram: Histogram<'module' | 'phase'>;
  /** target name → the module its latest run fed. */
  private readonly feeding = new Map<string, string>();
  private readonly modules = new Map<string, ModuleState>();

  constructor(registry: Registry, buckets: readonly number[]) {
    this.histogram = new Histogram({
      name: MODULE_PHASE_HISTOGRAM,
      help: 'Duration of each phase over all runs of the targets of a module, in seconds (phase_histograms module or target).',
      labelNames: ['module', 'phase'],
      buckets: [...buckets],
      registers: [registry],
    });
  }

  /** One result of `meta`'s target (each MX host's result of an mx:// run is one). */
  observe(meta: TargetMeta, phaseSeconds: ReadonlyMap<Phase, number>): void {
    if (meta.phaseHistograms === 'none') {
      this.forget(meta.name);
      return;
    }
    if (this.feeding.get(meta.name) !== meta.module) {
      this.forget(meta.name);
      this.feeding.set(meta.name, meta.module);
    }
    let state = this.modules.get(meta.module);
    if (!state) {
      state = { targets: new Set(), phases: new Set() };
      this.modules.set(meta.module, state);
    }
    state.targets.add(meta.name);
    for (const [phase, seconds] of phaseSeconds) {
      this.histogram.observe({ module: meta.module, phase }, seconds);
      state.phases.add(phase);
    }
  }

  /** The target no longer feeds its module; the module's series go when it was the last one that did. */
  forget(targetName: string): void {
    const module = this.feeding.get(targetName);
    if (module === undefined) return;
    this.feeding.delete(targetName);
    const state = this.modules.get(module);
    if (!state) return;
    state.targets.delete(targetName);
    if (state.targets.size > 0) return;
    for (const phase of state.phases) this.histogram.remove({ module, phase });
    this.modules.delete(module);
  }
}
