/**
 * The history file, `<state_file>.history` (when `global.state_file` is set in the config): the run history and
 * the alert events across restarts, beside the alert state file and apart from it, so that the alert state's
 * frequent saves stay small. Saved at most once a minute and only when something changed, and at stop; written
 * a target at a time (JSON lines, history/codec.ts) through the state file's atomic replace (temporary file,
 * fsync, rename). 5,000 targets with 100 runs each make a file of 18 MB when all pass, 29 MB when all fail;
 * encoding it takes 0.2-0.4 s of CPU, spread over pieces of 256 KB, and reading it at start 0.3-0.5 s
 * (bench/history.mjs).
 *
 * A file that cannot be read or is not what this build writes is moved aside (`<file>.corrupt-<time>`) with a
 * warning, and the daemon starts without history; it never stops the daemon.
 */
import { moveAside, readOrMoveAside, removeLeftovers, replaceFile } from '../alerts/store.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { decodeHistory, encodeHeader, encodeTarget } from '../history/codec.js';
import type { HistoryStore } from '../history/store.js';
import type { Logger } from '../log.js';

/** At most one save a minute. */
export const HISTORY_SAVE_INTERVAL_MS = 60_000;
/** Lines are handed to the file in pieces of about this many characters (the event loop turns between them). */
const CHUNK_CHARS = 256 * 1024;

export interface HistoryFileOptions {
  clock: Clock;
  logger: Logger;
  intervalMs?: number;
}

export class HistoryFile {
  private timer: TimerHandle | null = null;
  private savedAt = -1;
  private saving: Promise<void> | null = null;
  private failing = false;
  private stopped = false;

  constructor(
    readonly path: string,
    private readonly store: HistoryStore,
    private readonly opts: HistoryFileOptions,
  ) {}

  /**
   * Reads what the previous process saved into the store, for the targets in `names` (the others' are dropped),
   * then saves every minute when something changed. A missing file: nothing to read.
   */
  start(names: Iterable<string>): void {
    removeLeftovers(this.path, this.opts.logger);
    const whole = this.restore(new Set(names));
    // What was read is what the file holds, unless targets no longer configured were left out: then the next
    // save (at most a minute away) writes the file without them.
    if (whole) this.savedAt = this.store.changeCount;
    this.arm();
  }

  /** Saves what changed since the last save, and no more after that. False when it could not be written (logged). */
  async stop(): Promise<boolean> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.saving;
    return this.store.changeCount === this.savedAt ? true : this.save();
  }

  /** Reads the file into the store; true when the store now holds all of it (or there was none to read). */
  private restore(names: Set<string>): boolean {
    const unusable = 'history file unusable; starting without history';
    const text = readOrMoveAside(this.path, this.opts.clock.wallNow(), this.opts.logger, unusable);
    if (text === null) return true;
    const decoded = decodeHistory(text, this.store.capacity);
    if (typeof decoded === 'string') {
      const keptAs = moveAside(this.path, this.opts.clock.wallNow());
      this.opts.logger.warn({ file: this.path, keptAs, problem: decoded }, unusable);
      return true;
    }
    let runs = 0;
    for (const [name, h] of decoded.targets) {
      if (!names.has(name)) continue;
      this.store.put(name, h);
      runs += h.ring.size;
    }
    for (const e of decoded.events) this.store.events.add(e);
    this.opts.logger.info(
      { file: this.path, savedAt: decoded.savedAt, targets: [...names].filter((n) => decoded.targets.has(n)).length, runs, events: decoded.events.length },
      'history restored',
    );
    return [...decoded.targets.keys()].every((n) => names.has(n));
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.opts.clock.setTimer(this.opts.intervalMs ?? HISTORY_SAVE_INTERVAL_MS, () => {
      this.timer = null;
      if (this.store.changeCount === this.savedAt) return this.arm();
      this.saving = this.save().then(() => {
        this.saving = null;
        this.arm();
      });
    });
  }

  /** Writes the store as it is now. Never rejects: false when it could not (an error logged once until it can again). */
  private async save(): Promise<boolean> {
    const changes = this.store.changeCount;
    try {
      await replaceFile(this.path, async (fh) => {
        let chunk = encodeHeader(this.opts.clock.wallNow(), this.store.events.all());
        for (const [name, h] of this.store.entries()) {
          chunk += encodeTarget(name, h);
          if (chunk.length < CHUNK_CHARS) continue;
          await fh.write(chunk);
          chunk = '';
        }
        await fh.write(chunk);
      });
    } catch (e) {
      if (!this.failing) {
        this.opts.logger.error({ file: this.path, err: e instanceof Error ? e.message : String(e) }, 'cannot write the history file; will try again');
      }
      this.failing = true;
      return false;
    }
    if (this.failing) this.opts.logger.info({ file: this.path }, 'history file written again');
    this.failing = false;
    this.savedAt = changes;
    return true;
  }
}
