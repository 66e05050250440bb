/** A worker's waits on the Clock (grouping, backoff, the rate cap), one at a time, which stop and flush cut short. */
import type { Clock, TimerHandle } from '../../core/clock.js';

export type WaitKind = 'group' | 'backoff' | 'rate';

export class Sleeper {
  private wait: { kind: WaitKind; wake: () => void } | null = null;

  constructor(private readonly clock: Clock) {}

  /** Resolves after `ms` on the Clock, or at wake(). */
  sleep(kind: WaitKind, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let handle: TimerHandle | null = null;
      const w = {
        kind,
        wake: (): void => {
          handle?.cancel();
          if (this.wait === w) this.wait = null;
          resolve();
        },
      };
      this.wait = w;
      handle = this.clock.setTimer(ms, w.wake);
    });
  }

  /** Ends the current wait now, unless it is of kind `unless`. */
  wake(unless?: WaitKind): void {
    if (this.wait && this.wait.kind !== unless) this.wait.wake();
  }
}
