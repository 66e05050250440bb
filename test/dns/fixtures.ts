/** DNS fixtures shared by the MX tests (test/dns) and the runner's MX fan-out tests (test/runner). */
import type { MxResolver } from '../../src/dns/mx.js';
import type { Zone } from '../helpers/dns-server.js';

// ---------------------------------------------------------------------------------------------------------
// An injected resolver: plain objects, errors as node:dns gives them (an Error with a `code`).

type Answer<T> = T | { error: string };
export interface FakeName {
  mx?: Answer<{ exchange: string; priority: number }[]>;
  a?: Answer<string[]>;
  aaaa?: Answer<string[]>;
}

export interface FakeResolver extends MxResolver {
  calls: string[];
}

function dnsError(code: string, syscall: string, name: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code} ${name}`), { code, syscall, hostname: name });
}

/** Unknown names are NXDOMAIN (ENOTFOUND); a known name without that type is NODATA (ENODATA), as c-ares says. */
export function fakeResolver(names: Record<string, FakeName>, onCall?: (what: string) => void): FakeResolver {
  const calls: string[] = [];
  const ask = async <T>(kind: 'mx' | 'a' | 'aaaa', syscall: string, name: string): Promise<T> => {
    calls.push(`${kind.toUpperCase()} ${name}`);
    onCall?.(`${kind} ${name}`);
    const n = names[name.toLowerCase()];
    if (!n) throw dnsError('ENOTFOUND', syscall, name);
    const v = n[kind];
    if (v === undefined) throw dnsError('ENODATA', syscall, name);
    if (typeof v === 'object' && v !== null && 'error' in v) throw dnsError(v.error, syscall, name);
    return structuredClone(v) as T;
  };
  return {
    calls,
    resolveMx: (n) => ask('mx', 'queryMx', n),
    resolve4: (n) => ask('a', 'queryA', n),
    resolve6: (n) => ask('aaaa', 'queryAaaa', n),
  };
}

export const ZONE: Zone = {
  'example.test': { mx: [[20, 'mx2.example.test'], [10, 'mx1.example.test'], [20, 'MX0.example.test.'], [30, 'mx2.example.test']] },
  'mx0.example.test': { a: ['127.0.0.1'] },
  'fan.test': { mx: [[20, 'mx2.example.test'], [10, 'mx1.example.test'], [20, 'MX0.example.test.']] },
  'mx1.example.test': { a: ['127.0.0.1'], aaaa: ['::1'] },
  'mx2.example.test': { a: ['127.0.0.1'] },
  // The domain is an alias: its MX records are the target's (RFC 5321 5.1: processed as if it were the target).
  'alias.test': { cname: 'hop.alias.test' },
  'hop.alias.test': { cname: 'example.test' },
  // An MX target that is an alias (RFC 2181 10.3 says it should not be, but senders follow it).
  'cnamed.test': { mx: [[10, 'mail.cnamed.test'], [20, 'ghost.cnamed.test']] },
  'mail.cnamed.test': { cname: 'relay.hosting.test' },
  'relay.hosting.test': { cname: 'box.hosting.test' },
  'box.hosting.test': { a: ['127.0.0.1'], aaaa: ['::1'] },
  'nomail.test': { mx: [[0, '.']], a: ['127.0.0.1'] },
  'solo.test': { a: ['127.0.0.1'] },
  'solo-alias.test': { cname: 'solo.test' },
  'bare.test': {},
  'broken.test': { rcode: 'SERVFAIL' },
  'partial.test': { mx: [[10, 'mx1.example.test'], [20, 'noaddr.partial.test'], [30, 'nx.partial.test']] },
  'noaddr.partial.test': {},
  'dead.test': { drop: true },
};
