import { describe, expect, it } from 'vitest';
import { POSTURE_CHECKS, worstOf, worstVerdict, type PostureFinding, type PostureVerdict } from '../../src/core/posture.js';

const f = (result: PostureVerdict): PostureFinding => ({ check: 'vrfy', scope: 'address', mxHost: 'mx1.example.test', address: '192.0.2.1', result, reason: null, detail: '' });

describe('posture vocabulary', () => {
  it('the worst verdict: fail over warn over pass over n/a; none at all is n/a', () => {
    expect(worstVerdict([])).toBe('n/a');
    expect(worstVerdict([f('n/a'), f('pass')])).toBe('pass');
    expect(worstVerdict([f('pass'), f('warn'), f('n/a')])).toBe('warn');
    expect(worstVerdict([f('warn'), f('fail'), f('pass')])).toBe('fail');
  });
  it('worstOf: the first of the worst, with what it carries; null for none', () => {
    const items = [{ result: 'warn' as const, id: 1 }, { result: 'fail' as const, id: 2 }, { result: 'fail' as const, id: 3 }];
    expect(worstOf(items)?.id).toBe(2);
    expect(worstOf([])).toBeNull();
  });
  it('check names are unique snake_case', () => {
    expect(new Set(POSTURE_CHECKS).size).toBe(POSTURE_CHECKS.length);
    for (const c of POSTURE_CHECKS) expect(c).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });
});
