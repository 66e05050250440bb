/**
 * The state file (`global.state_file`): alert states and undelivered notifications, so that a restart neither
 * fires an alert again nor forgets to send its resolve.
 *
 * Written atomically: the whole snapshot goes to `<path>.tmp-<pid>` (mode 0600, fsync), which is renamed over
 * `<path>`, then the directory is fsynced. A crash at any point leaves either the old file or the new one; a
 * leftover temporary file is removed at the next load. Saves are serialised, and `scheduleSave` writes at most
 * once per `minIntervalMs` (timers on the injected Clock); `saveSoon` (after a delivery, before it counts as sent)
 * writes as soon as the save under way ends, and callers meanwhile share that one write.
 *
 * It holds result records (server text, never secrets: results carry no credentials, and transcripts mask AUTH).
 * Its size is bounded by the delivery queue's bound per receiver and by the number of alert instances.
 */
import { readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { AlertsLogger } from './delivery/index.js';
import type { AlertState, Notification, NotificationKind } from './types.js';

export const STATE_FILE_VERSION = 1;

export interface StateSnapshot {
  alerts: AlertState[];
  pending: Notification[];
}

export interface StateStoreOptions {
  clock: Clock;
  logger?: AlertsLogger;
  /** scheduleSave writes at most once per this. Default 1000 ms. */
  minIntervalMs?: number;
  /** After a failed scheduled save, try again after this. Default 10000 ms. */
  retryMs?: number;
}

const KINDS: readonly NotificationKind[] = ['firing', 'reminder', 'resolved', 'refresh'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringOrNull = (v: unknown): boolean => v === null || typeof v === 'string';

function isAlertState(v: unknown): v is AlertState {
  return (
    isObject(v) && typeof v.rule === 'string' && typeof v.target === 'string' && (v.status === 'ok' || v.status === 'firing') &&
    typeof v.badStreak === 'number' && typeof v.goodStreak === 'number' && isStringOrNull(v.badSince) &&
    isStringOrNull(v.firedAt) && typeof v.notified === 'boolean' && isStringOrNull(v.lastNotifiedAt)
  );
}

function isNotification(v: unknown): v is Notification {
  return (
    isObject(v) && typeof v.id === 'string' && typeof v.receiver === 'string' && KINDS.includes(v.kind as NotificationKind) &&
    (v.status === 'firing' || v.status === 'resolved') && typeof v.alert === 'string' && typeof v.target === 'string' &&
    isObject(v.labels) && typeof v.startsAt === 'string' && isStringOrNull(v.endsAt)
  );
}

/** The file's content, or why it cannot be used. */
function parseState(text: string): StateSnapshot | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `not JSON: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (!isObject(doc)) return 'not a JSON object';
  if (doc.version !== STATE_FILE_VERSION) return `unknown version ${JSON.stringify(doc.version)} (this build reads ${STATE_FILE_VERSION})`;
  const { alerts, pending } = doc;
  if (!Array.isArray(alerts) || !alerts.every(isAlertState)) return '"alerts" is not a list of alert states';
  if (!Array.isArray(pending) || !pending.every(isNotification)) return '"pending" is not a list of notifications';
  return { alerts, pending };
}

const empty = (): StateSnapshot => ({ alerts: [], pending: [] });

function errorCode(e: unknown): string | undefined {
  return isObject(e) && typeof e.code === 'string' ? e.code : undefined;
}

export class StateStore {
  readonly path: string;
  private readonly clock: Clock;
  private readonly logger: AlertsLogger | undefined;
  private readonly minIntervalMs: number;
  private readonly retryMs: number;
  /** The tail of the serialised saves. */
  private chain: Promise<void> = Promise.resolve();
  private getSnapshot: (() => StateSnapshot) | null = null;
  private timer: TimerHandle | null = null;
  private lastSaveAt = -Infinity;
  private closed = false;
  /** A saveSoon waiting for the save under way: later callers share it. */
  private soon: Promise<void> | null = null;

  constructor(file: string, options: StateStoreOptions) {
    this.path = path.resolve(file);
    this.clock = options.clock;
    this.logger = options.logger;
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.retryMs = options.retryMs ?? 10_000;
  }

  /**
   * What the previous process saved. A missing file: empty. A corrupt or unreadable file, or one of an unknown
   * version: empty, with a warning, and the file moved aside as `<path>.corrupt-<time>` (see `moveAside`).
   * Leftover temporary files of interrupted saves are removed.
   */
  load(): StateSnapshot {
    removeLeftovers(this.path, this.logger);
    const text = readOrMoveAside(this.path, this.clock.wallNow(), this.logger, 'state file unusable; starting without alert state');
    if (text === null) return empty();
    const parsed = parseState(text);
    if (typeof parsed !== 'string') return parsed;
    const keptAs = moveAside(this.path, this.clock.wallNow());
    this.logger?.warn({ file: this.path, keptAs, problem: parsed }, 'state file unusable; starting without alert state');
    return empty();
  }

  /** Writes `snapshot` atomically (after any save already under way). Rejects if it could not be written. */
  save(snapshot: StateSnapshot): Promise<void> {
    const text = this.text(snapshot);
    const next = this.chain.then(() => this.write(text));
    this.chain = next.catch(() => undefined);
    return next;
  }

  /**
   * Saves `getSnapshot()` soon: at most once per `minIntervalMs`, the snapshot taken when the write starts.
   * Errors are logged and the save retried after `retryMs`.
   */
  scheduleSave(getSnapshot: () => StateSnapshot): void {
    this.getSnapshot = getSnapshot;
    this.arm(Math.max(0, this.lastSaveAt + this.minIntervalMs - this.clock.now()));
  }

  /**
   * Saves `getSnapshot()` as soon as the save under way (if any) ends, whatever `minIntervalMs` says; callers until
   * then share that write, whose snapshot is taken when it starts. Rejects if it could not be written.
   */
  saveSoon(getSnapshot: () => StateSnapshot): Promise<void> {
    this.getSnapshot = getSnapshot;
    if (this.soon) return this.soon;
    const next = this.chain.then(() => {
      this.soon = null;
      this.lastSaveAt = this.clock.now();
      return this.write(this.text(getSnapshot()));
    });
    this.soon = next;
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Saves the latest snapshot now (the one given to scheduleSave, or `snapshot`); cancels a scheduled save. */
  async saveNow(snapshot?: StateSnapshot): Promise<void> {
    const take = snapshot ? () => snapshot : this.getSnapshot;
    this.timer?.cancel();
    this.timer = null;
    if (!take) return this.idle();
    this.lastSaveAt = this.clock.now();
    await this.save(take());
  }

  /** Resolves when every save started so far has finished (written or failed). */
  idle(): Promise<void> {
    return this.chain;
  }

  /** No more scheduled saves (saveNow still works). */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
  }

  private arm(delay: number): void {
    if (this.timer || this.closed) return;
    this.timer = this.clock.setTimer(delay, () => {
      this.timer = null;
      const take = this.getSnapshot;
      if (!take) return;
      this.lastSaveAt = this.clock.now();
      this.save(take()).catch((e: unknown) => {
        this.logger?.error({ file: this.path, err: e instanceof Error ? e.message : String(e) }, 'cannot write the state file; will try again');
        this.arm(this.retryMs);
      });
    });
  }

  private text(snapshot: StateSnapshot): string {
    return `${JSON.stringify({ version: STATE_FILE_VERSION, savedAt: new Date(this.clock.wallNow()).toISOString(), ...pick(snapshot) })}\n`;
  }

  private write(text: string): Promise<void> {
    return replaceFile(this.path, (fh) => fh.writeFile(text, 'utf8'));
  }
}

/**
 * Replaces `file` atomically with what `fill` writes: into `<file>.tmp-<pid>` (mode 0600, fsync), renamed over
 * `file`, then the directory fsynced. A crash at any point leaves either the old file or the new one. The state
 * file and the history file (daemon) are written through it. Rejects if it could not (the old file stays).
 */
export async function replaceFile(file: string, fill: (fh: FileHandle) => Promise<void>): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.chmod(0o600);
      await fill(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}

/** Makes a rename durable. Some platforms cannot fsync a directory; that is not an error. */
async function syncDir(dir: string): Promise<void> {
  let dh;
  try {
    dh = await open(dir, 'r');
    await dh.sync();
  } catch (e) {
    const code = errorCode(e);
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw e;
  } finally {
    await dh?.close();
  }
}

/** Removes the temporary files that interrupted saves of `file` left (`<file>.tmp-*`). */
export function removeLeftovers(file: string, logger?: AlertsLogger): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    try {
      unlinkSync(path.join(dir, name));
      logger?.info({ file: path.join(dir, name) }, 'removed the temporary file of an interrupted save');
    } catch {
      // A directory or not ours to remove: leave it.
    }
  }
}

/**
 * Moves a file that cannot be used out of the way, to `<file>.corrupt-<UTC time>` (`20261205T053900.123Z`), so
 * that the next save starts afresh and the bytes stay for a person to look at; each time its own name. Returns
 * the new name, or null when it could not be moved (then it stays where it is, and the next save replaces it).
 */
export function moveAside(file: string, wallNow: number): string | null {
  const stamp = new Date(wallNow).toISOString().replace(/[-:]/g, '');
  const kept = `${file}.corrupt-${stamp}`;
  try {
    renameSync(file, kept);
    return kept;
  } catch {
    return null;
  }
}

/**
 * The content of `file`; null when there is none: missing (nothing said), or unreadable (moved aside, and `message`
 * warned with the file, where it went and why).
 */
export function readOrMoveAside(file: string, wallNow: number, logger: AlertsLogger | undefined, message: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return null;
    // A directory is no file of ours to move: it stays, and every save fails (logged) until someone moves it.
    const keptAs = errorCode(e) === 'EISDIR' ? null : moveAside(file, wallNow);
    logger?.warn({ file, keptAs, problem: `cannot read it: ${e instanceof Error ? e.message : String(e)}` }, message);
    return null;
  }
}

/** Only the persisted fields, so a caller's extra properties never reach the file by accident. */
function pick(s: StateSnapshot): StateSnapshot {
  return { alerts: s.alerts, pending: s.pending };
}
