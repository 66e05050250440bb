import type { Phase, PhaseRecord, TranscriptLine } from '../core/result.js';

type PhaseFields = Omit<PhaseRecord, 'phase' | 'durationMs' | 'ok'>;

interface Mark {
  phase: Phase;
  ok: boolean;
  at: number;
  fields: PhaseFields;
}

/**
 * Phase timing: a timestamp is taken when each phase ends; a phase lasts from the end of the previous one, so the
 * durations add up to the run's duration. Durations are computed once, in `records()`.
 */
export class Trace {
  private readonly marks: Mark[] = [];

  constructor(
    private readonly now: () => number,
    readonly startedAt: number = now(),
  ) {}

  end(phase: Phase, ok: boolean, fields: PhaseFields = {}): void {
    this.marks.push({ phase, ok, at: this.now(), fields });
  }

  /** The last phase recorded. */
  last(): { phase: Phase; ok: boolean } | undefined {
    return this.marks.at(-1);
  }

  /** Milliseconds since the run started. */
  elapsed(): number {
    return this.now() - this.startedAt;
  }

  records(): PhaseRecord[] {
    let prev = this.startedAt;
    return this.marks.map((m) => {
      const durationMs = round(m.at - prev);
      prev = m.at;
      return { phase: m.phase, ok: m.ok, durationMs, ...m.fields };
    });
  }
}

export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The SMTP dialogue with per-line timing. Callers pass already-redacted text for secrets. */
export class Transcript {
  readonly lines: TranscriptLine[] = [];
  /** Lines kept at most; a server that floods must not grow memory. */
  private static readonly MAX_LINES = 2000;
  private dropped = 0;

  constructor(private readonly since: () => number) {}

  add(dir: TranscriptLine['dir'], line: string): void {
    if (this.lines.length >= Transcript.MAX_LINES) {
      this.dropped += 1;
      return;
    }
    this.lines.push({ t: round(this.since()), dir, line });
  }

  finish(): TranscriptLine[] {
    if (this.dropped > 0) this.lines.push({ t: round(this.since()), dir: '*', line: `(${this.dropped} more lines not kept)` });
    return this.lines;
  }
}
