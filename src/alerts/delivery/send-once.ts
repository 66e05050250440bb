/** One attempt at one request: the receiver's timeout (on the Clock) and the worker's stop() end it early. */
import type { Dispatcher } from 'undici';
import type { Clock, TimerHandle } from '../../core/clock.js';
import type { PreparedRequest, SendOutcome } from '../providers/provider.js';
import { errorText } from './error-text.js';
import type { SendFn } from './types.js';

export interface SendContext {
  clock: Clock;
  send: SendFn;
  dispatcher: Dispatcher;
}

/** Sends `req` with `timeoutMs` and `controller` (aborted by stop()) as abort signals. Never rejects. */
export async function sendOnce(req: PreparedRequest, timeoutMs: number, controller: AbortController, c: SendContext): Promise<SendOutcome> {
  const aborted = new Promise<SendOutcome>((resolve) => {
    controller.signal.addEventListener(
      'abort',
      () => resolve({ ok: false, status: null, retryable: true, retryAfterMs: null, error: errorText(controller.signal.reason) }),
      { once: true },
    );
  });
  const timer: TimerHandle = c.clock.setTimer(timeoutMs, () =>
    controller.abort(new Error(`no answer within ${timeoutMs} ms`)),
  );
  const sent = Promise.resolve()
    .then(() => c.send(req, { dispatcher: c.dispatcher, signal: controller.signal, timeoutMs, now: c.clock.wallNow(), clock: c.clock }))
    .catch((e: unknown): SendOutcome => ({ ok: false, status: null, retryable: true, retryAfterMs: null, error: errorText(e) }));
  try {
    return await Promise.race([sent, aborted]);
  } finally {
    timer.cancel();
  }
}
