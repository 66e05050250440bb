import { capacityLimits, allLoopback, isLoopbackAddress } from '../capacity/limits.js';
import { capacityPlan, resolveAddresses } from '../capacity/plan.js';
import { failedCapacity, runCapacity } from '../capacity/run.js';
import { renderCapacityText } from '../capacity/text.js';
import { CAPACITY_UNTIL, type CapacityReport, type CapacityUntil } from '../core/capacity.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { CheckPlan } from '../core/plan.js';
import { parseTargetUrl, type TargetUrl } from '../core/target.js';
import { systemAddressLookup, type AddressLookup } from '../dns/lookup.js';
import { buildPlan, defaultGlobal, defaultModule } from '../plan/build.js';
import { DEFAULTS } from '../plan/defaults.js';
import { OverrideError, applyOverrides, type Overrides } from '../plan/overrides.js';
import { UsageError, choiceFlag, durationFlag, intFlag, parseFlags, readFlagFile } from './args.js';
import { CAPACITY_HELP } from './help.js';
import type { CliIo } from './io.js';

/** The flags of `smtp-probe capacity` (README "Capacity", docs/capacity.md). */
export const CAPACITY_FLAGS = {
  sessions: { type: 'string' },
  duration: { type: 'string' },
  until: { type: 'string' },
  rate: { type: 'string' },
  format: { type: 'string' },
  'allow-remote': { type: 'boolean' },
  ca: { type: 'string' },
  servername: { type: 'string' },
  insecure: { type: 'boolean' },
  ehlo: { type: 'string' },
  'phase-timeout': { type: 'string' },
  timeout: { type: 'string' },
  ip: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type CapacityFlags = {
  [K in keyof typeof CAPACITY_FLAGS]?: (typeof CAPACITY_FLAGS)[K] extends { type: 'boolean' } ? boolean : string;
};

/**
 * What the command takes from outside besides its io: name lookups, whether the addresses found are this machine's
 * (tests pretend a remote server without any network: a lookup answering a remote address, or a loopback address
 * classified as remote), and time.
 */
export interface CapacityCommandDeps {
  lookup: AddressLookup;
  isLoopback: (addresses: readonly string[]) => boolean;
  clock: Clock;
}

/**
 * `smtp-probe capacity URL`: a bounded load of concurrent sessions against one server, a report of what it
 * answered. Exit 0 when every session was accepted, 1 at a 421 or any other failure (or an interrupt), 2 on a
 * usage error, a request over the limits for the address included.
 */
export async function capacityCommand(argv: string[], io: CliIo, deps: Partial<CapacityCommandDeps> = {}): Promise<number> {
  const { values, positionals } = parseFlags('capacity', argv, CAPACITY_FLAGS);
  const f = values as CapacityFlags;
  if (f.help) {
    io.stdout(CAPACITY_HELP);
    return 0;
  }
  const format = choiceFlag('format', f.format, ['text', 'json'] as const, 'text');
  const url = targetOf(positionals);
  const until = choiceFlag('until', f.until, CAPACITY_UNTIL, DEFAULTS.capacity.until as CapacityUntil);
  const asked = {
    sessions: intFlag('sessions', f.sessions, 1, DEFAULTS.capacity.maxLoopbackSessions) ?? DEFAULTS.capacity.sessions,
    rate: rateFlag(f.rate),
  };
  const durationMs = durationFlag('duration', f.duration, DEFAULTS.capacity.durationMs);
  const check = checkPlanOf(url, until, f);
  const clock = deps.clock ?? systemClock;
  const settings = { sessions: asked.sessions, until, durationMs, ratePerSecond: asked.rate };
  const addresses = await resolveAddresses(check, deps.lookup ?? systemAddressLookup(), clock, io.signal);
  let report: CapacityReport;
  if (typeof addresses === 'string') {
    report = failedCapacity(capacityPlan(check, settings), addresses, clock.wallNow());
  } else {
    const loopback = (deps.isLoopback ?? allLoopback)(addresses);
    // Named in a refusal: the address that makes the name remote.
    const remote = addresses.find((a) => !isLoopbackAddress(a)) ?? addresses[0]!;
    const ratePerSecond = withinLimits(asked, remote, loopback, f['allow-remote'] ?? false);
    const plan = capacityPlan(check, { ...settings, ratePerSecond });
    report = await runCapacity(plan, { address: addresses[0]!, loopback }, { ...clock, ...(io.signal ? { signal: io.signal } : {}) });
  }
  io.stdout(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderCapacityText(report));
  return report.ok ? 0 : 1;
}

function targetOf(positionals: string[]): TargetUrl {
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'no target: give one URL (smtp://host[:port] or smtps://host[:port])' : `one target at a time (got ${positionals.length})`);
  }
  const text = positionals[0]!.trim();
  const url = parseTargetUrl(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `smtp://${text}`);
  if (typeof url === 'string') throw new UsageError(url);
  if (url.scheme === 'mx') throw new UsageError(`${url.url}: capacity measures one server; give smtp://HOST of one MX host`);
  return url;
}

