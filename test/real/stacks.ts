/**
 * Whether the real stacks a suite needs are up (their `env` output evaluated): under CI a missing stack is an error,
 * elsewhere the suite is skipped with a warning saying how to start it.
 */
const HOW = {
  dns: ['DNSSTACK_SERVER', 'bash test/real/dnsstack.sh start'],
  mail: ['MAILSTACK_HOST', 'bash test/real/mailstack.sh start'],
} as const;

export function stacksUp(suite: string, ...stacks: (keyof typeof HOW)[]): boolean {
  const missing = stacks.filter((s) => !process.env[HOW[s][0]]);
  if (missing.length === 0) return true;
  const names = missing.map((s) => HOW[s][0]).join(' or ');
  const how = `${missing.map((s) => HOW[s][1]).join('; ')}; eval their \`env\` output`;
  if (process.env.CI) throw new Error(`${names} not set under CI: ${how}`);
  console.warn(`[${suite}] ${names} not set: skipped (${how})`);
  return false;
}
