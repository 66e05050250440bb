/** The status page at `/` (src/daemon/index-page.ts): its failure column says each thing once. */
import { describe, expect, it } from 'vitest';
import type { ConfiguredTarget } from '../../src/config/resolve.js';
import type { CheckResult, Failure } from '../../src/core/result.js';
import { renderIndex } from '../../src/daemon/index-page.js';
import { fullSuccess } from '../metrics/fixtures.js';

const target = { name: 'mx1', url: 'smtp://mx1.example.test:25', module: 'default' } as ConfiguredTarget;

function failureCell(f: Failure): string {
  const r: CheckResult = { ...fullSuccess('mx1'), ok: false, failure: f };
  const html = renderIndex([target], new Map([['mx1', [r]]]), '1.0.0');
  return /<td>([^<]*)<\/td><\/tr>/.exec(html)![1]!;
}

describe('the failure column', () => {
  it('a refused connection: "connect: connection refused", not "connect: connect - ..."', () => {
    expect(failureCell({ phase: 'connect', reason: 'connect', code: null, enhancedCode: null, message: 'connection refused' })).toBe('connect: connection refused');
  });

  it('a refused AUTH: the reply code once, the reason in brackets', () => {
    const cell = failureCell({ phase: 'auth', reason: 'reply', code: 535, enhancedCode: '5.7.8', message: '535 5.7.8 Error: authentication failed' });
    expect(cell).toBe('auth (reply): 535 5.7.8 Error: authentication failed');
  });

  it('a failure without the code in its message gets it in front', () => {
    const cell = failureCell({ phase: 'rcpt', reason: 'expectation', code: 250, enhancedCode: '2.1.5', message: 'accepted, but 5xx was expected' });
    expect(cell).toBe('rcpt (expectation): 250 2.1.5 accepted, but 5xx was expected');
  });
});
