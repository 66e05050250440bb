/**
 * Label names and bounded label values for the metrics (docs/metrics.md). Raw server text never becomes
 * a label value: phases and reasons come from the fixed vocabularies, TLS versions from a short list, MX host
 * names only when they are well-formed host names.
 */
import { createHash } from 'node:crypto';
import { FAILURE_REASONS, PHASES, WARNING_KINDS, type FailureReason, type Phase, type WarningKind } from '../core/result.js';

/**
 * Label names the metrics use themselves (`le`: the histograms' bucket label); a static label from the
 * config cannot take one of them. (`job` and `instance` are allowed: Prometheus keeps such target labels as
 * `exported_job`/`exported_instance`.)
 */
export const RESERVED_LABEL_NAMES: ReadonlySet<string> = new Set([
  'target', 'mx_host', 'phase', 'reason', 'result', 'version', 'kind', 'le',
]);

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Why `name` cannot be a static label name, or null when it can. */
export function staticLabelNameProblem(name: string): string | null {
  if (!LABEL_NAME.test(name)) return `"${name}" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)`;
  if (name.startsWith('__')) return `"${name}": label names starting with "__" are reserved by Prometheus`;
  if (RESERVED_LABEL_NAMES.has(name)) return `"${name}" is a label smtp-probe sets itself`;
  return null;
}

/** Sorted, de-duplicated static label names; throws (a programmer error: the config validates them) on a bad one. */
export function normalizeStaticLabelNames(names: readonly string[]): readonly string[] {
  const unique = [...new Set(names)].sort();
  const problems = unique.map(staticLabelNameProblem).filter((p): p is string => p !== null);
  if (problems.length > 0) throw new TypeError(`invalid static label names: ${problems.join('; ')}`);
  return Object.freeze(unique);
}

const PHASE_SET: ReadonlySet<string> = new Set(PHASES);
const REASON_SET: ReadonlySet<string> = new Set(FAILURE_REASONS);

export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && PHASE_SET.has(value);
}

/** A failure reason from the vocabulary; anything else is counted as `internal`. */
export function reasonLabel(value: unknown): FailureReason {
  return typeof value === 'string' && REASON_SET.has(value) ? (value as FailureReason) : 'internal';
}

const KIND_SET: ReadonlySet<string> = new Set(WARNING_KINDS);

/** The `kind` label of smtp_probe_warnings: a kind from the vocabulary, anything else `other`. */
export function warningKindLabel(value: unknown): WarningKind {
  return typeof value === 'string' && KIND_SET.has(value) ? (value as WarningKind) : 'other';
}

const TLS_VERSION = /^TLSv1(\.[0-3])?$|^SSLv3$/;
export type TlsVersionLabel = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' | 'SSLv3' | 'other';

/** The `version` label of the TLS info series: a protocol name Node reports, or `other`. */
export function tlsVersionLabel(version: string): TlsVersionLabel {
  return TLS_VERSION.test(version) ? (version as TlsVersionLabel) : 'other';
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * The `mx_host` label: the MX host name in lower case without the root dot; anything else (a hostile or broken
 * DNS answer) is `invalid-` and 12 hex digits of its SHA-256: bounded, stable across runs, and distinct for
 * different names (one `invalid` would let two hosts overwrite each other's series). The text itself is never shown.
 */
export function mxHostLabel(host: string): string {
  const name = host.toLowerCase().replace(/\.$/, '');
  return HOST_NAME.test(name) ? name : `invalid-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

/** The target's static labels, only those with a declared name (others would break the family's label set). */
export function staticLabels(labels: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) if (labels[n] !== undefined) out[n] = labels[n]!;
  return out;
}
