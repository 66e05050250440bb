/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all interfaces); null when it is not one. */
export function parseListenAddress(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  if (!m || Number(m[3]) > 65535) return null;
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}
