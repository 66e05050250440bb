/** The rate cap: at most `maxPerMinute` requests in any rolling minute. */
const MINUTE_MS = 60_000;

export class RateWindow {
  /** clock.now() of the requests sent in the last minute, oldest first. */
  private sends: number[] = [];

  constructor(private readonly maxPerMinute: number) {}

  /** A request goes out at `now`. */
  record(now: number): void {
    this.sends.push(now);
  }

  /** Milliseconds until another request fits in the rolling minute (0: now). */
  wait(now: number): number {
    while (this.sends.length > 0 && this.sends[0]! <= now - MINUTE_MS) this.sends.shift();
    return this.sends.length < this.maxPerMinute ? 0 : this.sends[0]! + MINUTE_MS - now;
  }
}
