import { randomUUID } from 'node:crypto';
import { hasCapability } from '../src/smtp/ehlo.js';
import type { CheckPlan } from '../src/core/plan.js';
import type { SmtpReply } from '../src/core/reply.js';
import { MessageTemplate, isAscii, oneLine } from '../src/smtp/message.js';
import { OK, STOP, expectationFor, judge, type CheckModule } from './step.js';

/**
 * A test transaction: MAIL, one RCPT per recipient, then DATA and the message, or RSET when not delivering.
 * With PIPELINING the envelope goes in one write; DATA joins it only when every expectation is positive, so a
 * negative check (relay must be refused) never reaches DATA. An unexpected acceptance stops before DATA.
 */
export const send = {
  kind: 'send',
  summary: 'MAIL, RCPT (each recipient), DATA and the message, or RSET with --no-deliver',
  options: ({ z, mailAddress }) => ({
    send: z
      .strictObject({
        from: mailAddress.optional().meta({ description: 'Envelope and header sender (default smtp-probe@<ehlo name>; "" for the null sender). Example: probe@example.test' }),
        to: z
          .array(mailAddress.refine((s) => s !== '', 'a recipient cannot be empty'))
          .min(1)
          .meta({ description: 'Recipients, one RCPT each; every one must meet the rcpt expectation. Example: [probe@example.test]' }),
        deliver: z.boolean().optional().meta({ description: 'true (default): DATA and the message; false: MAIL and RCPT are checked, then RSET instead of DATA' }),
        subject: z.string().optional().meta({ description: 'Subject of the test message (default "smtp-probe test message")' }),
        body: z.string().optional().meta({ description: 'Body of the test message (default: two lines saying smtp-probe sent it and it can be deleted)' }),
        headers: z
          .record(z.string().regex(/^[!-9;-~]+$/, 'must be a header field name'), z.string())
          .optional()
          .meta({ description: 'Extra header fields of the test message. Example: { X-Probe-Purpose: monitoring }' }),
        size: z.number().int().positive().max(100 * 1024 * 1024).optional().meta({ description: 'Pad the message to this many bytes (at most 100 MiB), to check SIZE handling. Example: 4096' }),
      })
      .optional()
      .meta({ description: 'A test transaction (MAIL, RCPT, DATA or RSET): the send step runs when recipients are given' }),
  }),
  async run(ctx) {
    const { plan, state, session } = ctx;
    const s = plan.send;
    if (!s) return OK;
    const caps = state.capabilities;
    const messageId = `${randomUUID()}@${oneLine(plan.ehlo)}`;
    const message = s.deliver ? templateFor(plan).data({ messageId, probeId: state.probeId, date: new Date(ctx.wallNow()) }) : '';
    const mailParams = [
      hasCapability(caps, 'SIZE') && s.deliver ? ` SIZE=${Buffer.byteLength(message)}` : '',
      !isAscii(message) && hasCapability(caps, '8BITMIME') ? ' BODY=8BITMIME' : '',
      !isAscii(s.from + s.to.join('')) && hasCapability(caps, 'SMTPUTF8') ? ' SMTPUTF8' : '',
    ].join('');
    const rcptParams = hasCapability(caps, 'DSN') ? ' NOTIFY=NEVER' : '';
    const envelope = [`MAIL FROM:<${oneLine(s.from)}>${mailParams}`, ...s.to.map((to) => `RCPT TO:<${oneLine(to)}>${rcptParams}`)];
    const positive = !['mail', 'rcpt', 'data'].some((p) => expectationFor(plan, p as 'mail').negative);
    const pipelining = hasCapability(caps, 'PIPELINING');
    const pipelineData = pipelining && s.deliver && positive;

    // With PIPELINING the group goes out in one write (RFC 2920) and replies are read in order.
    if (pipelining) session.send(pipelineData ? [...envelope, 'DATA'] : envelope, 'mail');
    const next = (i: number, phase: 'mail' | 'rcpt' | 'data'): Promise<SmtpReply> =>
      pipelining && (i < envelope.length || pipelineData)
        ? session.read(phase)
        : session.command(i < envelope.length ? envelope[i]! : 'DATA', phase);

    const mail = await next(0, 'mail');
    if (mail.code < 400) state.inTransaction = true;
    if (judge(ctx, 'mail', mail)) return STOP;
    let refused = 0;
    for (const [i, to] of s.to.entries()) {
      if (judge(ctx, 'rcpt', await next(i + 1, 'rcpt'), { recipient: to })) refused += 1;
    }
    if (refused === s.to.length) return STOP;
    if (!s.deliver) {
      state.inTransaction = false;
      return judge(ctx, 'rset', await session.command('RSET', 'rset')) ? STOP : OK;
    }
    const data = await next(envelope.length, 'data');
    if (data.code === 354) state.inData = true;
    if (judge(ctx, 'data', data)) return STOP;
    session.writeRaw(message, `(message: ${Buffer.byteLength(message)} bytes, Message-ID <${messageId}>)`);
    session.expectReply();
    const final = await session.read('message');
    state.inData = false;
    state.inTransaction = false;
    state.messageId = messageId;
    return judge(ctx, 'message', final) ? STOP : OK;
  },
} satisfies CheckModule;

/** The test message of each plan, built on its first run (plans do not change; a dropped plan frees its entry). */
const templates = new WeakMap<CheckPlan, MessageTemplate>();

function templateFor(plan: CheckPlan): MessageTemplate {
  let t = templates.get(plan);
  if (!t) {
    const s = plan.send!;
    t = new MessageTemplate({ from: s.from, to: s.to, subject: s.subject, body: s.body, headers: s.headers, size: s.size, target: plan.name });
    templates.set(plan, t);
  }
  return t;
}
