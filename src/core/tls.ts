/** TLS vocabulary shared by plans, config and sessions; the handshake itself is smtp/tls.ts. */
export type TlsMode = 'none' | 'opportunistic' | 'starttls' | 'implicit';
export const TLS_MODES: readonly TlsMode[] = ['none', 'opportunistic', 'starttls', 'implicit'];

export type TlsMinVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

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
