/** The CLI in-process: the same code path as the binary (`runCli`), its output collected, without a process per case. */
import { runCli } from '../../src/cli/cli.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}
