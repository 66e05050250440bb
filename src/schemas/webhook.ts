/**
 * The generic webhook receiver's JSON body (`webhookPayload`, src/alerts/providers/webhook.ts) as a zod schema,
 * for docs/webhook-payload.schema.json (`npm run docs`) and the tests that validate real payloads against it.
 * Only the docs generator and tests import this file.
 */
import { z } from 'zod';
import type { Notification } from '../alerts/types.js';
import { POSTURE_CHECKS, POSTURE_VERDICTS, type PostureFinding } from '../core/posture.js';
import type { CheckResult } from '../core/result.js';
import { checkResultSchema, failureReasonSchema, phaseSchema } from './result.js';
import { assertSameType } from './same-type.js';

/** The payload as the notification it comes from types each field; version 1 of the format. */
export interface WebhookPayload {
  version: 1;
  status: Notification['status'];
  alert: Notification['alert'];
  target: Notification['target'];
  labels: Record<string, string>;
  startsAt: Notification['startsAt'];
  endsAt: Notification['endsAt'];
  summary: Notification['summary'];
  failure: Notification['failure'];
  result: Omit<CheckResult, 'transcript'> | null;
  findings?: PostureFinding[];
}

const postureFindingSchema = z.strictObject({
  check: z.enum(POSTURE_CHECKS).describe('The posture check.'),
  scope: z.enum(['domain', 'mx', 'address']).describe('What it is about: the domain, one MX host, or one address of one MX host.'),
  mxHost: z.string().nullable().describe('The MX host (scope mx and address); null for the domain.'),
  address: z.string().nullable().describe('The address probed (scope address); null otherwise.'),
  result: z.enum(POSTURE_VERDICTS).describe('pass, warn, fail or n/a.'),
  reason: z.string().nullable().describe('Why (TLS-RPT\'s failure vocabulary where it fits: tlsa-invalid, dnssec-invalid, ...); null on pass.'),
  detail: z.string().describe('One line for people: what was seen.'),
});

export const webhookPayloadSchema = z.strictObject({
  version: z.literal(1).describe('The payload format; a change that is not backwards compatible raises it.'),
  status: z.enum(['firing', 'resolved']).describe('firing (also for reminders while it lasts) or resolved.'),
  alert: z.string().describe('The alert rule\'s name, or smtp_probe_isolated for the probe\'s own network alert.'),
  target: z.string().describe('The target name; <target>/<mx host> for one MX host of an mx:// target; smtp-probe for smtp_probe_isolated.'),
  labels: z.record(z.string(), z.string()).describe('The target\'s static labels (its `labels:` in the config).'),
  startsAt: z.string().describe('When the streak of bad runs that fired it began (ISO 8601, UTC).'),
  endsAt: z.string().nullable().describe('When it resolved (ISO 8601, UTC); null while firing.'),
  summary: z.string().describe('One line for people: what is wrong with which target.'),
  failure: z.strictObject({
    phase: phaseSchema,
    reason: failureReasonSchema,
    code: z.number().int().nullable().describe('The SMTP reply code, if a reply failed it.'),
  }).nullable().describe('The failure of the run that caused the notification (phase, reason, code of result.failure); null when that run did not fail (slow, certificate, capability, resolved).'),
  result: checkResultSchema.omit({ transcript: true }).nullable().describe(
    'The result record that caused it, without its transcript (docs/result-record.schema.json); null for smtp_probe_isolated and posture alerts.',
  ),
  findings: z.array(postureFindingSchema).optional().describe(
    'posture alerts only: the findings of the posture run that made it bad (the rule\'s checks at its on level or worse); empty when it resolves.',
  ),
}).describe(
  'The JSON body of one POST by a webhook receiver. Headers: Content-Type: application/json, X-Smtp-Probe-Notification (an id stable across retries), and with a secret X-Smtp-Probe-Timestamp and X-Smtp-Probe-Signature: sha256=<hex HMAC-SHA256(secret, "timestamp.body")>.',
);

assertSameType<z.output<typeof webhookPayloadSchema>, WebhookPayload>(true);
