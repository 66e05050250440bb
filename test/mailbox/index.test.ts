import { afterEach, describe, expect, it } from 'vitest';
import { isProbeError } from '../../src/core/errors.js';
import { createMailboxClient, openMailbox, parseMailboxUrl } from '../../src/mailbox/index.js';
import { ImapClient } from '../../src/mailbox/imap.js';
import { Pop3Client } from '../../src/mailbox/pop3/index.js';
import type { MailboxSettings } from '../../src/mailbox/types.js';
import { closeAll } from '../helpers/cleanup.js';
import { startScriptedServer } from '../helpers/scripted-server.js';

afterEach(closeAll);

describe('parseMailboxUrl', () => {
  it.each([
    ['pop3s://mail.example.test', { protocol: 'pop3s', host: 'mail.example.test', port: 995 }],
    ['pop3://mail.example.test', { protocol: 'pop3', host: 'mail.example.test', port: 110 }],
    ['imaps://mail.example.test', { protocol: 'imaps', host: 'mail.example.test', port: 993 }],
    ['imap://mail.example.test:1143', { protocol: 'imap', host: 'mail.example.test', port: 1143 }],
    ['IMAPS://[::1]:2993/', { protocol: 'imaps', host: '::1', port: 2993 }],
    ['pop3s://127.0.0.1:2995', { protocol: 'pop3s', host: '127.0.0.1', port: 2995 }],
  ])('%s', (text, want) => {
    expect(parseMailboxUrl(text)).toEqual(want);
  });

  it.each(['smtp://mail.example.test', 'mail.example.test', 'imaps://', 'imaps://h:0', 'imaps://h:70000', 'pop3s://h/INBOX'])('%s: a message', (text) => {
    expect(typeof parseMailboxUrl(text)).toBe('string');
  });

  it('credentials in the URL: refused, and the password is not repeated', () => {
    const r = parseMailboxUrl('imaps://probe:hunter2@mail.example.test');
    expect(r).toMatch(/credentials/);
    expect(r).not.toContain('hunter2');
  });
});

describe('openMailbox', () => {
  it('picks the client by protocol', async () => {
    expect(await createMailboxClient('pop3s')).toBeInstanceOf(Pop3Client);
    expect(await createMailboxClient('pop3')).toBeInstanceOf(Pop3Client);
    expect(await createMailboxClient('imaps')).toBeInstanceOf(ImapClient);
    expect(await createMailboxClient('imap')).toBeInstanceOf(ImapClient);
  });

  it.each([
    ['pop3s', /during TLS handshake/],
    ['imaps', /during connect and login/],
  ] as const)('%s against a silent server: that client\'s timeout', async (protocol, text) => {
    const s = await startScriptedServer([{ silence: true }]);
    const settings: MailboxSettings = {
      protocol, host: '127.0.0.1', port: s.port, username: 'u', password: 'p', starttls: false,
      allowPlaintext: false, servername: 'mail.example.test', insecure: false,
    };
    // Implicit TLS against a server that never answers the handshake: the deadline ends it.
    const e = await openMailbox(settings, AbortSignal.timeout(200)).then(() => null, (err: unknown) => err);
    expect(isProbeError(e) && e.reason).toBe('timeout');
    expect((e as Error).message).toMatch(text);
  });
});
