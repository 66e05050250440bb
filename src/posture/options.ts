/**
 * Each posture check's options from its config keys as a module's `posture:` gives them (under the check's name,
 * the shape of the check's `options(kit)`), or as the command's flags make them: every default filled in here,
 * once, by the check's own converter.
 */
import type { PostureModuleSettings } from '../core/posture.js';
import { certificateOptions } from '../../checks/posture/certificate.js';
import { dnsblOptions, type DnsblOptions } from '../../checks/posture/dnsbl.js';
import { DEFAULT_SMTP_EXPOSURE_OPTIONS, type SmtpExposureOptions } from '../../checks/posture/exposure.js';
import { DEFAULT_MTA_STS_OPTIONS } from '../../checks/posture/mta-sts.js';
import { openRelayOptions } from '../../checks/posture/open-relay.js';
import { starttlsInjectionOptions } from '../../checks/posture/starttls-injection.js';
import type { VerifyOptions } from '../../checks/posture/verify.js';

export interface PostureOptions {
  /** The MTA-STS policy fetch, all of it (its trust anchors and `--connect-to` are the run's). */
  mtaStsTimeoutMs: number;
  /** The SMTP exposure checks' (the certificate's judged as of `--at`). */
  smtp: SmtpExposureOptions;
  dnsbl: DnsblOptions;
}

type Raw = PostureModuleSettings['options'];

/** The options of every check from `raw` (what the config or the flags gave), as of `at` (ms; null: now). */
export function postureOptions(raw: Raw, at: number | null): PostureOptions {
  const keys = <T>(check: keyof Raw): T => (raw[check] ?? {}) as T;
  const verify = (check: 'vrfy' | 'expn'): VerifyOptions => ({ names: keys<{ names?: string[] }>(check).names ?? DEFAULT_SMTP_EXPOSURE_OPTIONS[check].names });
  return {
    mtaStsTimeoutMs: keys<{ timeout_ms?: number }>('mta_sts').timeout_ms ?? DEFAULT_MTA_STS_OPTIONS.timeoutMs,
    smtp: {
      certificate: certificateOptions(keys('certificate'), at),
      starttlsInjection: starttlsInjectionOptions(keys('starttls_injection')),
      vrfy: verify('vrfy'),
      expn: verify('expn'),
      openRelay: openRelayOptions(keys('open_relay')),
    },
    dnsbl: dnsblOptions(keys('dnsbl')),
  };
}
