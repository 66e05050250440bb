/** SASL mechanisms for SMTP AUTH (RFC 4954); the exchanges themselves are smtp/sasl.ts. */
export const SASL_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];
