/**
 * Static label names that would collide with a label smtp-probe sets itself are refused at load: `kind`
 * (smtp_probe_warnings{kind}) as the older ones (`target`, `phase`, `module`, ...).
 */
import { describe, expect, test } from 'vitest';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfigText } from '../../src/config/load.js';
import { RESERVED_LABEL_NAMES } from '../../src/metrics/labels.js';

function issues(labels: string): string[] {
  const r = loadConfigText('c.yaml', `targets: [ { name: a, url: smtp://a.example.test, labels: ${labels} } ]\n`, {
    env: {}, readFile: (p) => `unread ${p}`,
  });
  return r.ok ? [] : r.issues.map(formatIssue);
}

describe('static labels', () => {
  test('kind is refused: smtp_probe_warnings carries it', () => {
    expect(issues('{ kind: primary }')).toEqual([expect.stringMatching(/labels\.kind: key is a label smtp-probe sets itself$/)]);
  });

  test('every label name the metrics reserve is refused by the config too', () => {
    for (const name of RESERVED_LABEL_NAMES) {
      expect(issues(`{ ${name}: x }`), name).toEqual([expect.stringMatching(/key is a label smtp-probe sets itself$/)]);
    }
  });
});
