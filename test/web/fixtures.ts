/** Hand-made StatusSources for the page and badge tests: any targets, histories, records and alert events. */
import type { CheckResult, TranscriptLine } from '../../src/core/result.js';
import type { AlertsView, RunSummary, StatusSource, TargetDetail } from '../../src/history/view.js';
import { fullSuccess, rcptFailure } from '../metrics/fixtures.js';

/** `n` runs a minute apart from 2026-12-05T05:00:00Z; `fail(i)` gives the failure text of run i, or null. */
export function runs(n: number, fail: (i: number) => string | null = () => null): RunSummary[] {
  return Array.from({ length: n }, (_, i) => {
    const failure = fail(i);
    return { startedAt: new Date(Date.UTC(2026, 11, 5, 5, i)).toISOString(), ok: failure === null, durationMs: 100 + i, failure };
  });
}

export function target(name: string, over: Partial<TargetDetail> = {}): TargetDetail {
  const history = over.history ?? runs(5);
  const last = history.at(-1);
  return {
    name, url: 'smtp://mail.example.test:587', module: 'submission', labels: { env: 'test' },
    status: !last ? 'pending' : last.ok ? 'ok' : 'failing', lastRun: last?.startedAt ?? null,
    uptime: { '1h': 1, '24h': 0.995 }, latencyMs: { p50: 95.2, p95: 120.7 }, certDaysLeft: 67, firingAlerts: [],
    history, lastResult: null, lastFailure: null, lastSuccess: null, lastResults: [], posture: null,
    ...over,
  };
}

export const RCPT_TRANSCRIPT: TranscriptLine[] = [
  { t: 0.3, dir: '*', line: 'connected to 192.0.2.10:25' },
  { t: 1.8, dir: 'S', line: '220 mail.example.test ESMTP' },
  { t: 1.9, dir: 'C', line: 'EHLO probe.example.test' },
  { t: 2.7, dir: 'S', line: '250-mail.example.test' },
  { t: 2.7, dir: 'S', line: '250 PIPELINING' },
  { t: 2.8, dir: 'C', line: 'MAIL FROM:<probe@example.test>' },
  { t: 3.5, dir: 'S', line: '250 2.1.0 Ok' },
  { t: 3.6, dir: 'C', line: 'RCPT TO:<nobody@example.test>' },
  { t: 4.3, dir: 'S', line: '550 5.1.1 <nobody@example.test>: User unknown' },
];

/** A failing target: the last run failed at rcpt with 550 5.1.1, its transcript kept. */
export function rcptFailing(name: string, over: Partial<TargetDetail> = {}): TargetDetail {
  const failed: CheckResult = { ...rcptFailure(name), startedAt: '2026-12-05T05:04:00.000Z', transcript: RCPT_TRANSCRIPT };
  const history = runs(5, (i) => (i >= 3 ? 'rcpt (reply): 550 5.1.1 <nobody@example.test>: User unknown' : null));
  return target(name, { history, lastResult: failed, lastFailure: failed, ...over });
}

export function healthy(name: string, over: Partial<TargetDetail> = {}): TargetDetail {
  const r: CheckResult = { ...fullSuccess(name), startedAt: '2026-12-05T05:04:00.000Z', transcript: [{ t: 1, dir: 'S', line: '220 ok' }] };
  return target(name, { lastResult: r, ...over });
}

export function source(targets: TargetDetail[], alerts: AlertsView = { firing: [], events: [] }): StatusSource {
  return {
    version: '0.2.0-test',
    targets: () => targets.map(({ history: _h, lastResult: _r, lastFailure: _f, lastSuccess: _s, lastResults: _m, ...view }) => view),
    details: (only) => targets.filter((t) => only === undefined || t.status === only),
    target: (name) => targets.find((t) => t.name === name) ?? null,
    alerts: () => alerts,
  };
}

/**
 * A small XML well-formedness check: tags nest and close, attributes are quoted, no `<` or bare `&` in text or
 * attribute values, entities are the XML ones or numeric. Returns the problem, or null.
 */
export function xmlProblem(xml: string): string | null {
  const stack: string[] = [];
  const re = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g;
  let at = 0;
  const textOk = (s: string): boolean => !/[<>]/.test(s) && !/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(s);
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    if (!textOk(xml.slice(at, m.index))) return `bad text before offset ${m.index}: ${JSON.stringify(xml.slice(at, m.index))}`;
    at = m.index + m[0].length;
    if (m[2] === undefined) continue;
    if (!textOk((m[3] ?? '').replace(/="([^"]*)"/g, (_, v: string) => (textOk(v) ? '=""' : '=<'))) ) return `bad attribute in ${m[0]}`;
    if (m[1]) {
      if (stack.pop() !== m[2]) return `</${m[2]}> closes nothing open`;
    } else if (!m[4]) stack.push(m[2]);
  }
  if (!textOk(xml.slice(at))) return 'bad text at the end';
  return stack.length ? `unclosed <${stack.join('>, <')}>` : null;
}
