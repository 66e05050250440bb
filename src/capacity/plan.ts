import { isIP } from 'node:net';
import type { CapacityPlan, CapacitySettings } from '../core/capacity.js';
import type { Clock } from '../core/clock.js';
import { bounded } from '../core/deadline.js';
import type { CheckPlan } from '../core/plan.js';
import type { AddressLookup } from '../dns/lookup.js';

/**
 * A capacity run's plan from a check plan (the CLI's flags, or a configured target under its module): the same
 * host, port, TLS settings, EHLO name, address family and timeouts, so that the sessions are the target's own.
 * TLS verification follows the TLS mode as a check's does: `starttls` and `implicit` require a verified
 * certificate unless `insecure`; `opportunistic` records it without requiring it.
 */
export function capacityPlan(plan: CheckPlan, settings: CapacitySettings): CapacityPlan {
  return {
    ...settings,
    url: plan.url,
    host: plan.host,
    port: plan.port,
    implicitTls: plan.tls === 'implicit',
    tlsParams: plan.tlsParams,
    requireVerified: (plan.tls === 'starttls' || plan.tls === 'implicit') && !plan.tlsParams.insecure,
    ehlo: plan.ehlo,
    ipFamily: plan.ipFamily,
    sourceAddress: plan.sourceAddress,
    phaseTimeoutMs: plan.phaseTimeoutMs,
    sessionTimeoutMs: plan.timeoutMs,
  };
}

/**
 * The target's addresses, in the order to use them (every session connects to the first: the capacity of one
 * server); a message when there is none. The lookup is the caller's: tests pretend a name is remote without any
 * network. Bounded by the phase timeout.
 */
export async function resolveAddresses(
  plan: Pick<CapacityPlan, 'host' | 'ipFamily' | 'phaseTimeoutMs'>,
  lookup: AddressLookup,
  clock: Clock,
  signal?: AbortSignal,
): Promise<string[] | string> {
  const { host, ipFamily: family } = plan;
  if (isIP(host)) return family !== null && isIP(host) !== family ? `${host} is not an IPv${family} address` : [host];
  const stop = new AbortController();
  try {
    const found = await bounded(lookup(host, family, stop.signal), plan.phaseTimeoutMs, signal, clock, (why) => {
      stop.abort();
      return why === 'timeout' ? `cannot resolve ${host}: no answer within ${plan.phaseTimeoutMs} ms` : `cannot resolve ${host}: stopped`;
    });
    if (typeof found === 'string') return found;
    return found.length > 0 ? found : `${host} has no address${family ? ` (IPv${family})` : ''}`;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const why = code === 'ENOTFOUND' ? 'no such host' : code === 'EAI_AGAIN' ? 'temporary DNS failure' : (e as Error).message;
    return `cannot resolve ${host}${family ? ` (IPv${family})` : ''}: ${why}`;
  }
}
