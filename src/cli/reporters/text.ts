import { describeFailure, type CheckResult, type RoundtripInfo, type TlsInfo } from '../../core/result.js';
import { ms, standardExit, type Reporter } from './reporter.js';

/** A readable phase table per target, for people at a terminal. */
export const text: Reporter = {
  render(report, o) {
    const blocks = report.results.map((r) => renderResult(r, o.transcript));
    const failed = report.results.filter((r) => !r.ok).length;
    const summary = failed === 0 ? `all ${report.results.length} passed` : `${failed} of ${report.results.length} failed`;
    return `${blocks.join('\n')}\n${summary}\n`;
  },
  exitCode: standardExit,
};

function renderResult(r: CheckResult, transcript: boolean): string {
  const out: string[] = [];
  const verdict = r.ok ? 'OK' : 'FAILED';
  const attempts = r.attempts > 1 ? `, attempt ${r.attempts}` : '';
  out.push(`${r.target}  ${verdict}  ${ms(r.durationMs)} ms${attempts}`);
  if (r.target !== r.url) out.push(`  url ${r.url}`);
  if (r.mx) out.push(`  mx  ${r.mx.host} (preference ${r.mx.preference}${r.mx.address ? `, ${r.mx.address}` : ''})`);
  const rows = r.phases.map((p) => [
    p.phase,
    p.ok ? 'ok' : 'FAIL',
    p.code === undefined ? '' : String(p.code),
    p.enhancedCode ?? '',
    ms(p.durationMs),
    [p.address, p.recipient, p.mechanism, p.detail].filter(Boolean).join('  '),
  ]);
  out.push(...table([['phase', 'result', 'code', 'status', 'ms', ''], ...rows]).map((l) => `  ${l}`));
  if (r.banner !== null) out.push(`  banner   ${r.banner.split('\n')[0]}`);
  if (r.capabilities) out.push(`  ehlo     ${Object.keys(r.capabilities).join(' ') || '(none)'}`);
  if (r.tls) out.push(`  tls      ${describeTls(r.tls)}`);
  if (r.roundtrip) out.push(...renderRoundtrip(r.roundtrip));
  for (const w of r.warnings) out.push(`  warning  ${w}`);
  if (r.failure) out.push(`  failure  ${describeFailure(r.failure)}`);
  if (transcript && r.transcript) {
    out.push('  transcript:');
    for (const l of r.transcript) out.push(`  ${ms(l.t).padStart(8)} ms  ${l.dir}: ${l.line}`);
  }
  return out.join('\n');
}

function renderRoundtrip(rt: RoundtripInfo): string[] {
  if (rt.deliveredMs === null) return ['  roundtrip  not delivered in time'];
  const transit = rt.transitMs === null ? '' : `; transit per Received headers ${ms(rt.transitMs)} ms`;
  const out = [`  roundtrip  delivered in ${ms(rt.deliveredMs)} ms to ${rt.folder ?? '?'}${transit}`];
  if (rt.hops.length > 0) {
    const rows = rt.hops.map((h) => [String(h.index), h.from ?? '', h.by ?? '', h.with ?? '', h.delayMs === null ? '' : ms(h.delayMs), h.date ?? '']);
    out.push(...table([['hop', 'from', 'by', 'with', 'delay ms', 'date'], ...rows], 4).map((l) => `    ${l}`));
  }
  const a = rt.authResults;
  if (a) out.push(`  auth       spf=${a.spf ?? '-'} dkim=${a.dkim ?? '-'} dmarc=${a.dmarc ?? '-'}${a.authservId ? ` (by ${a.authservId})` : ''}`);
  return out;
}

function describeTls(t: TlsInfo): string {
  const trust = t.verified ? 'verified' : t.verificationSkipped ? `NOT verified (skipped: ${t.verifyError})` : `NOT verified (${t.verifyError})`;
  const days = t.daysLeft === null ? '' : `, expires ${t.validTo?.slice(0, 10)} (${t.daysLeft} days)`;
  return `${t.version} ${t.cipher}, certificate ${t.subject ?? '?'} ${trust}${days}`;
}

/** Columns padded to their widest cell; column `right` is right-aligned (durations). */
function table(rows: string[][], right = 4): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === right ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd());
}
