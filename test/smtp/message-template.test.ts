import libqp from 'libqp';
import { describe, expect, it } from 'vitest';
import { PROBE_ID_FIELD, PROBE_TARGET_FIELD } from '../../src/core/probe-headers.js';
import {
  MessageTemplate, buildMessage, dotStuff, headerLine, isAscii, oneLine, rfc5322Date, type MessageOptions, type MessageRun,
} from '../../src/smtp/message.js';

/**
 * The message builder as it was before the per-plan template (0.1.0), kept here as the reference: the template
 * must give the same bytes, run after run, for every kind of message.
 */
function referenceMessage(o: MessageOptions): string {
  const headers: [string, string][] = [
    ['Date', rfc5322Date(o.date)],
    ['From', o.from],
    ['To', o.to.join(', ')],
    ['Subject', o.subject],
    ['Message-ID', `<${o.messageId}>`],
    [PROBE_ID_FIELD, o.probeId],
    ...(o.target ? ([[PROBE_TARGET_FIELD, o.target]] as [string, string][]) : []),
    ['Auto-Submitted', 'auto-generated'],
    ...Object.entries(o.headers),
  ];
  let body = o.body.replace(/\r?\n|\r/g, '\r\n');
  if (!body.endsWith('\r\n')) body += '\r\n';
  const plain = isAscii(body) && body.split('\r\n').every((l) => l.length <= 998);
  const mime: [string, string][] = [
    ['MIME-Version', '1.0'],
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Transfer-Encoding', plain ? '7bit' : 'quoted-printable'],
  ];
  const head = [...headers, ...mime]
    .map(([k, v]) => [oneLine(k).replace(/[:\s]/g, ''), v] as const)
    .filter(([k]) => k.length > 0)
    .map(([k, v]) => headerLine(k, v))
    .join('\r\n');
  let text = plain ? body : libqp.wrap(libqp.encode(body), 76);
  if (o.size !== null) text = referencePad(text, o.size - Buffer.byteLength(head) - 4);
  return `${head}\r\n\r\n${text}`;
}

function referencePad(body: string, target: number): string {
  const line = 'smtp-probe padding line 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMN';
  const parts = [body];
  let size = Buffer.byteLength(body);
  while (size < target) {
    const room = target - size - 2;
    if (room <= 0) break;
    const piece = line.slice(0, Math.min(line.length, room)).trimEnd();
    parts.push(`${piece}\r\n`);
    size += piece.length + 2;
  }
  return parts.join('');
}

function referenceData(o: MessageOptions): string {
  const stuffed = referenceMessage(o).replace(/(^|\r\n)\./g, '$1..');
  return `${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`;
}

type Fixed = Omit<MessageOptions, keyof MessageRun>;

const base: Fixed = {
  from: 'smtp-probe@probe.example.test',
  to: ['postmaster@example.test'],
  subject: 'smtp-probe test message',
  body: 'This is a test message from smtp-probe.\nIt can be deleted.\n',
  headers: {},
  size: null,
};

const kinds: { name: string; o: Fixed }[] = [
  { name: 'the default message', o: base },
  { name: 'padded to 1 KiB (the benchmark)', o: { ...base, size: 1024, target: 'mx1' } },
  { name: 'padded to 5000 bytes with a target and extra fields', o: { ...base, size: 5000, target: 'mx1', headers: { 'X-Env': 'prod', '.X-Dot': 'v' } } },
  { name: 'lines starting with dots, and no final line break', o: { ...base, body: '.\nQUIT\n.\r\nMAIL FROM:<x@example.test>\n..\n.' } },
  { name: 'a body that starts with a dot, padded', o: { ...base, body: '.first\n', size: 2000 } },
  { name: 'a non-ASCII subject and body (encoded words, quoted-printable)', o: { ...base, subject: 'Prüfung ✓ '.repeat(12), body: 'Grüße\n.Punkt\n', size: 3000 } },
  { name: 'a size smaller than the header', o: { ...base, size: 100 } },
  { name: 'the null sender and several recipients', o: { ...base, from: '', to: ['a@example.test', 'b@example.test'] } },
  { name: 'CR and LF in values', o: { ...base, subject: 'a\r\nBcc: x@example.test', headers: { 'X-A\r\nBcc': 'v', ' : ': 'dropped' } } },
  { name: 'an empty body', o: { ...base, body: '' } },
];

const runs: MessageRun[] = [
  { date: new Date(Date.UTC(2026, 10, 26, 3, 20, 0)), messageId: 'f0e1d2c3-0000-4000-8000-000000000001@probe.example.test', probeId: '11111111-2222-4333-8444-555555555555' },
  { date: new Date(Date.UTC(2027, 0, 5, 23, 59, 59)), messageId: 'a9b8c7d6-0000-4000-8000-000000000002@probe.example.test', probeId: '66666666-7777-4888-8999-aaaaaaaaaaaa' },
  { date: new Date(Date.UTC(2027, 0, 6, 0, 0, 1)), messageId: `${'x'.repeat(80)}@${'very-long-ehlo-name.'.repeat(4)}example.test`, probeId: 'p' },
];

describe('MessageTemplate: built once per plan, the same bytes as building the whole message each run', () => {
  it.each(kinds)('$name', ({ o }) => {
    const template = new MessageTemplate(o);
    for (const run of runs) {
      const full = { ...o, ...run };
      expect(template.message(run)).toBe(referenceMessage(full));
      expect(template.data(run)).toBe(referenceData(full));
      expect(template.data(run)).toBe(dotStuff(buildMessage(full)));
    }
  });

  it('two runs differ only in the Date, Message-ID and probe ID fields', () => {
    const template = new MessageTemplate({ ...base, size: 1024, target: 'mx1' });
    const [a, b] = [template.data(runs[0]!).split('\r\n'), template.data(runs[1]!).split('\r\n')];
    expect(a).toHaveLength(b.length);
    const differing = a.flatMap((line, i) => (line === b[i] ? [] : [line.slice(0, line.indexOf(':'))]));
    expect(differing).toEqual(['Date', 'Message-ID', PROBE_ID_FIELD]);
  });

  it('a padded message keeps its size when the per-run fields change length', () => {
    const template = new MessageTemplate({ ...base, size: 4096 });
    for (const run of runs) expect(Buffer.byteLength(template.message(run))).toBe(4096);
  });
});