/** `--rate 5`, `5/s` or `30/m`: sessions started per second, over zero and at most DEFAULTS.capacity.maxRatePerSecond. */
function rateFlag(value: string | undefined): number | null {
  if (value === undefined) return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|m))?\s*$/.exec(value);
  const perSecond = m ? Number(m[1]) / (m[2] === 'm' ? 60 : 1) : NaN;
  if (!(perSecond > 0) || perSecond > DEFAULTS.capacity.maxRatePerSecond) {
    throw new UsageError(`--rate: "${value}" is not a rate over 0 and up to ${DEFAULTS.capacity.maxRatePerSecond}/s (e.g. 5/s, 30/m)`);
  }
  return perSecond;
}

/** The rate to run at, once the request is known to be within the limits for this address; else a UsageError. */
function withinLimits(asked: { sessions: number; rate: number | null }, address: string, loopback: boolean, allowRemote: boolean): number | null {
  const limits = capacityLimits(loopback, allowRemote);
  const remote = `${address} is not a loopback address`;
  if (asked.sessions > limits.maxSessions) {
    if (loopback) throw new UsageError(`--sessions: at most ${limits.maxSessions}`);
    throw new UsageError(allowRemote
      ? `--sessions ${asked.sessions}: ${remote}: at most ${limits.maxSessions} sessions`
      : `--sessions ${asked.sessions}: ${remote}: at most ${limits.maxSessions} sessions without --allow-remote (${DEFAULTS.capacity.maxSessions} with it)`);
  }
  if (asked.rate !== null && limits.maxRatePerSecond !== null && asked.rate > limits.maxRatePerSecond) {
    throw new UsageError(`--rate ${asked.rate}/s: ${remote}: at most ${limits.maxRatePerSecond} session per second without --allow-remote`);
  }
  return asked.rate ?? limits.defaultRatePerSecond;
}

/**
 * The target's check plan under the default module with the flags over it, as `check` builds one: `--until
 * starttls` asks for TLS (a certificate that does not verify ends a session unless --insecure), smtps:// has it.
 */
function checkPlanOf(url: TargetUrl, until: CapacityUntil, f: CapacityFlags): CheckPlan {
  const o: Overrides = { noDeliver: false, message: {}, expect: {}, transcript: false };
  o.tls = url.scheme === 'smtps' ? 'implicit' : until === 'starttls' ? 'starttls' : 'none';
  if (f.ca !== undefined) o.ca = readFlagFile('ca', f.ca);
  if (f.servername !== undefined) o.servername = f.servername;
  if (f.insecure) o.insecure = true;
  if (f.ehlo !== undefined) o.ehlo = f.ehlo;
  if (f.timeout !== undefined) o.timeoutMs = durationFlag('timeout', f.timeout, DEFAULTS.timeoutMs);
  if (f['phase-timeout'] !== undefined) o.phaseTimeoutMs = durationFlag('phase-timeout', f['phase-timeout'], DEFAULTS.phaseTimeoutMs);
  if (f.ip !== undefined) o.ipFamily = Number(choiceFlag('ip', f.ip, ['4', '6'], '4')) as 4 | 6;
  const mod = defaultModule();
  try {
    return applyOverrides(buildPlan(url.url, url, mod, defaultGlobal()), mod, o);
  } catch (e) {
    throw e instanceof OverrideError ? new UsageError(e.message) : e;
  }
}
