import type { Expectation } from './expect.js';
import type { Phase } from './result.js';
import type { MailboxSettings } from './mailbox.js';
import type { SaslMechanism } from './sasl.js';
import type { TlsMode, TlsParams } from './tls.js';

export interface RoundtripPlan {
  mailbox: MailboxSettings;
  /** The round trip's own deadline, outside the SMTP run's. */
  timeoutMs: number;
  /** Between mailbox polls. */
  pollMs: number;
}

/** Step kinds a check can run, in the order they run (checks/index.ts holds one module per kind). */
export const STEP_KINDS = ['banner', 'ehlo', 'starttls', 'auth', 'send', 'noop', 'quit'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export interface AuthPlan {
  username: string;
  /** Password or bearer token; read from an env var or a file, never from a command line. */
  password: string;
  mechanism: SaslMechanism | null;
  allowPlaintext: boolean;
}

export interface SendPlan {
  from: string;
  to: string[];
  /** false: MAIL and RCPT are checked, then RSET instead of DATA. */
  deliver: boolean;
  subject: string;
  body: string;
  headers: Record<string, string>;
  size: number | null;
}

/** Response-time thresholds on a run's total duration (check_smtp -w/-c); null: none. */
export interface Thresholds {
  warningMs: number | null;
  criticalMs: number | null;
}

/**
 * Everything one run of one target needs, resolved and validated up front (CLI flags or config), so nothing is
 * parsed per run; plan/build.ts makes them. Holds secrets in memory: never serialise a plan.
 */
export interface CheckPlan {
  name: string;
  url: string;
  host: string;
  port: number;
  tls: TlsMode;
  tlsParams: TlsParams;
  ehlo: string;
  ipFamily: 4 | 6 | null;
  sourceAddress: string | null;
  timeoutMs: number;
  phaseTimeoutMs: number;
  steps: StepKind[];
  auth: AuthPlan | null;
  send: SendPlan | null;
  expect: Partial<Record<Phase, Expectation>>;
  /** Requirements the run fails without (`require_capabilities`, `--require-capability`). */
  requireCapabilities: string[];
  /**
   * Requirements judged and recorded in the result's `requiredCapabilities` without failing the run: what alert
   * rules of kind `capability` ask about this target.
   */
  watchCapabilities: string[];
  bannerPattern: RegExp | null;
  /** A certificate with fewer days left is a warning (`min_cert_days`, `--min-cert-days W[,C]`). */
  minCertDays: number | null;
  /** ... and with fewer than these, a failure at tls/tls_upgrade, reason `tls`. */
  criticalCertDays: number | null;
  /** The run's duration: over `warningMs` a warning, over `criticalMs` a failure with reason `slow`. */
  thresholds: Thresholds;
  /** Every warning fails the run (`--strict`): the first warning's phase, its text as the message. */
  strict: boolean;
  transcript: boolean;
  /** DNS servers for this target's lookups ("127.0.0.1:5353"); null: the system resolver. */
  dnsServers: string[] | null;
  /** mx:// targets: probe the domain's MX hosts (the first `maxHosts`, or all) instead of `host` itself. */
  mx: { maxHosts: number | null } | null;
  /** Read the test message back from a mailbox after a successful send. */
  roundtrip: RoundtripPlan | null;
}
