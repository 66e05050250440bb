/**
 * A fake TXT lookup for the posture checks: a table of name → records (or a response code, or a thrown error),
 * answering NXDOMAIN for every other name, and counting what was asked.
 */
import type { TxtAnswer, TxtLookup } from '../../../checks/posture/txt.js';

export type FakeEntry = readonly string[] | { rcode: string } | Error;

export interface FakeTxt {
  txt: TxtLookup;
  asked: string[];
}

export function fakeTxt(table: Record<string, FakeEntry>): FakeTxt {
  const asked: string[] = [];
  const txt: TxtLookup = async (name) => {
    asked.push(name);
    const entry = table[name];
    if (entry === undefined) return { rcode: 'NXDOMAIN', records: [] };
    if (entry instanceof Error) throw entry;
    if ('rcode' in entry) return { rcode: entry.rcode, records: [] } satisfies TxtAnswer;
    return { rcode: 'NOERROR', records: entry as readonly string[] };
  };
  return { txt, asked };
}
