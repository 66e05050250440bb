import { describe, expect, expectTypeOf, it } from 'vitest';
import { bindReceiver, DEFAULT_RECEIVER_TIMEOUT_MS, RECEIVERS, receiverOptions, type ReceiverConfig } from '../../../src/alerts/providers/index.js';
import type { RawConfig } from '../../../src/config/schema.js';
import { CTX, firing, refresh } from './fixtures.js';

type RawReceiver = NonNullable<NonNullable<RawConfig['alerts']>['receivers']>[number];

describe('receiver registry', () => {
  it('has one module per config type, named by its type', () => {
    expect(Object.keys(RECEIVERS).sort()).toEqual(['alertmanager', 'pagerduty', 'slack', 'webhook']);
    for (const [type, m] of Object.entries(RECEIVERS)) expect(m.type).toBe(type);
    expectTypeOf<RawReceiver>().toExtend<ReceiverConfig>();
  });

  it('turns config entries into options, reading *_file secrets from the map', () => {
    expect(receiverOptions({ name: 'ops', type: 'webhook', url: 'https://h.example.test/x', secret_file: '/run/s', timeout: '5s' }, { secret_file: 'abc' })).toEqual({
      ok: true, type: 'webhook', options: { url: 'https://h.example.test/x', secret: 'abc' }, timeoutMs: 5000,
    });
    expect(receiverOptions({ name: 's', type: 'slack', url_file: '/run/slack' }, { url_file: 'https://hooks.slack.com/services/A/B/C\n' })).toEqual({
      ok: true, type: 'slack', options: { url: 'https://hooks.slack.com/services/A/B/C' }, timeoutMs: DEFAULT_RECEIVER_TIMEOUT_MS,
    });
    expect(receiverOptions({ name: 'am', type: 'alertmanager', url: 'http://am:9093' })).toMatchObject({ ok: true, options: { url: 'http://am:9093' } });
    expect(receiverOptions({ name: 'pd', type: 'pagerduty', routing_key: 'k3y' })).toMatchObject({ ok: true, options: { routingKey: 'k3y' } });
  });

  it('reports problems at the config key, without the secret', () => {
    expect(receiverOptions({ name: 'ops', type: 'webhook', url: 'https://h/x', secret: 'a', secret_file: '/s' }, { secret_file: 'b' })).toEqual({
      ok: false, issues: [{ key: 'secret_file', message: 'give secret or secret_file, not both' }],
    });
    expect(receiverOptions({ name: 'pd', type: 'pagerduty', routing_key_file: '/k' }, {})).toEqual({
      ok: false, issues: [{ key: 'routing_key_file', message: 'routing_key_file was not read' }],
    });
    expect(receiverOptions({ name: 'pd', type: 'pagerduty' })).toEqual({
      ok: false, issues: [{ key: 'routing_key_file', message: 'needs routing_key_file (or routing_key: ${ENV_VAR})' }],
    });
    const bad = receiverOptions({ name: 's', type: 'slack', url_file: '/f' }, { url_file: 'not-a-url-s3cret' });
    expect(bad).toEqual({ ok: false, issues: [{ key: 'url_file', message: 'must be an http:// or https:// URL' }] });
    expect(JSON.stringify(bad)).not.toContain('s3cret');
    expect(receiverOptions({ name: 'w', type: 'webhook', url: 'https://h/x', headers: { 'X-A': 'a\r\nb' } })).toMatchObject({
      ok: false, issues: [{ key: 'headers', message: 'X-A: a header value must be one line' }],
    });
    expect(receiverOptions({ name: 'w', type: 'webhook', url: 'https://h/x', timeout: '5' })).toMatchObject({ ok: false, issues: [{ key: 'timeout' }] });
  });

  it('binds a receiver: accepts, maxBatch, build with the options', () => {
    const res = bindReceiver({ name: 'am', type: 'alertmanager', url: 'http://am:9093', timeout: '2s' });
    if (!res.ok) throw new Error('bind failed');
    const r = res.receiver;
    expect([r.name, r.type, r.timeoutMs, r.maxBatch, r.accepts('refresh')]).toEqual(['am', 'alertmanager', 2000, 100, true]);
    expect(r.build([firing(), refresh()], CTX).map((q) => q.url)).toEqual(['http://am:9093/api/v2/alerts']);
  });
});
