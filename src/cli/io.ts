/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** Calls `fn` on SIGHUP until the returned function is called. */
  onHangup?: (fn: () => void) => () => void;
}
