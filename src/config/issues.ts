import { isMap, isPair, isScalar, type Document, type LineCounter, type Node } from 'yaml';

export type ConfigPath = readonly (string | number)[];

/** One problem in a config file, pointing at its source: `config.yaml:14:7 targets[2].module: message`. */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.col} ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/** `['targets', 2, 'module']` → `targets[2].module`. */
export function pathString(path: ConfigPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Maps config paths back to line and column, through the parsed YAML document. */
export class SourceMap {
  constructor(
    readonly file: string,
    private readonly doc: Document | null,
    private readonly lines: LineCounter | null,
  ) {}

  /**
   * An issue at `path`. `atKey` points at the key itself (unknown keys) rather than its value. A path that does not
   * exist in the file (a missing required key) points at the closest ancestor that does.
   */
  issue(path: ConfigPath, message: string, atKey = false): ConfigIssue {
    const pos = this.position(path, atKey);
    return { file: this.file, line: pos.line, col: pos.col, path: pathString(path), message };
  }

  at(line: number, col: number, message: string): ConfigIssue {
    return { file: this.file, line, col, path: '', message };
  }

  private position(path: ConfigPath, atKey: boolean): { line: number; col: number } {
    if (!this.doc || !this.lines) return { line: 1, col: 1 };
    for (let n = path.length; n >= 0; n -= 1) {
      const node = this.node(path.slice(0, n), atKey && n === path.length);
      const start = node?.range?.[0];
      if (start !== undefined) return this.lines.linePos(start);
    }
    return { line: 1, col: 1 };
  }

  private node(path: ConfigPath, keyNode: boolean): Node | null {
    const doc = this.doc!;
    if (path.length === 0) return (doc.contents as Node | null) ?? null;
    if (keyNode) {
      const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
      if (isMap(parent)) {
        const last = path[path.length - 1];
        const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === last);
        if (pair && isScalar(pair.key)) return pair.key;
      }
    }
    const n = doc.getIn(path, true);
    return n && typeof n === 'object' && 'range' in n ? (n as Node) : null;
  }
}
