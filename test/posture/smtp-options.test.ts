import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import type { SchemaKit } from '../../checks/step.js';
import * as certificate from '../../checks/posture/certificate.js';
import * as expn from '../../checks/posture/expn.js';
import * as openRelay from '../../checks/posture/open-relay.js';
import * as injection from '../../checks/posture/starttls-injection.js';
import * as vrfy from '../../checks/posture/vrfy.js';

/** Built as config/schema.ts builds its kit. */
const kit: SchemaKit = {
  z,
  oneLine: (what) => z.string().regex(/^[^\r\n]*$/, `${what} must be one line`),
  mailAddress: z.string().regex(/^$|^[^@\s<>]+@[^@\s<>]+$/, 'must be a mail address (local@domain)'),
  file: z.string(),
};
const schema = (shape: z.ZodRawShape) => z.strictObject(shape);

describe('the SMTP posture checks own their config keys', () => {
  it('open_relay: relay_test_domain over the default example.net; a bad domain or a CRLF is an error', () => {
    const s = schema(openRelay.options(kit));
    expect(openRelay.openRelayOptions(s.parse({}))).toEqual(openRelay.DEFAULT_OPEN_RELAY_OPTIONS);
    expect(openRelay.openRelayOptions(s.parse({ relay_test_domain: 'relay.invalid.test', tries_per_session: 5 })))
      .toEqual({ relayTestDomain: 'relay.invalid.test', localPart: 'relaytest', triesPerSession: 5 });
    expect(s.safeParse({ relay_test_domain: 'example.net\r\nDATA' }).success).toBe(false);
    expect(s.safeParse({ relay_test_domain: 'nodot' }).success).toBe(false);
    expect(s.safeParse({ tries_per_session: 0 }).success).toBe(false);
  });

  it('certificate: warn_days and fail_days over 14 and 7; the date is passed apart', () => {
    const s = schema(certificate.options(kit));
    expect(certificate.certificateOptions(s.parse({}))).toEqual({ warnDays: 14, failDays: 7, at: null });
    expect(certificate.certificateOptions(s.parse({ warn_days: 30, fail_days: 10 }), 5)).toEqual({ warnDays: 30, failDays: 10, at: 5 });
    expect(s.safeParse({ warn_days: -1 }).success).toBe(false);
  });

  it('starttls_injection: wait_ms over 2000', () => {
    const s = schema(injection.options(kit));
    expect(injection.starttlsInjectionOptions(s.parse({}))).toEqual({ waitMs: 2000 });
    expect(injection.starttlsInjectionOptions(s.parse({ wait_ms: 500 }))).toEqual({ waitMs: 500 });
    expect(s.safeParse({ wait_ms: 10 }).success).toBe(false);
  });

  it('vrfy and expn: names, one line each, at least one', () => {
    for (const m of [vrfy, expn]) {
      const s = schema(m.options(kit));
      expect(s.parse({ names: ['postmaster', 'ops'] })).toEqual({ names: ['postmaster', 'ops'] });
      expect(s.safeParse({ names: [] }).success).toBe(false);
      expect(s.safeParse({ names: ['a\r\nRCPT TO:<x@y>'] }).success).toBe(false);
    }
    expect(vrfy.DEFAULT_VRFY_OPTIONS.names).toEqual(['postmaster', 'smtp-probe']);
  });
});
