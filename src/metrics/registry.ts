/**
 * The registry behind /metrics. Always a new one, never prom-client's global default, so
 * tests and the daemon can each hold their own.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * prom-client default metrics that are gauges named `..._total`: `promtool check metrics` rejects them (a
 * `_total` suffix promises a counter), and each has an un-suffixed twin (`nodejs_active_handles{type}` etc.).
 */
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface RegistryOptions {
  /** Standard process and Node.js runtime metrics (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...). Default true. */
  processMetrics?: boolean;
}

export function createRegistry(options: RegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  }
  return registry;
}
