/** An SMTP reply (RFC 5321 4.2) as the result record, errors and checks see it; framing is smtp/reply.ts. */
export interface SmtpReply {
  code: number;
  /** RFC 3463 enhanced status code from the first line, when its class matches the reply code. */
  enhancedCode: string | null;
  /** Text of each line, after the code and separator. */
  lines: string[];
}

/** The reply as the server sent it, one CRLF-free line each, e.g. `250-PIPELINING`. */
export function replyLines(reply: SmtpReply): string[] {
  const last = reply.lines.length - 1;
  return reply.lines.map((text, i) => `${reply.code}${i === last ? ' ' : '-'}${text}`.trimEnd());
}

/** One-line form for messages: `535 5.7.8 Error: authentication failed`. */
export function replyText(reply: SmtpReply): string {
  return `${reply.code} ${reply.lines.join(' ')}`.trim();
}
