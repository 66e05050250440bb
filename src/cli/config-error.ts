/** A config file that does not load: every issue, one per line, `file:line:col key.path: message`. Exit 2. */
export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'ConfigError';
  }
}
