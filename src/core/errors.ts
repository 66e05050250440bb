import type { Failure, FailureReason, Phase } from './result.js';
import { quoteBytes } from './bytes.js';
import { replyText, type SmtpReply } from './reply.js';

/**
 * An expected failure of a run: refused, timed out, a 4xx/5xx, a TLS or auth problem. The session and the checks
 * reject with it; the runner turns it into the result's `failure`. Any other thrown value is a bug (`internal`).
 */
export class ProbeError extends Error {
  constructor(
    readonly reason: FailureReason,
    readonly phase: Phase,
    message: string,
    readonly reply: SmtpReply | null = null,
  ) {
    super(message);
    this.name = 'ProbeError';
  }

  static fromReply(reason: FailureReason, phase: Phase, reply: SmtpReply, note?: string): ProbeError {
    const text = quoteBytes(replyText(reply), 512);
    return new ProbeError(reason, phase, note ? `${text} (${note})` : text, reply);
  }

  toFailure(): Failure {
    return {
      phase: this.phase,
      reason: this.reason,
      code: this.reply?.code ?? null,
      enhancedCode: this.reply?.enhancedCode ?? null,
      message: this.message,
    };
  }
}

export function isProbeError(e: unknown): e is ProbeError {
  return e instanceof ProbeError;
}
