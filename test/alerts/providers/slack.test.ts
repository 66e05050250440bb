import { describe, expect, it } from 'vitest';
import { slackReceiver } from '../../../src/alerts/providers/slack.js';
import { CTX, firing, refresh, reminder, resolved } from './fixtures.js';

const HOOK = 'https://hooks.slack.com/services/T0000/B0000/XXXXsecretXXXX';
const body = (b: string) => JSON.parse(b) as { text: string; blocks: unknown[] };

describe('slack receiver', () => {
  it('one notification: a concise line with status word, alert, target, failure, summary and a link', () => {
    const [req, ...more] = slackReceiver.build([firing()], { url: HOOK }, CTX);
    expect(more).toEqual([]);
    expect(req!.url).toBe(HOOK);
    expect(body(req!.body)).toEqual({
      text:
        '*FIRING* smtp_probe_down on mx1-submission: auth reply 535. mx1-submission is down: auth failed with 535\n' +
        '<http://probe.example.test:9469/|smtp-probe>',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '*FIRING* smtp_probe_down on mx1-submission: auth reply 535. mx1-submission is down: auth failed with 535' } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: '<http://probe.example.test:9469/|smtp-probe>' }] },
      ],
    });
  });

  it('groups several notifications into one message', () => {
    const batch = [firing(), reminder({ target: 'mx2' }), resolved({ target: 'mx3' })];
    const [req, ...more] = slackReceiver.build(batch, { url: HOOK }, CTX);
    expect(more).toEqual([]);
    expect(req!.ids).toEqual(['n-firing-1', 'n-reminder-1', 'n-resolved-1']);
    const { text, blocks } = body(req!.body);
    expect(text.split('\n')).toEqual([
      '3 alerts: 2 FIRING, 1 RESOLVED',
      '• *FIRING* smtp_probe_down on mx1-submission: auth reply 535. mx1-submission is down: auth failed with 535',
      '• *FIRING* (still, since 2026-11-26T02:00:00.000Z) smtp_probe_down on mx2: auth reply 535. mx1-submission is down: auth failed with 535',
      '• *RESOLVED* smtp_probe_down on mx3. mx1-submission is up again',
      '<http://probe.example.test:9469/|smtp-probe>',
    ]);
    expect(blocks).toHaveLength(5);
    expect(text).not.toMatch(/\p{Extended_Pictographic}/u);
  });

  it('splits batches over maxBatch and leaves refresh out', () => {
    expect(slackReceiver.maxBatch).toBe(20);
    const batch = Array.from({ length: 25 }, (_, i) => firing({ id: `n${i}`, target: `mx${i}` }));
    const reqs = slackReceiver.build([...batch, refresh()], { url: HOOK }, CTX);
    expect(reqs.map((r) => r.ids.length)).toEqual([20, 5]);
    expect(body(reqs[0]!.body).text.startsWith('20 alerts: 20 FIRING\n')).toBe(true);
    expect(slackReceiver.build([refresh()], { url: HOOK }, CTX)).toEqual([]);
  });

  it('escapes mrkdwn control characters from alert text', () => {
    const [req] = slackReceiver.build([firing({ summary: 'a <b> & c' })], { url: HOOK }, CTX);
    expect(body(req!.body).text).toContain('a &lt;b&gt; &amp; c');
  });

  it('never shows the webhook path in describe, and lists it for redaction', () => {
    const [req] = slackReceiver.build([firing()], { url: HOOK }, CTX);
    expect(req!.describe).toBe('slack https://hooks.slack.com');
    expect(req!.describe).not.toContain('/services');
    expect(req!.redact).toEqual(expect.arrayContaining([HOOK, '/services/T0000/B0000/XXXXsecretXXXX']));
  });

  it('no link when there is no external URL', () => {
    const [req] = slackReceiver.build([firing()], { url: HOOK }, { ...CTX, externalUrl: '' });
    const b = body(req!.body);
    expect(b.text).not.toContain('<');
    expect(b.blocks).toHaveLength(1);
  });
});
