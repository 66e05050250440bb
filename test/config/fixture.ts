import { readFileSync, readdirSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type LoadResult } from '../../src/config/load.js';

/** test/config/ */
export const HERE = fileURLToPath(new URL('.', import.meta.url));
/** The repository root: `*_file` paths inside the fixtures are relative to it. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The environment the fixtures are loaded with (never process.env). */
export const FIXTURE_ENV: NodeJS.ProcessEnv = {
  SMTP_PASSWORD: 'from-env-pw',
  MAIL_HOST: 'mail.example.test',
  PROBE_EHLO: 'probe.example.test',
};

/**
 * Reads the config as `fixtures/NAME.yaml` (relative to test/config, so issue lines read `fixtures/x.yaml:3:12 …`)
 * and every other relative path (`*_file` values) from the repository root, whatever the working directory.
 */
export function fixtureReadFile(p: string): string {
  if (isAbsolute(p)) return readFileSync(p, 'utf8');
  return readFileSync(resolve(p.startsWith('fixtures/') ? HERE : ROOT, p), 'utf8');
}

export function loadFixture(
  name: string,
  env: NodeJS.ProcessEnv = FIXTURE_ENV,
  readFile: (p: string) => string = fixtureReadFile,
): LoadResult {
  return loadConfig(`fixtures/${name}`, { env, readFile });
}

export function fixtureNames(prefix: 'valid-' | 'invalid-'): string[] {
  return readdirSync(resolve(HERE, 'fixtures'))
    .filter((f) => f.startsWith(prefix) && f.endsWith('.yaml'))
    .sort();
}

export function fixtureText(name: string): string {
  return readFileSync(resolve(HERE, 'fixtures', name), 'utf8');
}
