/**
 * Every default smtp-probe applies, once: the config's `global:`, a module's settings, the CLI's flags, alert
 * rules and receivers all fall back to these values (README "Config" documents them).
 */
export const DEFAULTS = {
  /** global.interval */
  intervalMs: 60_000,
  /** global.timeout: one run's deadline. */
  timeoutMs: 10_000,
  /** global.phase_timeout: the longest wait for one reply, connect or handshake. */
  phaseTimeoutMs: 5_000,
  /** global.concurrency: runs at once. */
  concurrency: 64,
  /** global.workers: threads that run the checks; auto = the machine's cores (os.availableParallelism()) less one, at least 1, at most maxAutoWorkers. */
  workers: 'auto',
  maxAutoWorkers: 8,
  /** global.listen */
  listen: ':9469',
  /** global.phase_histograms: per module, not per target, so that /metrics does not grow with the targets. */
  phaseHistograms: 'module',
  /** global.state_file */
  stateFile: '/var/lib/smtp-probe/state.json',
  /** global.history: runs kept per target (the status page's bar, `/api/v1/targets/{name}`). */
  history: 100,
  minHistory: 10,
  maxHistory: 10_000,
  /** global.web: the HTTP server's limits (README "Running as a monitor"). */
  web: {
    /** Open connections at once; at the limit the oldest one without a request in flight is closed to make room. */
    maxConnections: 512,
    /** /probe runs at once; one more answers 503 with Retry-After. */
    maxConcurrentProbes: 32,
    /** A request's headers must arrive within this (slowloris). */
    headerTimeoutMs: 5_000,
    /** The whole request (headers and body) must arrive within this; the answer may take longer. */
    requestTimeoutMs: 30_000,
    /** An idle keep-alive connection is closed after this. */
    keepAliveTimeoutMs: 5_000,
    /** POST /-/reload is served. */
    reload: true,
  },
  /** max_mx / --max-mx: the MX hosts of an mx:// target probed (the first N by preference). */
  maxMx: 10,
  /** The module a target without `module:` uses, and the one `check URL` runs under. */
  module: 'default',
  /** EHLO name of a plan built without one (config and CLI use the machine's FQDN instead). */
  ehlo: 'localhost',
  /** Between attempts of `check --retries`. */
  retryDelayMs: 500,
  /** The test message. */
  send: {
    deliver: true,
    subject: 'smtp-probe test message',
    body: 'This message was sent by smtp-probe to check that this mail server accepts mail.\r\nIt can be deleted.\r\n',
  },
  /** Reading the test message back (module `roundtrip:`, `check --mailbox`). */
  roundtrip: {
    timeoutMs: 60_000,
    /** Between mailbox polls (IMAP IDLE wakes sooner). */
    pollMs: 1000,
    /** `check` polls faster: one run, someone waiting at a terminal. */
    cliPollMs: 500,
    /** roundtrip.max_messages: messages looked at per mailbox (folder), the newest first. */
    maxMessages: 5000,
  },
  /** alerts.defaults */
  alerts: {
    failureThreshold: 3,
    successThreshold: 2,
    reminderIntervalMs: 3_600_000,
    sendResolved: true,
    /** An expiring certificate does not flap: one run that sees it is enough unless the rule says otherwise. */
    certificateFailureThreshold: 1,
    /** A posture run comes every few hours and its findings do not flap: one run fires and one run resolves. */
    postureFailureThreshold: 1,
    postureSuccessThreshold: 1,
    /** alerts.isolated: a storm must hold this many runs of each target (one round of failures never pages)... */
    isolatedFailureThreshold: 2,
    /** ...and ends once the targets have answered this many runs in a row. */
    isolatedSuccessThreshold: 1,
  },
  /** A receiver without `timeout:`. */
  receiverTimeoutMs: 10_000,
  /** `smtp-probe capacity` and a module's `capacity:` (docs/capacity.md). */
  capacity: {
    sessions: 3,
    until: 'ehlo',
    durationMs: 30_000,
    /** A module's capacity.every: at most one capacity run per target this often. */
    everyMs: 3_600_000,
    /** Sessions at once at most: to a loopback address, and to any other (`--allow-remote`, a module's capacity). */
    maxLoopbackSessions: 100,
    maxSessions: 10,
    /** Without --allow-remote, a target that is not loopback: sessions at once, and sessions started per second. */
    remoteSessions: 3,
    remoteRatePerSecond: 1,
    /** `--rate` (and capacity.rate) at most, sessions started per second. */
    maxRatePerSecond: 1000,
    /** Between the first sessions' starts when no rate is given: they do not all start at once. */
    staggerMs: 25,
    /** Longest wait for the answer to QUIT. */
    quitWaitMs: 1000,
    /** Distinct failures a report keeps. */
    maxProblems: 5,
  },
  /** `smtp-probe posture`. */
  posture: {
    /** SMTP port of the MX hosts unless DOMAIN:PORT says another. */
    port: 25,
    /** One DNS question (UDP and the TCP retry together). */
    dnsTimeoutMs: 5_000,
    /** Longest wait for any single SMTP connect, reply or handshake. */
    smtpTimeoutMs: 15_000,
    /** A module's posture.every: at most one posture run per target this often. */
    everyMs: 6 * 3_600_000,
    /** A module's posture.every at least: a run asks DNS, fetches a policy and opens sessions to every address. */
    minEveryMs: 1_000,
  },
} as const;
