/**
 * The repository explains itself: no tracked file points at documents that live outside it (a contract and a
 * style guide next to the checkout, tools in a shared folder next to it), only at its own README, ARCHITECTURE.md and docs/.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/** A contract and a style guide that lived beside the checkout, and tools in a shared folder next to it (spelt in pieces: this file must not match). */
const OUTSIDE_RE = new RegExp(['\\bCONT' + 'RACT(\\.md|:| "| payload)', 'STY' + 'LE\\.md', '\\.\\./sha' + 'red\\b'].join('|'));

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f !== '');
}

describe('a self-contained repository', () => {
  test('no tracked file mentions documents outside the repository', () => {
    const files = trackedFiles();
    expect(files.length).toBeGreaterThan(100);
    const hits: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, file), 'utf8');
      } catch {
        continue; // deleted in the work tree, not yet committed
      }
      text.split('\n').forEach((line, i) => {
        if (OUTSIDE_RE.test(line)) hits.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(hits).toEqual([]);
  });

  test('the files a published project carries are there', () => {
    const files = new Set(trackedFiles());
    for (const f of ['LICENSE', 'CHANGELOG.md', 'README.md', 'ARCHITECTURE.md', 'docs/metrics.md', 'docs/result-record.schema.json', 'docs/webhook-payload.schema.json']) {
      expect(files, f).toContain(f);
    }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string; version: string };
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(new RegExp(`^${pkg.license} License`));
    expect(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8')).toContain(`## ${pkg.version}`);
  });
});

describe('the Docker instructions match the Dockerfile', () => {
  const read = (f: string): string => readFileSync(join(ROOT, f), 'utf8');

  test('README: plain docker build and docker run with the config mounted, the state volume and the exposed port', () => {
    const dockerfile = read('Dockerfile');
    const port = /^EXPOSE (\d+)$/m.exec(dockerfile)?.[1];
    expect(port).toBeDefined();
    const readme = read('README.md');
    expect(readme).toContain('docker build -t smtp-probe .');
    const run = /^docker run -d [\s\S]*?smtp-probe run --config (\S+)$/m.exec(readme);
    expect(run, 'a docker run line for the daemon').not.toBeNull();
    expect(run![0]).toContain(`-p ${port}:${port}`);
    expect(run![0]).toContain(`:${run![1]}:ro`);
    expect(run![0]).toContain(':/var/lib/smtp-probe');
  });

  test('examples/README.md says what the image does with /var/lib/smtp-probe: it creates it, owned by node', () => {
    expect(read('Dockerfile')).toMatch(/mkdir -p \/var\/lib\/smtp-probe && chown node:node \/var\/lib\/smtp-probe/);
    const text = read('examples/README.md');
    expect(text).not.toMatch(/does not create/);
    expect(text).toMatch(/The image creates that directory owned by the `node`/);
  });
});
