import type { AuthResults, Hop } from './headers.js';

/**
 * The result record: one per run of one target. Everything downstream (reporters, metrics, alerts) reads
 * this record and nothing else. Published as docs/result-record.schema.json.
 */

/** Fixed phase vocabulary, in the order phases can occur (README "Phases"). */
export const PHASES = [
  'dns', 'connect', 'tls', 'banner', 'ehlo', 'helo', 'starttls', 'tls_upgrade', 'ehlo_tls', 'auth',
  'mail', 'rcpt', 'data', 'message', 'noop', 'rset', 'quit', 'roundtrip',
] as const;
export type Phase = (typeof PHASES)[number];

export const FAILURE_REASONS = [
  'dns', 'connect', 'timeout', 'tls', 'reply', 'expectation', 'protocol', 'closed', 'auth', 'slow', 'internal',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface Failure {
  phase: Phase;
  reason: FailureReason;
  code: number | null;
  enhancedCode: string | null;
  message: string;
}

/**
 * A failure in one line, each thing said once: `auth (reply): 535 5.7.8 Error: authentication failed`,
 * `connect: connection refused` (the reason is left out when it is the phase's name, the code when the message
 * already starts with it, as quoted replies do).
 */
/**
 * The record of a run that failed before any SMTP session began (DNS, no connection slot, a lost worker): one failed
 * phase, nothing else known.
 */
export function failedBeforeSession(
  target: { name: string; url: string }, startedAt: string, durationMs: number, failure: Failure,
): CheckResult {
  return {
    target: target.name, url: target.url, ok: false, startedAt, durationMs, attempts: 1, warnings: [], failure,
    phases: [{ phase: failure.phase, ok: false, durationMs }],
    banner: null, capabilities: null, capabilitiesBeforeTls: null, tls: null, messageId: null, probeId: '',
  };
}

export function describeFailure(f: Failure): string {
  const where = f.reason === f.phase ? f.phase : `${f.phase} (${f.reason})`;
  const code = [f.code, f.enhancedCode].filter((c) => c !== null).join(' ');
  const said = f.code === null || f.message.startsWith(String(f.code));
  return `${where}: ${said ? f.message : `${code} ${f.message}`}`;
}

/** Warning levels a passing run went past: `slow` (thresholds.warning, --warning), `certificate` (min_cert_days). */
export const WARNING_LEVELS = ['slow', 'certificate'] as const;
export type WarningLevel = (typeof WARNING_LEVELS)[number];

/**
 * What a warning is about, one word each: the result record's `warningKinds`, and the `kind` label of
 * smtp_probe_warnings. Each warning gets its kind where it is made.
 */
export const WARNING_KINDS = [
  /** The certificate did not verify, tolerated (opportunistic TLS, insecure_skip_verify / --insecure). */
  'tls_unverified',
  /** Fewer days left than min_cert_days (but not under its critical level). */
  'cert_expiring',
  /** The run took longer than thresholds.warning (--warning). */
  'slow',
  /** EHLO refused, HELO accepted: no ESMTP extensions. */
  'helo_fallback',
  /** Opportunistic TLS without STARTTLS offered: the session stayed in plaintext. */
  'starttls_missing',
  /** Bytes the server sent before the TLS handshake were discarded (RFC 3207 injection). */
  'tls_injection',
  /** The server ended lines with a bare LF. */
  'bare_lf',
  /** No 221 to QUIT: no reply in time, or the connection closed. */
  'quit_unanswered',
  /** The connection was closed in the middle of DATA so that no message is sent. */
  'closed_in_data',
  /** Something went wrong while closing the session after the steps (RSET, QUIT). */
  'close_failed',
  /** One of several addresses of the host could not be connected; another was. */
  'address_failed',
  /** An earlier attempt of this check failed (check --retries). */
  'retried',
  /** mx:// domain without MX records: its own address is the mail host. */
  'implicit_mx',
  /** A warning without a kind (a record from an older version or from elsewhere). */
  'other',
] as const;
export type WarningKind = (typeof WARNING_KINDS)[number];

/** The kind of each of a record's warnings, in order: its `warningKinds`, `other` for a warning without one. */
export function warningKindsOf(r: Pick<CheckResult, 'warnings' | 'warningKinds'>): WarningKind[] {
  return r.warnings.map((_, i) => r.warningKinds?.[i] ?? 'other');
}

export interface PhaseRecord {
  phase: Phase;
  ok: boolean;
  durationMs: number;
  code?: number;
  enhancedCode?: string;
  /** connect: the address actually used. */
  address?: string;
  /** rcpt: one record per recipient. */
  recipient?: string;
  /** auth: the SASL mechanism used. */
  mechanism?: string;
  /** A note such as "expected 5xx, got 554 (negative check passed)". */
  detail?: string;
}

export interface TlsInfo {
  version: string | null;
  cipher: string | null;
  verified: boolean;
  verifyError: string | null;
  /** True when verification was switched off on purpose (--insecure / insecure_skip_verify). */
  verificationSkipped: boolean;
  servername: string | null;
  subject: string | null;
  issuer: string | null;
  altNames: string[];
  validFrom: string | null;
  validTo: string | null;
  daysLeft: number | null;
  fingerprint256: string | null;
}

export interface TranscriptLine {
  /** Milliseconds since the start of the run. */
  t: number;
  dir: 'C' | 'S' | '*';
  line: string;
}

/** The message read back from the mailbox (mx/roundtrip capability). */
export interface RoundtripInfo {
  /** From the end of the SMTP run to the message showing in the mailbox; null when it did not arrive. */
  deliveredMs: number | null;
  /** Where it landed: INBOX, Junk, ... */
  folder: string | null;
  /** The Received chain in transit order. */
  hops: Hop[];
  transitMs: number | null;
  authResults: AuthResults | null;
}

/** The capability requirements judged on a run's EHLO replies (the module's own and those alert rules watch). */
export interface CapabilityVerdict {
  ok: boolean;
  /** Every requirement judged, as written: `STARTTLS`, `SIZE>=10000000`, `AUTH=PLAIN`. */
  checked: string[];
  /** Those not met, each with why. */
  missing: { requirement: string; problem: string }[];
}

export interface CheckResult {
  target: string;
  url: string;
  ok: boolean;
  startedAt: string;
  durationMs: number;
  attempts: number;
  warnings: string[];
  /** The kind of each warning, in the same order; present only when there are warnings. */
  warningKinds?: WarningKind[];
  failure: Failure | null;
  /**
   * The warning levels this run went past (a warning each in `warnings`); present only when it did. A passing run
   * with any is WARNING in nagios format.
   */
  overWarning?: WarningLevel[];
  phases: PhaseRecord[];
  banner: string | null;
  capabilities: Record<string, string> | null;
  capabilitiesBeforeTls: Record<string, string> | null;
  /** STARTTLS judged on the plaintext EHLO, the rest on the last one; null when no EHLO reply was seen. */
  requiredCapabilities?: CapabilityVerdict | null;
  /** AUTH offered on a connection not (yet) encrypted; null when no EHLO reply was seen. */
  authBeforeTls?: boolean | null;
  tls: TlsInfo | null;
  messageId: string | null;
  probeId: string;
  transcript?: TranscriptLine[];
  mx?: { host: string; preference: number; address: string | null };
  roundtrip?: RoundtripInfo;
}
