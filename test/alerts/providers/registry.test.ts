/**
 * The claim of docs/receivers.md: a receiver is one module plus one registry line. A throwaway "ntfy" module,
 * defined here and in no other file, goes through the same machinery as the real ones (`assembleReceivers`):
 * its config entry schema is assembled, its secret is picked (inline or file, not both), its options are
 * validated with problems at the config key, and its `build` is called with them.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { acceptsOnly, endpoint, httpUrl, USER_AGENT } from '../../../src/alerts/providers/common.js';
import { assembleReceivers, RECEIVERS, RECEIVER_TYPES, type ReceiverEntryOf } from '../../../src/alerts/providers/index.js';
import type { ConfigurableReceiver } from '../../../src/alerts/providers/provider.js';
import { CTX, firing, refresh, resolved } from './fixtures.js';

// The whole receiver, as docs/receivers.md has it.
const ntfyOptions = z.strictObject({ url: httpUrl, token: z.string().min(1).optional(), priority: z.number().int().min(1).max(5).optional() });
type NtfyOptions = z.infer<typeof ntfyOptions>;
const keys = {
  url: httpUrl.meta({ description: 'The ntfy topic URL notifications are POSTed to. Example: https://ntfy.sh/smtp-alerts' }),
  token: z.string().optional().meta({ description: 'Access token sent as a bearer token, from ${ENV_VAR}; or token_file' }),
  token_file: z.string().optional().meta({ description: 'File holding the access token (one trailing newline stripped)' }),
  priority: z.number().optional().meta({ description: 'ntfy message priority, 1 (min) to 5 (max); default: the server\'s (3)' }),
};
const accepts = acceptsOnly(['firing', 'resolved']);
const built: NtfyOptions[] = [];

const ntfyReceiver: ConfigurableReceiver<NtfyOptions, typeof keys> = {
  type: 'ntfy',
  keys,
  secrets: ['token'],
  options: ntfyOptions,
  accepts,
  maxBatch: 1,
  build: (batch, o) => {
    built.push(o);
    return batch.filter((n) => accepts(n.kind)).map((n) => {
      const ep = endpoint(o.url);
      const headers: Record<string, string> = { 'Content-Type': 'text/plain', 'User-Agent': USER_AGENT, Title: `${n.status} ${n.alert} on ${n.target}` };
      if (o.priority !== undefined) headers.Priority = String(o.priority);
      if (o.token !== undefined) headers.Authorization = `Bearer ${o.token}`;
      return { url: ep.url, method: 'POST', headers, body: n.summary, ids: [n.id], describe: `ntfy ${ep.shown}`, redact: o.token ? [o.token] : [] };
    });
  },
};

// The one registry line, here on top of the real four.
const modules = { ...RECEIVERS, ntfy: ntfyReceiver };
const registry = assembleReceivers(modules);
const schema = registry.entrySchema({ timeout: z.string().optional() });
const URL = 'https://ntfy.example.test/smtp-alerts';

describe('assembleReceivers: a new module goes through the same machinery', () => {
  it('lists its type after the real ones; the real registry lists exactly those', () => {
    expect(registry.types).toEqual(['webhook', 'slack', 'alertmanager', 'pagerduty', 'ntfy']);
    expect(RECEIVER_TYPES).toEqual(['webhook', 'slack', 'alertmanager', 'pagerduty']);
  });

  it('assembles its config entry: name, type, its keys and the common ones, strict', () => {
    expect(schema.safeParse({ name: 'phone', type: 'ntfy', url: URL, token_file: '/run/ntfy', priority: 4, timeout: '5s' }).success).toBe(true);
    expect(schema.safeParse({ name: 'ops', type: 'webhook', url: URL }).success).toBe(true);
    const bad = schema.safeParse({ name: 'phone', type: 'ntfy', url: 'ftp://x', topic: 'y' });
    expect(bad.success ? [] : bad.error.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['url', 'must be an http:// or https:// URL'],
      ['', 'Unrecognized key: "topic"'],
    ]);
    const json = z.toJSONSchema(schema, { io: 'input' }) as { oneOf: { properties: object; required: string[]; additionalProperties: boolean }[] };
    const ntfy = json.oneOf.at(-1)!;
    expect(Object.keys(ntfy.properties)).toEqual(['name', 'type', 'url', 'token', 'token_file', 'priority', 'timeout']);
    expect([ntfy.required, ntfy.additionalProperties]).toEqual([['name', 'type', 'url'], false]);
    type NtfyEntry = Extract<ReceiverEntryOf<typeof modules>, { type: 'ntfy' }>;
    expectTypeOf<NtfyEntry>().toEqualTypeOf<{
      name: string; type: 'ntfy'; url: string; token?: string | undefined; token_file?: string | undefined;
      priority?: number | undefined; timeout?: string | undefined;
    }>();
  });

  it('picks its secret, inline or from the file, and maps snake_case keys to its options', () => {
    expect(registry.options({ name: 'p', type: 'ntfy', url: URL, token_file: '/run/ntfy', priority: 4, timeout: '2s' }, { token_file: 'tk_s3cret' })).toEqual({
      ok: true, type: 'ntfy', options: { url: URL, token: 'tk_s3cret', priority: 4 }, timeoutMs: 2000,
    });
    expect(registry.options({ name: 'p', type: 'ntfy', url: URL, token: 'inline' })).toMatchObject({ ok: true, options: { url: URL, token: 'inline' } });
    expect(registry.options({ name: 'p', type: 'ntfy', url: URL })).toMatchObject({ ok: true, options: { url: URL } });
  });

  it('reports problems at the config key, never with the secret', () => {
    expect(registry.options({ name: 'p', type: 'ntfy', url: URL, token: 'a', token_file: '/t' }, { token_file: 'b' })).toEqual({
      ok: false, issues: [{ key: 'token_file', message: 'give token or token_file, not both' }],
    });
    expect(registry.options({ name: 'p', type: 'ntfy', url: URL, token_file: '/t' })).toEqual({
      ok: false, issues: [{ key: 'token_file', message: 'token_file was not read' }],
    });
    const bad = registry.options({ name: 'p', type: 'ntfy', url: URL, token_file: '/t', priority: 9 }, { token_file: '' });
    expect(bad).toEqual({
      ok: false,
      issues: [
        { key: 'token_file', message: 'Too small: expected string to have >=1 characters' },
        { key: 'priority', message: 'Too big: expected number to be <=5' },
      ],
    });
  });

});

describe('assembleReceivers: binding and the module rules', () => {
  it('binds: build is called with the validated options', () => {
    const res = registry.bind({ name: 'phone', type: 'ntfy', url: URL, token_file: '/run/ntfy', priority: 5 }, { token_file: 'tk_s3cret' });
    if (!res.ok) throw new Error(JSON.stringify(res.issues));
    const r = res.receiver;
    expect([r.name, r.type, r.timeoutMs, r.maxBatch, r.accepts('refresh'), r.accepts('firing')]).toEqual(['phone', 'ntfy', 10_000, 1, false, true]);
    built.length = 0;
    const reqs = r.build([firing(), refresh(), resolved()], CTX);
    expect(built).toEqual([{ url: URL, token: 'tk_s3cret', priority: 5 }]);
    expect(reqs.map((q) => [q.url, q.ids, q.headers.Authorization, q.headers.Priority, q.describe])).toEqual([
      [URL, ['n-firing-1'], 'Bearer tk_s3cret', '5', 'ntfy https://ntfy.example.test/…'],
      [URL, ['n-resolved-1'], 'Bearer tk_s3cret', '5', 'ntfy https://ntfy.example.test/…'],
    ]);
    expect(reqs.every((q) => q.redact?.includes('tk_s3cret'))).toBe(true);
  });

  it('a cross-key rule (`check`) is a schema refinement and is checked again before the options', () => {
    const one: ConfigurableReceiver<NtfyOptions, typeof keys> = {
      ...ntfyReceiver,
      check: (e) => (e.token === undefined && e.token_file === undefined ? { key: 'token_file', message: 'needs token_file' } : null),
    };
    const strict = assembleReceivers({ ntfy: one });
    const parsed = strict.entrySchema({}).safeParse({ name: 'p', type: 'ntfy', url: URL });
    expect(parsed.success ? [] : parsed.error.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['token_file', 'needs token_file']]);
    expect(strict.options({ name: 'p', type: 'ntfy', url: URL })).toEqual({ ok: false, issues: [{ key: 'token_file', message: 'needs token_file' }] });
  });

  it('refuses a module registered under another name, or a secret without its *_file key', () => {
    expect(() => assembleReceivers({ push: ntfyReceiver })).toThrow('receiver module "ntfy" is registered as "push"');
    const noFile = { ...ntfyReceiver, secrets: ['url'] } as unknown as ConfigurableReceiver<NtfyOptions, typeof keys>;
    expect(() => assembleReceivers({ ntfy: noFile })).toThrow('has a secret without both of its keys');
    expect(() => assembleReceivers({ ntfy: ntfyReceiver }).entrySchema({ priority: z.number() })).toThrow('declares a common key (priority)');
  });
});
