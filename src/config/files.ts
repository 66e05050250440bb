import { createHash } from 'node:crypto';
import { dirname, isAbsolute, join } from 'node:path';
import type { ConfigIssue, ConfigPath, SourceMap } from './issues.js';
import { OFFLINE_FILE_TEXT } from './placeholders.js';

/** `*_file` keys that name files smtp-probe writes, not reads. */
const OUTPUT_FILES = new Set(['state_file']);

/**
 * The files a config names (`*_file` keys): read once at load, relative paths from the config file's directory
 * (as Prometheus does), one trailing newline stripped from secrets. An unreadable file is an issue at its key.
 * Offline (`readFile` null, `validate --offline`) nothing is read: every file holds OFFLINE_FILE_TEXT.
 */
export class FileReader {
  readonly issues: ConfigIssue[] = [];
  private readonly cache = new Map<string, string | null>();
  private readonly base: string;

  constructor(
    configFile: string,
    private readonly readFile: ((path: string) => string) | null,
    private readonly src: SourceMap,
  ) {
    this.base = dirname(configFile);
  }

  /** How many different files the config names (so far): offline, the ones taken on trust. */
  get named(): number {
    return this.cache.size;
  }

  read(path: ConfigPath, name: string, stripNewline = false): string | undefined {
    const full = isAbsolute(name) ? name : join(this.base, name);
    if (!this.cache.has(full) && this.readFile === null) this.cache.set(full, OFFLINE_FILE_TEXT);
    if (!this.cache.has(full)) {
      try {
        this.cache.set(full, this.readFile!(full));
      } catch (e) {
        this.cache.set(full, null);
        const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        this.issues.push(this.src.issue(path, `cannot read ${name}: ${why}`));
      }
    }
    const text = this.cache.get(full);
    if (text === null || text === undefined) return undefined;
    return stripNewline ? text.replace(/\r?\n$/, '') : text;
  }

  /** Read every `*_file` value anywhere in an unvalidated config, so missing files show up with schema errors. */
  checkAll(raw: unknown, path: (string | number)[] = []): ConfigIssue[] {
    const before = this.issues.length;
    const walk = (v: unknown, p: (string | number)[]): void => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...p, i]));
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k.endsWith('_file') && typeof x === 'string' && !OUTPUT_FILES.has(k)) this.read([...p, k], x);
          else walk(x, [...p, k]);
        }
      }
    };
    walk(raw, path);
    return this.issues.slice(before);
  }

  /** What the files held, for the config digest: rotating a secret or a CA is a change. */
  digest(): string {
    const h = createHash('sha256');
    for (const [name, text] of [...this.cache].sort(([a], [b]) => a.localeCompare(b))) h.update(`${name}\0${text ?? ''}\0`);
    return h.digest('hex');
  }
}
