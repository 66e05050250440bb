import { standardExit, type Reporter } from './reporter.js';

/** The result record (docs/result-record.schema.json). Transcripts only when asked for. */
export const json: Reporter = {
  render(report, o) {
    const results = o.transcript ? report.results : report.results.map(({ transcript: _t, ...r }) => r);
    return `${JSON.stringify({ ok: report.ok, results }, null, 2)}\n`;
  },
  exitCode: standardExit,
};
