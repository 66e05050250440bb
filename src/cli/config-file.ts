import { formatIssue } from '../config/issues.js';
import { loadConfig } from '../config/load.js';
import type { LoadedConfig } from '../config/resolve.js';

/** A config file that does not load: every issue, one per line, `file:line:col key.path: message`. Exit 2. */
export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'ConfigError';
  }
}

export function loadOrThrow(file: string, env: NodeJS.ProcessEnv): LoadedConfig {
  const r = loadConfig(file, { env });
  if (!r.ok) throw new ConfigError(r.issues.map(formatIssue));
  return r.config;
}
