import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { buildMessage, dotStuff, type MessageOptions } from '../../src/smtp/message.js';

/**
 * libmime costs the one-shot CLI about 0.1 s of CPU to load (it loads iconv-lite and encoding-japanese), so
 * message.ts loads it, and libqp, on first use. This file runs in its own worker: nothing else has loaded them.
 */
const loaded = (name: string): boolean => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes(`/node_modules/${name}/`));

const plain: MessageOptions = {
  from: 'smtp-probe@probe.example.test',
  to: ['postmaster@example.test'],
  subject: 'smtp-probe test message',
  body: 'This is a test message from smtp-probe.\n',
  headers: { 'X-Env': 'prod' },
  size: 10_000,
  messageId: '1764127200000.abc123@probe.example.test',
  probeId: 'run-7f3a',
  target: 'mx1',
  date: new Date(Date.UTC(2026, 10, 26, 3, 20, 0)),
};

describe('message encoders load on first use (tests in order)', () => {
  it('a plain ASCII message with short header values loads neither libmime nor libqp', () => {
    expect(dotStuff(buildMessage(plain))).toContain('Subject: smtp-probe test message\r\n');
    expect(loaded('libmime')).toBe(false);
    expect(loaded('libqp')).toBe(false);
  });

  it('a non-ASCII subject loads libmime, a non-ASCII body libqp', () => {
    buildMessage({ ...plain, subject: 'Prüfung ✓' });
    expect(loaded('libmime')).toBe(true);
    buildMessage({ ...plain, body: 'Grüße\n' });
    expect(loaded('libqp')).toBe(true);
  });
});
