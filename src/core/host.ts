import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * This machine's fully qualified name, for EHLO and the default sender: the hostname when it has a dot, else a
 * dotted alias of it in /etc/hosts, else the bare hostname. No network lookup, so start-up stays fast.
 */
export function machineFqdn(hostsFile = '/etc/hosts'): string {
  const name = os.hostname();
  if (name.includes('.')) return name;
  try {
    for (const raw of readFileSync(hostsFile, 'utf8').split('\n')) {
      const words = raw.replace(/#.*/, '').trim().split(/\s+/).slice(1);
      if (!words.includes(name)) continue;
      const fqdn = words.find((w) => w.startsWith(`${name}.`));
      if (fqdn) return fqdn;
    }
  } catch {
    // no hosts file: the bare name will do
  }
  return name;
}
