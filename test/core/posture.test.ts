/** What moved between two posture runs of a target. */
import { describe, expect, test } from 'vitest';
import { postureChanges, type PostureCheckName, type PostureFinding, type PostureVerdict } from '../../src/core/posture.js';

const f = (check: PostureCheckName, result: PostureVerdict, reason: string | null = null, address: string | null = '192.0.2.1'): PostureFinding =>
  ({ check, scope: address ? 'address' : 'domain', mxHost: address ? 'mx1.example.test' : null, address, result, reason, detail: `${check} ${result}` });

describe('postureChanges', () => {
  test('the same verdicts and reasons: nothing moved (details may differ)', () => {
    expect(postureChanges([f('dane', 'pass'), f('spf', 'pass', null, null)], [{ ...f('dane', 'pass'), detail: 'other words' }, f('spf', 'pass', null, null)])).toEqual([]);
  });

  test('a verdict that moved, a reason that moved, a finding that came and one that went', () => {
    const before = [f('dane', 'pass'), f('certificate', 'warn', 'certificate-host-mismatch'), f('vrfy', 'pass'), f('dane', 'pass', null, '192.0.2.2')];
    const after = [f('dane', 'fail', 'tlsa-invalid'), f('certificate', 'warn', 'certificate-not-trusted'), f('vrfy', 'pass'), f('fcrdns', 'warn', 'no-ptr')];
    expect(postureChanges(before, after).map((c) => [c.check, c.address, c.from, c.to, c.reason])).toEqual([
      ['dane', '192.0.2.1', 'pass', 'fail', 'tlsa-invalid'],
      ['certificate', '192.0.2.1', 'warn', 'warn', 'certificate-not-trusted'],
      ['fcrdns', '192.0.2.1', null, 'warn', 'no-ptr'],
      ['dane', '192.0.2.2', 'pass', null, null],
    ]);
  });
});
