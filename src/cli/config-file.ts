import { formatIssue } from '../config/issues.js';
import { loadConfig } from '../config/load.js';
import type { LoadedConfig } from '../config/resolve.js';

import { ConfigError } from './config-error.js';

export { ConfigError };

export function loadOrThrow(file: string, env: NodeJS.ProcessEnv): LoadedConfig {
  const r = loadConfig(file, { env });
  if (!r.ok) throw new ConfigError(r.issues.map(formatIssue));
  return r.config;
}
