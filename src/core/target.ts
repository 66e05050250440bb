import { isIP } from 'node:net';
import type { TlsMode } from './tls.js';

export interface TargetUrl {
  scheme: 'smtp' | 'smtps' | 'mx';
  /** Host name or IP address, IPv6 without brackets. */
  host: string;
  port: number;
  /** TLS mode the scheme implies. */
  tls: TlsMode;
  /** Normalised form, e.g. `smtp://[::1]:25`. */
  url: string;
}

const DEFAULT_PORT = { smtp: 25, smtps: 465, mx: 25 } as const;

/** `smtp://host[:port]`, `smtps://host[:port]`, `mx://domain[:port]`. Returns a message when it is not one. */
const CREDENTIAL_ADVICE = {
  cli: 'use --auth-user with --auth-pass-env or --auth-pass-file',
  config: "put username and password_file in the module's auth:",
} as const;

export function parseTargetUrl(text: string, context: keyof typeof CREDENTIAL_ADVICE = 'cli'): TargetUrl | string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text.trim());
  if (!m) return `"${text}" is not a target URL (smtp://host[:port], smtps://host[:port] or mx://domain[:port])`;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'smtp' && scheme !== 'smtps' && scheme !== 'mx') {
    return `"${text}": unknown scheme ${scheme}:// (use smtp://, smtps:// or mx://)`;
  }
  let rest = m[2]!;
  if (rest.includes('@')) {
    const masked = `${scheme}://${rest.replace(/^([^:@/]*)(:[^@]*)?@/, (_m, user: string, pass?: string) => `${user}${pass ? ':***' : ''}@`)}`;
    return `"${masked}": credentials do not belong in a URL; ${CREDENTIAL_ADVICE[context]}`;
  }
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (/[/?#]/.test(rest)) return `"${text}": a target URL has no path, query or fragment`;
  const hp = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(rest);
  if (!hp) return `"${text}": cannot read host and port (IPv6 addresses go in brackets: smtp://[::1]:25)`;
  const host = (hp[1] ?? hp[2] ?? '').toLowerCase();
  if (hp[1] && isIP(hp[1]) !== 6) return `"${text}": ${hp[1]} is not an IPv6 address`;
  if (!hp[1] && !isIP(host) && !/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/.test(host)) {
    return `"${text}": "${host}" is not a valid host name`;
  }
  const port = hp[3] === undefined ? DEFAULT_PORT[scheme] : Number(hp[3]);
  if (port < 1 || port > 65535) return `"${text}": port ${hp[3]} is out of range`;
  const shown = host.includes(':') ? `[${host}]` : host;
  return { scheme, host, port, tls: scheme === 'smtps' ? 'implicit' : 'opportunistic', url: `${scheme}://${shown}:${port}` };
}
