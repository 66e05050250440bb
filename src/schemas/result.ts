/**
 * The result record (`CheckResult`, src/core/result.ts) as a zod schema, for the published JSON Schema
 * (docs/result-record.schema.json, `npm run docs`) and the tests that validate real records against it.
 * Runtime code never imports this file (the one-shot CLI loads no zod): only the docs generator and tests do.
 *
 * Every object is strict, so a field the code adds without documenting it here fails the tests, and the
 * type-level checks at the end fail the build when this schema and the hand-written interfaces disagree.
 */
import { z } from 'zod';
import type { AuthMethodResult, AuthResults, Hop } from '../core/headers.js';
import {
  FAILURE_REASONS, PHASES, WARNING_KINDS, WARNING_LEVELS,
  type CapabilityVerdict, type CheckResult, type Failure, type PhaseRecord, type RoundtripInfo, type TlsInfo, type TranscriptLine,
} from '../core/result.js';
import { assertSameType } from './same-type.js';

const iso = (what: string) => z.string().describe(`${what} (ISO 8601, UTC)`);

export const phaseSchema = z.enum(PHASES).describe('A phase of the run, in the order phases can occur (README "Phases").');
export const failureReasonSchema = z.enum(FAILURE_REASONS).describe('Why the run failed (README "Result record and exit codes").');

export const failureSchema = z.strictObject({
  phase: phaseSchema.describe('The phase that failed.'),
  reason: failureReasonSchema,
  code: z.number().int().nullable().describe('The SMTP reply code that failed it, if a reply did.'),
  enhancedCode: z.string().nullable().describe('Its RFC 3463 enhanced status code ("5.7.1"), if it had one.'),
  message: z.string().describe('What went wrong, in one line; server text quoted, secrets scrubbed.'),
}).describe('The first failure of the run.');

export const phaseRecordSchema = z.strictObject({
  phase: phaseSchema,
  ok: z.boolean(),
  durationMs: z.number().nonnegative().describe('From the end of the previous phase to this phase\'s final reply, ms.'),
  code: z.number().int().optional().describe('The final reply code of the phase.'),
  enhancedCode: z.string().optional().describe('The RFC 3463 enhanced status code of that reply.'),
  address: z.string().optional().describe('connect: the address actually used.'),
  recipient: z.string().optional().describe('rcpt: the recipient (one record per recipient).'),
  mechanism: z.string().optional().describe('auth: the SASL mechanism used.'),
  detail: z.string().optional().describe('A note such as "expected 5xx, got 554 (negative check passed)".'),
}).describe('One timed phase. The phases of a run add up to its durationMs.');

export const tlsInfoSchema = z.strictObject({
  version: z.string().nullable().describe('The negotiated protocol: "TLSv1.3".'),
  cipher: z.string().nullable().describe('The negotiated cipher suite.'),
  verified: z.boolean().describe('The certificate chain and name verified.'),
  verifyError: z.string().nullable().describe('Why it did not verify.'),
  verificationSkipped: z.boolean().describe('Verification was switched off on purpose (--insecure / insecure_skip_verify).'),
  servername: z.string().nullable().describe('The name sent as SNI and verified against.'),
  subject: z.string().nullable().describe('The certificate subject CN.'),
  issuer: z.string().nullable().describe('The issuer CN (or O).'),
  altNames: z.array(z.string()).describe('The subjectAltName DNS names and addresses.'),
  validFrom: z.string().nullable().describe('notBefore (ISO 8601).'),
  validTo: z.string().nullable().describe('notAfter (ISO 8601).'),
  daysLeft: z.number().nullable().describe('Days until notAfter, at the time of the run.'),
  fingerprint256: z.string().nullable().describe('SHA-256 fingerprint of the certificate.'),
}).describe('The TLS session: implicit TLS or after STARTTLS.');

export const transcriptLineSchema = z.strictObject({
  t: z.number().nonnegative().describe('Milliseconds since the start of the run.'),
  dir: z.enum(['C', 'S', '*']).describe('C: sent by the probe, S: from the server, *: a note.'),
  line: z.string().describe('The line, control characters quoted; AUTH arguments shown as ***.'),
});

export const capabilityVerdictSchema = z.strictObject({
  ok: z.boolean().describe('Every requirement met.'),
  checked: z.array(z.string()).describe('Every requirement judged, as written: STARTTLS, SIZE>=10000000, AUTH=PLAIN.'),
  missing: z.array(z.strictObject({
    requirement: z.string(),
    problem: z.string().describe('Why it is not met.'),
  })).describe('Those not met.'),
});

export const hopSchema = z.strictObject({
  index: z.number().int().positive().describe('1 = the first relay the message passed (transit order).'),
  from: z.string().nullable(),
  by: z.string().nullable(),
  with: z.string().nullable(),
  id: z.string().nullable(),
  for: z.string().nullable(),
  date: z.string().nullable().describe('The hop\'s own timestamp (ISO 8601); null when missing or unreadable.'),
  delayMs: z.number().nullable().describe('Time since the previous hop (or the message\'s Date for the first), ms.'),
  raw: z.string().describe('The Received header as received, unfolded and truncated.'),
}).describe('One Received header.');

