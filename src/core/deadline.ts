/**
 * An AbortSignal that aborts after `ms` or when any parent aborts. Built from a controller and a timer held
 * here, not AbortSignal.timeout/any: Node 20 holds those sources weakly, and a collected timeout signal
 * never fires. `dispose()` clears the timer and the parent listeners.
 */
export function deadline(ms: number | null, parents: readonly (AbortSignal | undefined)[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  const timer = ms === null ? null : setTimeout(abort, ms);
  const live = parents.filter((p): p is AbortSignal => p !== undefined);
  for (const p of live) {
    if (p.aborted) controller.abort();
    else p.addEventListener('abort', abort, { once: true });
  }
  return {
    signal: controller.signal,
    dispose() {
      if (timer) clearTimeout(timer);
      for (const p of live) p.removeEventListener('abort', abort);
    },
  };
}
