/**
 * Gauge and counter families for the per-target series, built for fleets: 10,000 targets put ~300,000 lines
 * on /metrics. prom-client's Gauge and Counter key every series by a string built from its labels (sorted,
 * joined) in a plain object, and format and escape every label of every line on every scrape; at that size a
 * scrape took over a second and filling the series ~6 µs per set(). Here a series is keyed by its label
 * object, made once by createLabelSet() and reused for the series' whole life (record.ts keeps them with the
 * target), which also carries its rendered label text. set() and inc() are a Map operation; a scrape
 * concatenates strings.
 *
 * These classes register in an ordinary prom-client Registry and implement what it calls on a metric:
 * `get()` (JSON: getMetricsAsJSON, cluster aggregation), `getForPromString()` (text: metrics()), `reset()`.
 * In OpenMetrics mode, or on a registry with default labels, they hand prom-client full label sets and let it
 * render them, the slow and general way.
 */
import { Registry, type Metric } from 'prom-client';

const TEXT = Symbol('label text');

/** A frozen label object with its rendered text, the identity of one series (see createLabelSet). */
export type LabelSet<T extends object> = Readonly<T> & { readonly [TEXT]: string };

/** Prometheus text-format label value escaping (as prom-client does it). */
function escapeValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/**
 * The label object of one series, for its whole life: a frozen copy of `labels`, with `name="value"` pairs in
 * the object's key order rendered once into a slot that is a non-enumerable symbol property (invisible to
 * Object.keys, JSON and prom-client). Two label sets with equal contents are two series: make one per series.
 */
export function createLabelSet<T extends object>(labels: T): LabelSet<T> {
  const copy: Record<string, string> = {};
  const parts: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (value === undefined) continue;
    copy[name] = String(value);
    parts.push(`${name}="${escapeValue(String(value))}"`);
  }
  Object.defineProperty(copy, TEXT, { value: parts.length > 0 ? `{${parts.join(',')}}` : '', enumerable: false });
  return Object.freeze(copy) as unknown as LabelSet<T>;
}

interface FamilyConfig {
  name: string;
  help: string;
  registry: Registry;
}

interface Sample {
  value: number;
  labels: Record<string, string>;
  metricName?: string;
  sharedLabels?: Record<string, string>;
}

const NO_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * One series: its value, and the line prefix (metric name + label text) prom-client prints as is. The same
 * object is handed to the registry on every scrape (it only reads it), so a scrape allocates one array.
 */
interface Line extends Sample {
  value: number;
  readonly labels: Record<string, string>;
  readonly sharedLabels: Record<string, string>;
  metricName: string;
}

abstract class SeriesFamily<T extends object> {
  name: string;
  readonly help: string;
  abstract readonly type: 'gauge' | 'counter';
  readonly aggregator = 'sum';
  protected readonly series = new Map<LabelSet<T>, Line>();
  private readonly registry: Registry;

  constructor(config: FamilyConfig) {
    this.name = config.name;
    this.help = config.help;
    this.registry = config.registry;
    // The registry takes any object with name/get/getForPromString/reset; its type names prom-client's classes.
    config.registry.registerMetric(this as unknown as Metric);
  }

  remove(labels: LabelSet<T>): void {
    this.series.delete(labels);
  }

  reset(): void {
    this.series.clear();
  }

  /** prom-client's metric object: full label sets (getMetricsAsJSON, cluster aggregation). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const [labels, { value }] of this.series) values.push({ value, labels: { ...labels } as Record<string, string> });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** What Registry.metrics() renders: each line's label text already in its metric name. */
  async getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    if (!this.fastTextApplies()) return this.get();
    const values = [...this.series.values()];
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Set a series' value, creating the series if needed. */
  protected write(labels: LabelSet<T>, value: number): void {
    const line = this.series.get(labels);
    if (line) line.value = value;
    else this.series.set(labels, { value, labels: NO_LABELS, sharedLabels: NO_LABELS, metricName: this.name + labels[TEXT] });
  }

  /** Prometheus text without registry-wide default labels: otherwise prom-client must merge labels itself. */
  private fastTextApplies(): boolean {
    if (this.registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) return false;
    const defaults = (this.registry as unknown as { _defaultLabels?: object })._defaultLabels;
    return defaults === undefined || Object.keys(defaults).length === 0;
  }
}

export class SeriesGauge<T extends object> extends SeriesFamily<T> {
  readonly type = 'gauge';

  set(labels: LabelSet<T>, value: number): void {
    if (typeof value !== 'number') throw new TypeError(`${this.name}: value is not a number: ${String(value)}`);
    this.write(labels, value);
  }
}

export class SeriesCounter<T extends object> extends SeriesFamily<T> {
  readonly type = 'counter';

  /** Add `by` (default 1); `inc(labels, 0)` makes the series exist at 0. */
  inc(labels: LabelSet<T>, by = 1): void {
    if (!Number.isFinite(by) || by < 0) throw new RangeError(`${this.name}: a counter only goes up, not by ${by}`);
    this.write(labels, (this.series.get(labels)?.value ?? 0) + by);
  }
}
