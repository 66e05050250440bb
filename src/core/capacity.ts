/**
 * Capacity runs (`smtp-probe capacity`, a module's `capacity:`): a bounded load of concurrent sessions against one
 * server, each to the greeting, EHLO or STARTTLS and then QUIT. The vocabulary the run (src/capacity/), its
 * reports and its metrics share.
 */
import type { TlsParams } from './tls.js';

/** How far each session goes before QUIT. */
export const CAPACITY_UNTIL = ['banner', 'ehlo', 'starttls'] as const;
export type CapacityUntil = (typeof CAPACITY_UNTIL)[number];

/**
 * What is timed in each session. `connect`: the TCP connect. `banner_first_byte` and `banner`: from the connection
 * (after the handshake on smtps://) to the greeting's first byte and to its complete reply. `ehlo`: EHLO to its
 * reply. `tls`: STARTTLS to the end of the handshake (smtps://: the handshake after connect).
 */
export const CAPACITY_PHASES = ['connect', 'banner_first_byte', 'banner', 'ehlo', 'tls'] as const;
export type CapacityPhase = (typeof CAPACITY_PHASES)[number];

/**
 * How a session ended. `accepted`: it reached `until` (QUIT's answer is not judged). `refused`: the connection was
 * refused, or closed or reset before the greeting. `421`: a 421 reply anywhere (the run stops). `4xx`, `5xx`: any
 * other such reply. `timeout`: a connect, reply or handshake not in time. `error`: anything else (TLS refused or
 * not verified, STARTTLS not offered, bytes that are not SMTP, a close after the greeting).
 */
export const CAPACITY_RESULTS = ['accepted', 'refused', '421', '4xx', '5xx', 'timeout', 'error'] as const;
export type CapacityResult = (typeof CAPACITY_RESULTS)[number];

/** What one capacity run is asked for. */
export interface CapacitySettings {
  /** Sessions open at once, at most. */
  sessions: number;
  until: CapacityUntil;
  /** No session starts after this long; the ones going finish. */
  durationMs: number;
  /** Sessions started per second at most, over all of them; null: a new one as soon as one ends. */
  ratePerSecond: number | null;
}

/** A module's `capacity:`: the run's settings and how often it runs per target. */
export interface CapacityModuleSettings extends CapacitySettings {
  everyMs: number;
}

/** Everything one capacity run of one target needs, resolved up front (src/capacity/plan.ts makes them). */
export interface CapacityPlan extends CapacitySettings {
  url: string;
  host: string;
  port: number;
  /** smtps://: TLS at connect, before the greeting. */
  implicitTls: boolean;
  tlsParams: TlsParams;
  /** A certificate that does not verify ends the session (`error`); false for opportunistic TLS and `insecure`. */
  requireVerified: boolean;
  ehlo: string;
  ipFamily: 4 | 6 | null;
  sourceAddress: string | null;
  /** Longest wait for the connect, one reply or the handshake. */
  phaseTimeoutMs: number;
  /** Longest one session may take, connect to QUIT; also the grace the run gets after `durationMs`. */
  sessionTimeoutMs: number;
}

/**
 * p50, p95, max and mean of one phase over the sessions that completed it with the answer wanted (a 220 greeting,
 * a 250 to EHLO, a handshake), in milliseconds: a refusal's time is not the server's time to serve.
 */
export interface CapacityPhaseStats {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

/** The first 421: where it came, what it said, how many other sessions of ours were open then. */
export interface CapacityStop {
  phase: CapacityPhase;
  /** The reply, one line, control bytes escaped. */
  reply: string;
  /** Our other sessions connected when it arrived (the one it refused not counted). */
  openSessions: number;
  /** Of those, the ones past a 220 greeting: what the server was serving when it said no. */
  okSessions: number;
  /** Milliseconds into the run. */
  atMs: number;
}

/** A kind of failure seen, with how often: the first few distinct ones are kept. */
export interface CapacityProblem {
  result: Exclude<CapacityResult, 'accepted'>;
  phase: CapacityPhase;
  message: string;
  count: number;
}

/** The outcome of one capacity run (`capacity --format json`; docs/capacity.md). */
export interface CapacityReport {
  /** The target URL, normalised. */
  url: string;
  /** The address the sessions connected to; null when the name did not resolve. */
  address: string | null;
  loopback: boolean;
  sessions: number;
  until: CapacityUntil;
  durationMs: number;
  ratePerSecond: number | null;
  startedAt: string;
  /** How long the run took, first connect to last close. */
  elapsedMs: number;
  /** No session ended other than accepted, at least one did, and the run was not interrupted. */
  ok: boolean;
  /** Sessions started (all results, cancelled ones too). */
  started: number;
  results: Record<CapacityResult, number>;
  /** The most sessions open at once past a 220 greeting. */
  maxConcurrentOk: number;
  /** Per phase, over the sessions that completed it as wanted; a phase none completed is absent. */
  phases: Partial<Record<CapacityPhase, CapacityPhaseStats>>;
  /** The first 421, which stopped the run; null when none came. */
  stoppedBy421: CapacityStop | null;
  /** The first few distinct failures, with their counts. */
  problems: CapacityProblem[];
  /** Stopped from outside (Ctrl-C, shutdown): sessions cut short are in no result. */
  interrupted: boolean;
  /** Why no session could start (the name did not resolve), else null. */
  failure: string | null;
}
