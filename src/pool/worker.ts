/**
 * A worker thread of the pool (pool.ts): runs plans as the main thread would in-thread, with its own deps (the
 * system clock, `systemLookup`), and posts back the result records. A round-trip target always runs on the same
 * worker, which keeps its RoundtripTracker (late and never-delivered counts, the mailbox client) across runs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckPlan } from '../core/plan.js';
import type { CheckResult } from '../core/result.js';
import type { TlsParams } from '../core/tls.js';
import { runTarget, withPlanDns } from '../runner/mx.js';
import { RoundtripTracker } from '../runner/roundtrip.js';
import { runCheck, systemDeps } from '../runner/run.js';
import type { FromWorker, ToWorker, TrackerTotals, WorkerSetup } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('src/pool/worker.js is the entry of a worker thread, not a program to run');
const setup = workerData as WorkerSetup;

/** The last plan of each target this worker ran (structured clones are not free; the checks cache per plan). */
const plans = new Map<string, { id: number; plan: CheckPlan }>();
const trackers = new Map<string, RoundtripTracker>();
/** Runs in progress, by id: aborting the controller ends the run like its deadline does. */
const running = new Map<number, AbortController>();

const post = (m: FromWorker): void => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'target':
      start(m.id, () => target(m.target, m.planId, m.plan, m.id));
      break;
    case 'check':
      start(m.id, () => check(revive(m.plan)));
      break;
    case 'abort':
      running.get(m.id)?.abort();
      break;
    case 'forget':
      for (const t of m.targets) {
        plans.delete(t);
        trackers.delete(t);
      }
      break;
    case 'ping':
      post({ type: 'pong', id: m.id });
      break;
    case 'test':
      if (setup.testHooks) testHook(m.action, m.ms);
      break;
  }
});
post({ type: 'ready' });

type Run = (signal: AbortSignal) => Promise<{ results: CheckResult[]; totals: TrackerTotals | null }>;

/** Make the run (a missing plan throws here), run it with its own abort controller, post its results or what it threw. */
function start(id: number, make: () => Run): void {
  let run: Run;
  try {
    run = make();
  } catch (e) {
    post({ type: 'failed', id, message: String((e as Error).message ?? e) });
    return;
  }
  const controller = new AbortController();
  running.set(id, controller);
  void (async () => {
    try {
      const { results, totals } = await run(controller.signal);
      post({ type: 'done', id, results, totals });
    } catch (e) {
      post({ type: 'failed', id, message: `the run threw: ${String(e)}` });
    } finally {
      running.delete(id);
    }
  })();
}

/** A /probe run: one host, the plan's own DNS servers if it has them. */
function check(plan: CheckPlan): Run {
  return async (signal) => ({ results: [await runCheck(plan, withPlanDns(plan, systemDeps(signal)))], totals: null });
}

/** A scheduled run: the target's plan (sent now, or kept from an earlier run) and its tracker. */
function target(name: string, planId: number, sent: CheckPlan | null, id: number): Run {
  if (sent) plans.set(name, { id: planId, plan: revive(sent) });
  const kept = plans.get(name);
  if (!kept || kept.id !== planId) throw new Error(`worker ${setup.index} has no plan ${planId} of target ${name} (run ${id})`);
  const plan = kept.plan;
  const tracker = plan.roundtrip ? trackerFor(name) : undefined;
  return async (signal) => {
    const results = await runTarget(plan, { ...systemDeps(signal), roundtripTracker: tracker });
    return { results, totals: tracker?.totals() ?? null };
  };
}

/**
 * The target's tracker, made on its first run here. A replacement worker's starts from nothing: its first counts
 * are 0, which the metrics take as a reset (the counters go on from where they were, nothing counted twice).
 */
function trackerFor(name: string): RoundtripTracker {
  let t = trackers.get(name);
  if (!t) trackers.set(name, (t = new RoundtripTracker()));
  return t;
}

/** A structured clone turns a Buffer into a plain Uint8Array: the TLS settings get their Buffers back. */
function revive(plan: CheckPlan): CheckPlan {
  const p: TlsParams = plan.tlsParams;
  for (const k of ['ca', 'cert', 'key'] as const) {
    const v: unknown = p[k];
    if (v instanceof Uint8Array && !Buffer.isBuffer(v)) p[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
  return plan;
}

function testHook(action: 'throw' | 'exit' | 'hang', ms: number): void {
  if (action === 'exit') process.exit(3);
  if (action === 'throw') setImmediate(() => {
    throw new Error('test hook: an uncaught exception in the worker');
  });
  if (action === 'hang') for (const end = Date.now() + ms; Date.now() < end; );
}
