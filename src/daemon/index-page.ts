import { describeFailure, type CheckResult } from '../core/result.js';
import type { ConfiguredTarget } from '../config/resolve.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The small status page at `/`: every target with its last result. */
export function renderIndex(targets: readonly ConfiguredTarget[], results: ReadonlyMap<string, readonly CheckResult[]>, version: string): string {
  const rows = targets.flatMap((t) => (results.get(t.name) ?? [undefined]).map((r) => row(t, r)));
  return page(rows, version);
}

function row(t: ConfiguredTarget, r: CheckResult | undefined): string {
  const state = !r ? 'pending' : r.ok ? 'ok' : 'FAILED';
  const failure = r?.failure ? describeFailure(r.failure) : '';
  const name = r?.mx ? `${t.name} (MX ${r.mx.host})` : t.name;
  return `<tr class="${state}"><td>${esc(name)}</td><td>${esc(t.url)}</td><td>${esc(t.module)}</td><td>${state}</td>` +
    `<td>${r ? r.durationMs.toFixed(1) : ''}</td><td>${r ? esc(r.startedAt) : ''}</td><td>${esc(failure)}</td></tr>`;
}

function page(rows: string[], version: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>smtp-probe</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}
tr.FAILED td{background:#fdd}tr.ok td:nth-child(4){color:#070}</style></head>
<body><h1>smtp-probe ${esc(version)}</h1>
<p><a href="/metrics">metrics</a> · <a href="/healthz">health</a> · probe one target: <code>/probe?target=smtp://host:25&amp;module=default&amp;debug=true</code></p>
<table><tr><th>target</th><th>url</th><th>module</th><th>last result</th><th>ms</th><th>at</th><th>failure</th></tr>
${rows.join('\n')}
</table></body></html>
`;
}
