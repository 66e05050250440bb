import type { Expectation } from './expect.js';
import type { Phase } from './result.js';
import type { MailboxSettings } from './mailbox.js';
import type { SaslMechanism } from './sasl.js';
import type { TlsMinVersion, TlsMode } from './tls.js';

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

/**
 * Everything one run of one target needs, resolved and validated up front (CLI flags or config), so nothing is
 * parsed per run. Holds secrets in memory: never serialise a plan.
 */
export interface CheckPlan {
  name: string;
  url: string;
  host: string;
  port: number;
  tls: TlsMode;
  tlsParams: {
    servername: string;
    ca?: string | Buffer | undefined;
    cert?: string | Buffer | undefined;
    key?: string | Buffer | undefined;
    minVersion?: TlsMinVersion | undefined;
    insecure: boolean;
  };
  ehlo: string;
  ipFamily: 4 | 6 | null;
  sourceAddress: string | null;
  timeoutMs: number;
  phaseTimeoutMs: number;
  steps: StepKind[];
  auth: AuthPlan | null;
  send: SendPlan | null;
  expect: Partial<Record<Phase, Expectation>>;
  requireCapabilities: string[];
  bannerPattern: RegExp | null;
  minCertDays: number | null;
  transcript: boolean;
  /** DNS servers for this target's lookups ("127.0.0.1:5353"); null: the system resolver. */
  dnsServers: string[] | null;
  /** mx:// targets: probe the domain's MX hosts (the first `maxHosts`, or all) instead of `host` itself. */
  mx: { maxHosts: number | null } | null;
  /** Read the test message back from a mailbox after a successful send. */
  roundtrip: RoundtripPlan | null;
}

/** Defaults in one place: a plan for `host:port` with every setting not given taken from here. */
export function makePlan(p: Partial<CheckPlan> & Pick<CheckPlan, 'host' | 'port'>): CheckPlan {
  const tls = p.tls ?? 'opportunistic';
  return {
    name: p.name ?? `${p.host}:${p.port}`,
    url: p.url ?? `${p.mx ? 'mx' : tls === 'implicit' ? 'smtps' : 'smtp'}://${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`,
    tls,
    tlsParams: p.tlsParams ?? { servername: p.host, insecure: false },
    ehlo: p.ehlo ?? 'localhost',
    ipFamily: p.ipFamily ?? null,
    sourceAddress: p.sourceAddress ?? null,
    timeoutMs: p.timeoutMs ?? 10_000,
    phaseTimeoutMs: p.phaseTimeoutMs ?? 5_000,
    steps: p.steps ?? ['banner', 'ehlo', 'starttls', 'auth', 'send', 'noop', 'quit'],
    auth: p.auth ?? null,
    send: p.send ?? null,
    expect: p.expect ?? {},
    requireCapabilities: p.requireCapabilities ?? [],
    bannerPattern: p.bannerPattern ?? null,
    minCertDays: p.minCertDays ?? null,
    transcript: p.transcript ?? false,
    dnsServers: p.dnsServers ?? null,
    mx: p.mx ?? null,
    roundtrip: p.roundtrip ?? null,
    host: p.host,
    port: p.port,
  };
}

export function makeSend(p: Partial<SendPlan> & Pick<SendPlan, 'from' | 'to'>): SendPlan {
  return {
    deliver: true,
    subject: 'smtp-probe test message',
    body: 'This message was sent by smtp-probe to check that this mail server accepts mail.\r\nIt can be deleted.\r\n',
    headers: {},
    size: null,
    ...p,
  };
}
