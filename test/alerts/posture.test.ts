/** The posture alert kind: what a rule says of a posture run's findings, and the engine's steps on them. */
import { describe, expect, test } from 'vitest';
import type { z } from 'zod';
import { AlertEngine, type AlertTarget } from '../../src/alerts/engine.js';
import { judgePosture, resolveRules } from '../../src/alerts/rules.js';
import type { AlertRule, Notification } from '../../src/alerts/types.js';
import { alertsSchema } from '../../src/config/schema.js';
import type { PostureCheckName, PostureFinding, PostureVerdict } from '../../src/core/posture.js';
import { authFailure } from '../metrics/fixtures.js';

const rules = (r: z.input<typeof alertsSchema>['rules']): AlertRule[] => resolveRules(alertsSchema.parse({ rules: r }));
const f = (check: PostureCheckName, result: PostureVerdict, reason: string | null = null, mxHost: string | null = 'mx1.example.test', address: string | null = '192.0.2.1'): PostureFinding =>
  ({ check, scope: address ? 'address' : mxHost ? 'mx' : 'domain', mxHost, address, result, reason, detail: `${check} said ${result}` });

const [all] = rules([{ name: 'p', kind: 'posture', receivers: ['ops'] }]);
const [daneOnly] = rules([{ name: 'p', kind: 'posture', checks: ['dane'], receivers: ['ops'] }]);
const [warnToo] = rules([{ name: 'p', kind: 'posture', checks: ['mta_sts', 'dane'], on: 'warn', receivers: ['ops'] }]);

describe('judgePosture', () => {
  test.each([
    ['every check passes', 'good', all!, [f('dane', 'pass'), f('starttls', 'pass')]],
    ['a fail of any check (rule without checks)', 'bad', all!, [f('dane', 'pass'), f('vrfy', 'fail', 'vrfy-enabled')]],
    ['a warn under on: fail', 'good', all!, [f('certificate', 'warn', 'certificate-host-mismatch')]],
    ['n/a only', 'good', all!, [f('dane', 'n/a', 'insecure')]],
    ['a fail of a check the rule does not watch', 'good', daneOnly!, [f('dane', 'pass'), f('open_relay', 'fail', 'open-relay')]],
    ['the watched check fails', 'bad', daneOnly!, [f('dane', 'fail', 'tlsa-invalid'), f('open_relay', 'pass')]],
    ['no finding of a watched check (the run reached nothing)', 'unknown', daneOnly!, [f('spf', 'pass', null, null, null)]],
    ['no finding at all', 'unknown', all!, []],
    ['on: warn, a warn of a watched check', 'bad', warnToo!, [f('mta_sts', 'warn', 'validation-failure', null, null)]],
    ['on: warn, a warn of another check', 'good', warnToo!, [f('certificate', 'warn'), f('dane', 'pass')]],
  ] as const)('%s → %s', (_name, verdict, rule, findings) => {
    expect(judgePosture(rule, 'example.test', findings).verdict).toBe(verdict);
  });

  test('bad names each finding that made it so, where it is and why; at most five, then a count', () => {
    const many = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.7'].map((a) => f('dane', 'fail', 'tlsa-invalid', 'mx1.example.test', a));
    const j = judgePosture(daneOnly!, 'example.test', [f('dane', 'pass', null, 'mx2.example.test', '192.0.2.9'), ...many]);
    expect(j.bad).toHaveLength(7);
    expect(j.summary).toMatch(/^posture of example\.test: dane fail at mx1\.example\.test 192\.0\.2\.1 \(tlsa-invalid\): dane said fail; /);
    expect(j.summary).toMatch(/; and 2 more$/);
    expect(j.summary).not.toContain('mx2');
    const domain = judgePosture(warnToo!, 'example.test', [f('mta_sts', 'warn', 'validation-failure', null, null)]);
    expect(domain.summary).toBe('posture of example.test: mta_sts warn at example.test (validation-failure): mta_sts said warn');
  });
});

describe('the engine', () => {
  const t: AlertTarget = { name: 'ex', module: 'sec', labels: { env: 'prod' }, intervalMs: 6 * 3_600_000 };

  test('one bad run fires with the bad findings, one good run resolves with none; check runs never step it', () => {
    let now = Date.UTC(2026, 11, 5);
    const sent: Notification[] = [];
    const both = rules([
      { name: 'p', kind: 'posture', checks: ['dane'], receivers: ['ops'] },
      { name: 'down', kind: 'down', failure_threshold: 1, receivers: ['ops'] },
    ]);
    const engine = new AlertEngine({ rules: both, silences: [], now: () => now, notify: (n) => sent.push(n) });
    engine.observe(t, authFailure('ex')); // a check run: the down rule fires, the posture rule does not move
    expect(sent.map((n) => `${n.kind}:${n.alert}`)).toEqual(['firing:down']);
    sent.length = 0;
    engine.observePosture(t, 'example.test', [f('dane', 'fail', 'tlsa-invalid'), f('vrfy', 'fail', 'vrfy-enabled')]);
    expect(sent.map((n) => `${n.kind}:${n.alert}:${n.target}`)).toEqual(['firing:p:ex']);
    expect(sent[0]).toMatchObject({ alertKind: 'posture', result: null, failure: null, labels: { env: 'prod' }, intervalMs: 6 * 3_600_000 });
    expect(sent[0]!.findings).toEqual([f('dane', 'fail', 'tlsa-invalid')]);
    expect(engine.firing().map((a) => [a.rule, a.kind])).toEqual([['down', 'down'], ['p', 'posture']]);
    sent.length = 0;
    now += 60_000;
    engine.observePosture(t, 'example.test', [f('dane', 'pass')]);
    expect(sent.map((n) => `${n.kind}:${n.alert}`)).toEqual(['resolved:p']);
    expect(sent[0]!.findings).toEqual([]);
    // the posture run did not resolve the down alert
    expect(engine.firing().map((a) => a.rule)).toEqual(['down']);
  });

  test('a run that reached nothing (unknown) keeps a firing alert firing', () => {
    const sent: Notification[] = [];
    const engine = new AlertEngine({ rules: [daneOnly!], silences: [], now: () => 0, notify: (n) => sent.push(n) });
    engine.observePosture(t, 'example.test', [f('dane', 'fail', 'tlsa-invalid')]);
    engine.observePosture(t, 'example.test', []);
    expect(sent.filter((n) => n.kind !== 'refresh').map((n) => n.kind)).toEqual(['firing']);
    expect(engine.firing()).toHaveLength(1);
  });
});
