/**
 * Failure storms: most targets failing at once for network reasons (connect, DNS, timeout) point at the probe's own
 * network. Two questions, asked after every result:
 *
 *   - `storm`: is one going on now? At least half the watched targets (and at least 4) failed their last run for a
 *     network reason; it ends when fewer than 30 % do (hysteresis). While it lasts, per-target `down` alerts wait.
 *   - `verdict()`: what the `smtp_probe_isolated` alert says. `bad` once at least half the watched targets (at least
 *     4) failed their last `failureThreshold` runs in a row for network reasons: a storm of one round (a burst, a
 *     /probe flood starving the scheduled runs) does not page. `good` once more than 70 % have answered their last
 *     `successThreshold` runs in a row. `unknown` in between, and until every configured target has reported since
 *     the start or the reload that added it (a restart does not resolve it from the first few results).
 *
 * Silenced targets are not watched: a silence over the targets whose failures would make the storm (planned
 * maintenance) holds the isolated alert back too. Counts are kept up to date per result: O(1) per result.
 */
import type { IsolatedSettings, Verdict } from './types.js';

/** A storm needs this many watched targets, and starts/ends at these failing shares. */
const STORM_MIN_TARGETS = 4;
const STORM_ON = 0.5;
const STORM_OFF = 0.3;

interface Reach {
  /** Consecutive runs that failed for a network reason. */
  down: number;
  /** Consecutive runs that did not. */
  up: number;
}

export class StormTracker {
  storm = false;
  private readonly reach = new Map<string, Reach>();
  /** Configured targets that have not reported yet. */
  private readonly awaited = new Set<string>();
  /** Watched targets whose last run failed for a network reason / failed `failureThreshold` in a row / have not answered `successThreshold` in a row. */
  private down = 0;
  private downLong = 0;
  private notBack = 0;

  constructor(private settings: IsolatedSettings) {}

  /** A result of `name`: `networkDown`, or null when the target is silenced (then it is not watched). */
  record(name: string, networkDown: boolean | null): void {
    this.awaited.delete(name);
    const before = this.reach.get(name);
    if (before) this.count(before, -1);
    if (networkDown === null) {
      this.reach.delete(name);
    } else {
      const next = networkDown ? { down: (before?.down ?? 0) + 1, up: 0 } : { down: 0, up: (before?.up ?? 0) + 1 };
      this.reach.set(name, next);
      this.count(next, 1);
    }
    this.update();
  }

  /** A reload: the configured targets (those not seen yet are awaited), thresholds; results of others forgotten. */
  replace(names: ReadonlySet<string>, settings: IsolatedSettings): void {
    this.settings = settings;
    for (const name of [...this.reach.keys()]) if (!names.has(name)) this.reach.delete(name);
    for (const name of [...this.awaited]) if (!names.has(name)) this.awaited.delete(name);
    for (const name of names) if (!this.reach.has(name)) this.awaited.add(name);
    this.down = this.downLong = this.notBack = 0;
    for (const r of this.reach.values()) this.count(r, 1);
    this.update();
  }

  verdict(): Verdict {
    const known = this.reach.size;
    if (this.awaited.size > 0) return 'unknown';
    if (known >= STORM_MIN_TARGETS && this.downLong / known >= STORM_ON) return 'bad';
    if (known === 0 || this.notBack / known < STORM_OFF) return 'good';
    return 'unknown';
  }

  /** `down` of `watched` targets fail now: for the isolated alert's summary. */
  get failing(): { down: number; watched: number } {
    return { down: this.down, watched: this.reach.size };
  }

  private count(r: Reach, sign: 1 | -1): void {
    if (r.down > 0) this.down += sign;
    if (r.down >= this.settings.failureThreshold) this.downLong += sign;
    if (r.up < this.settings.successThreshold) this.notBack += sign;
  }

  /** Storm on at half the watched targets failing (at least 4 watched), off under 30 %. */
  private update(): void {
    const known = this.reach.size;
    const share = known === 0 ? 0 : this.down / known;
    this.storm = this.storm ? share >= STORM_OFF : known >= STORM_MIN_TARGETS && share >= STORM_ON;
  }
}