export const authMethodResultSchema = z.strictObject({
  method: z.string().describe('Lower case, version dropped: dkim, spf, arc.'),
  result: z.string().describe('Lower case: pass, fail, none, ...'),
  reason: z.string().nullable(),
  props: z.record(z.string(), z.string()).describe('ptype.property values: { "header.d": "example.org" }.'),
});

export const authResultsSchema = z.strictObject({
  authservId: z.string().nullable().describe('The authserv-id of the Authentication-Results header used (the topmost).'),
  spf: z.string().nullable(),
  dkim: z.string().nullable(),
  dmarc: z.string().nullable(),
  other: z.record(z.string(), z.string()).describe('Other methods seen: { "arc": "none" }.'),
  methods: z.array(authMethodResultSchema).optional().describe('Every resinfo of that header, in order.'),
}).describe('What the Authentication-Results header says (RFC 8601).');

export const roundtripInfoSchema = z.strictObject({
  deliveredMs: z.number().nullable().describe('From the end of the SMTP run to the message showing in the mailbox, ms; null when it did not arrive.'),
  folder: z.string().nullable().describe('Where it landed: INBOX, Junk, ...'),
  hops: z.array(hopSchema).describe('The Received chain in transit order.'),
  transitMs: z.number().nullable().describe('From the message\'s Date (or the first hop) to the last hop, ms.'),
  authResults: authResultsSchema.nullable(),
}).describe('The test message read back from the mailbox (README "MX routing and end-to-end delivery").');

export const mxSchema = z.strictObject({
  host: z.string().describe('The MX host name.'),
  preference: z.number().int().nonnegative().describe('Its MX preference (0 for an implicit MX).'),
  address: z.string().nullable().describe('The address connected to; null when the host had none.'),
}).describe('mx:// targets: the MX host this result is for.');

export const checkResultSchema = z.strictObject({
  target: z.string().describe('The target name (config) or host:port (check with a URL).'),
  url: z.string().describe('The target URL: smtp://, smtps:// or mx://.'),
  ok: z.boolean().describe('The check passed.'),
  startedAt: iso('When the run started'),
  durationMs: z.number().nonnegative().describe('The whole run, ms.'),
  attempts: z.number().int().positive().describe('Runs made (more than 1 with retries).'),
  warnings: z.array(z.string()).describe('Things that did not fail the check: HELO fallback, no 221 to QUIT, a certificate near expiry, ...'),
  warningKinds: z.array(z.enum(WARNING_KINDS)).optional().describe(
    `The kind of each warning, in the same order (smtp_probe_warnings{kind}): ${WARNING_KINDS.join(', ')}. Present only when there are warnings.`,
  ),
  failure: failureSchema.nullable(),
  overWarning: z.array(z.enum(WARNING_LEVELS)).optional().describe(
    'The warning levels the run went past, each with a warning in warnings: slow (over thresholds.warning / --warning), certificate (fewer days left than min_cert_days). Present only when there are some; a passing run with any is WARNING in nagios format.',
  ),
  phases: z.array(phaseRecordSchema).describe('The phases run, in order.'),
  banner: z.string().nullable().describe('The greeting text.'),
  capabilities: z.record(z.string(), z.string()).nullable().describe('The last EHLO reply: keyword → parameters.'),
  capabilitiesBeforeTls: z.record(z.string(), z.string()).nullable().describe('The plaintext EHLO reply before STARTTLS.'),
  requiredCapabilities: capabilityVerdictSchema.nullable().optional().describe(
    'Every capability requirement (the module\'s own and those alert rules watch) judged on this run: STARTTLS on the plaintext EHLO, the rest on the last one; null when no EHLO reply came.',
  ),
  authBeforeTls: z.boolean().nullable().optional().describe('AUTH offered on a connection not (yet) encrypted; null when no EHLO reply came.'),
  tls: tlsInfoSchema.nullable(),
  messageId: z.string().nullable().describe('The Message-ID of the test message sent.'),
  probeId: z.string().describe('The run\'s X-Smtp-Probe-Id (empty when no run was made).'),
  transcript: z.array(transcriptLineSchema).optional().describe('The SMTP dialogue (--transcript, /probe debug, debug logs).'),
  mx: mxSchema.optional(),
  roundtrip: roundtripInfoSchema.optional(),
}).describe('The result record: one per run of one target (one per MX host for mx://).');

/** `smtp-probe check --format json` prints this. */
export const jsonReportSchema = z.strictObject({
  ok: z.boolean().describe('Every check passed.'),
  results: z.array(checkResultSchema),
});

// The schema and the interfaces agree field for field, both ways (a compile error otherwise).
assertSameType<z.output<typeof checkResultSchema>, CheckResult>(true);
assertSameType<z.output<typeof failureSchema>, Failure>(true);
assertSameType<z.output<typeof phaseRecordSchema>, PhaseRecord>(true);
assertSameType<z.output<typeof tlsInfoSchema>, TlsInfo>(true);
assertSameType<z.output<typeof transcriptLineSchema>, TranscriptLine>(true);
assertSameType<z.output<typeof capabilityVerdictSchema>, CapabilityVerdict>(true);
assertSameType<z.output<typeof roundtripInfoSchema>, RoundtripInfo>(true);
assertSameType<z.output<typeof hopSchema>, Hop>(true);
assertSameType<z.output<typeof authResultsSchema>, AuthResults>(true);
assertSameType<z.output<typeof authMethodResultSchema>, AuthMethodResult>(true);
