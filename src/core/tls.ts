/** TLS vocabulary shared by plans, config and sessions; the handshake itself is smtp/tls.ts. */
export type TlsMode = 'none' | 'opportunistic' | 'starttls' | 'implicit';
export const TLS_MODES: readonly TlsMode[] = ['none', 'opportunistic', 'starttls', 'implicit'];

export type TlsMinVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** `tls_config.min_version` / `--tls-min-version` names (blackbox_exporter's) → Node's. */
export const MIN_VERSION_NAMES = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const satisfies Record<string, TlsMinVersion>;
export type MinVersionName = keyof typeof MIN_VERSION_NAMES;

/** Certificate days: under `warning` a warning, under `critical` a failure (check_smtp -D warn,crit). */
export interface CertDays {
  warning: number | null;
  critical: number | null;
}

/** `14` or `14,7` (check_smtp's -D); a message when it is neither, or when the levels are the wrong way round. */
export function parseCertDays(text: string): CertDays | string {
  const m = /^\s*(\d{1,6})\s*(?:,\s*(\d{1,6})\s*)?$/.exec(text);
  if (!m) return `"${text}" is not DAYS or WARN,CRIT (e.g. 14 or 14,7)`;
  return certDaysProblem({ warning: Number(m[1]), critical: m[2] === undefined ? null : Number(m[2]) });
}

/** The levels, or why they cannot stand: the critical level must not be over the warning level. */
export function certDaysProblem(d: CertDays): CertDays | string {
  if (d.warning !== null && d.critical !== null && d.critical > d.warning) {
    return `the critical level (${d.critical}) must not be over the warning level (${d.warning})`;
  }
  return d;
}

export interface TlsParams {
  /** Name the certificate must match; also sent as SNI unless it is an IP address. */
  servername: string;
  ca?: string | Buffer | undefined;
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  minVersion?: TlsMinVersion | undefined;
  /** Verification off on purpose (--insecure): the handshake still records why the certificate is not trusted. */
  insecure: boolean;
}
