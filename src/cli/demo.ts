import { makePlan, makeSend } from '../core/plan.js';
import { DEMO_CERT } from '../demo/cert.js';
import { DEMO_DOMAIN, DEMO_PASSWORD, DEMO_USER, startDemoServer } from '../demo/server.js';
import { runCheck, systemDeps } from '../runner/run.js';
import { choiceFlag, parseFlags } from './args.js';
import { DEMO_HELP } from './help.js';
import type { CliIo } from './io.js';
import { REPORTERS } from './reporters/index.js';

const DEMO_FLAGS = { format: { type: 'string' }, transcript: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

/** `smtp-probe demo`: an in-process SMTP server and a full check against it. */
export async function demoCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('demo', argv, DEMO_FLAGS);
  if (values.help) {
    io.stdout(DEMO_HELP);
    return 0;
  }
  const format = choiceFlag('format', values.format, ['text', 'json'] as const, 'text');
  const server = await startDemoServer();
  io.stderr(`demo SMTP server listening on 127.0.0.1:${server.port}\n`);
  try {
    const plan = makePlan({
      name: 'demo',
      host: '127.0.0.1',
      port: server.port,
      tls: 'starttls',
      tlsParams: { servername: 'localhost', ca: DEMO_CERT, insecure: false },
      ehlo: `probe.${DEMO_DOMAIN}`,
      auth: { username: DEMO_USER, password: DEMO_PASSWORD, mechanism: null, allowPlaintext: false },
      send: makeSend({ from: DEMO_USER, to: [DEMO_USER] }),
      transcript: true,
    });
    const result = await runCheck(plan, systemDeps(io.signal));
    const report = { ok: result.ok, results: [result] };
    const options = { transcript: values.transcript ?? format === 'text', minCertDays: null };
    io.stdout(REPORTERS[format].render(report, options));
    return REPORTERS[format].exitCode(report, options);
  } finally {
    await server.close();
  }
}
