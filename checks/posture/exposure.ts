/**
 * The SMTP exposure checks as one table, for the `posture` command and the daemon: each check name → its run
 * function over one address of one MX host. Options come parsed (each check's own `options(kit)` keys, converted
 * by its options function) or default.
 */
import type { PostureFinding } from '../../src/core/posture.js';
import { runAuthBeforeTls } from './auth-before-tls.js';
import { DEFAULT_CERTIFICATE_OPTIONS, runCertificate, type CertificateOptions } from './certificate.js';
import { DEFAULT_EXPN_OPTIONS, runExpn, type ExpnOptions } from './expn.js';
import { DEFAULT_OPEN_RELAY_OPTIONS, runOpenRelay, type OpenRelayOptions } from './open-relay.js';
import type { SmtpDeps, SmtpTarget } from './smtp.js';
import { runStarttls } from './starttls.js';
import { DEFAULT_STARTTLS_INJECTION_OPTIONS, runStarttlsInjection, type StarttlsInjectionOptions } from './starttls-injection.js';
import { runTlsCiphers } from './tls-ciphers.js';
import { runTlsVersions } from './tls-versions.js';
import { DEFAULT_VRFY_OPTIONS, runVrfy, type VrfyOptions } from './vrfy.js';

export interface SmtpExposureOptions {
  certificate: CertificateOptions;
  starttlsInjection: StarttlsInjectionOptions;
  vrfy: VrfyOptions;
  expn: ExpnOptions;
  openRelay: OpenRelayOptions;
}

export const DEFAULT_SMTP_EXPOSURE_OPTIONS: SmtpExposureOptions = {
  certificate: DEFAULT_CERTIFICATE_OPTIONS,
  starttlsInjection: DEFAULT_STARTTLS_INJECTION_OPTIONS,
  vrfy: DEFAULT_VRFY_OPTIONS,
  expn: DEFAULT_EXPN_OPTIONS,
  openRelay: DEFAULT_OPEN_RELAY_OPTIONS,
};

type Runner = (t: SmtpTarget, deps: SmtpDeps, o: SmtpExposureOptions) => Promise<PostureFinding[]>;

/** In POSTURE_CHECKS order. */
export const SMTP_EXPOSURE_CHECKS = {
  starttls: (t, deps) => runStarttls(t, deps),
  tls_versions: (t, deps) => runTlsVersions(t, deps),
  tls_ciphers: (t, deps) => runTlsCiphers(t, deps),
  certificate: (t, deps, o) => runCertificate(t, deps, o.certificate),
  starttls_injection: (t, deps, o) => runStarttlsInjection(t, deps, o.starttlsInjection),
  auth_before_tls: (t, deps) => runAuthBeforeTls(t, deps),
  vrfy: (t, deps, o) => runVrfy(t, deps, o.vrfy),
  expn: (t, deps, o) => runExpn(t, deps, o.expn),
  open_relay: (t, deps, o) => runOpenRelay(t, deps, o.openRelay),
} satisfies Record<string, Runner>;

export type SmtpExposureCheck = keyof typeof SMTP_EXPOSURE_CHECKS;

/** The named checks (default: all) on one address, one after another (each opens its own connections). */
export async function runSmtpExposure(
  t: SmtpTarget,
  deps: SmtpDeps,
  checks: readonly SmtpExposureCheck[] = Object.keys(SMTP_EXPOSURE_CHECKS) as SmtpExposureCheck[],
  o: SmtpExposureOptions = DEFAULT_SMTP_EXPOSURE_OPTIONS,
): Promise<PostureFinding[]> {
  const out: PostureFinding[] = [];
  for (const name of Object.keys(SMTP_EXPOSURE_CHECKS) as SmtpExposureCheck[]) {
    if (checks.includes(name)) out.push(...(await SMTP_EXPOSURE_CHECKS[name](t, deps, o)));
  }
  return out;
}
