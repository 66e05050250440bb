/**
 * The config keys of the posture checks that have any, by check name: a module's `posture:` takes each under the
 * check's name (`posture: { certificate: { warn_days: 21 } }`), and src/posture/options.ts converts them. Adding
 * a check with keys is its `options(kit)` and one line here.
 */
import type { PostureCheckName } from '../../src/core/posture.js';
import type { SchemaKit } from '../step.js';
import { options as certificate } from './certificate.js';
import { options as dnsbl } from './dnsbl.js';
import { options as expn } from './expn.js';
import { options as mtaSts } from './mta-sts.js';
import { options as openRelay } from './open-relay.js';
import { options as starttlsInjection } from './starttls-injection.js';
import { options as vrfy } from './vrfy.js';

export const POSTURE_OPTIONS = {
  mta_sts: mtaSts,
  dnsbl,
  certificate,
  starttls_injection: starttlsInjection,
  vrfy,
  expn,
  open_relay: openRelay,
} as const satisfies Partial<Record<PostureCheckName, (kit: SchemaKit) => object>>;

export type PostureOptionChecks = keyof typeof POSTURE_OPTIONS;
