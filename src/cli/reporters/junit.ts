import { describeFailure, type CheckResult } from '../../core/result.js';
import { standardExit, type Reporter } from './reporter.js';

/** JUnit XML for CI systems: one testcase per result (target, or MX host); a failure carries phase, reason, code and message. */
export const junit: Reporter = {
  render(report, o) {
    const failures = report.results.filter((r) => !r.ok).length;
    const time = secs(report.results.reduce((n, r) => n + r.durationMs, 0));
    const cases = report.results.map((r) => testcase(r, o.transcript));
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<testsuites name="smtp-probe" tests="${report.results.length}" failures="${failures}" time="${time}">`,
      `  <testsuite name="smtp-probe check" tests="${report.results.length}" failures="${failures}" errors="0" time="${time}">`,
      ...cases,
      '  </testsuite>',
      '</testsuites>',
      '',
    ].join('\n');
  },
  exitCode: standardExit,
};

function testcase(r: CheckResult, transcript: boolean): string {
  const name = r.mx ? `${r.target} (MX ${r.mx.host})` : r.target;
  // No dots in classname: Jenkins reads "a.b" as package a, class b, and would make a tree of host names.
  const lines = [`    <testcase classname="smtp-probe" name="${esc(name)}" time="${secs(r.durationMs)}">`];
  if (r.failure) {
    const f = r.failure;
    const phases = r.phases.map((p) => `${p.phase} ${p.ok ? 'ok' : 'FAIL'} ${p.code ?? ''} ${p.durationMs}ms`).join('\n');
    lines.push(`      <failure type="${esc(f.reason)}" message="${esc(describeFailure(f))}">${esc(`${describeFailure(f)}\n\n${phases}`)}</failure>`);
  }
  const out = [...r.warnings.map((w) => `warning: ${w}`)];
  if (transcript && r.transcript) out.push(...r.transcript.map((l) => `${l.t}ms ${l.dir}: ${l.line}`));
  if (out.length > 0) lines.push(`      <system-out>${esc(out.join('\n'))}</system-out>`);
  lines.push('    </testcase>');
  return lines.join('\n');
}

function secs(msValue: number): string {
  return (msValue / 1000).toFixed(3);
}

/** XML text and attribute escaping; characters XML 1.0 forbids are dropped. */
export function esc(s: string): string {
  return s
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
