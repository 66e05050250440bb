import { randomBytes } from 'node:crypto';
import { esc } from './escape.js';

/** The pages' stylesheet: plain CSS, light and dark by prefers-color-scheme, tables become cards on a phone. */
const CSS = `
:root{--bg:#fff;--fg:#1f2328;--mut:#59636e;--line:#d1d9e0;--card:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--pend:#818b98;--warn:#9a6700;--link:#0969da;--c:#0550ae;--s:#1f2328}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mut:#9198a1;--line:#3d444d;--card:#151b23;--ok:#3fb950;--bad:#f85149;--pend:#656c76;--warn:#d29922;--link:#4493f8;--c:#79c0ff;--s:#e6edf3}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;background:var(--bg);color:var(--fg)}
header,main,footer,#lost{max-width:1280px;margin:0 auto;padding:10px 16px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 14px;border-bottom:1px solid var(--line)}
h1{font-size:19px;margin:0}h1 a{color:inherit;text-decoration:none}
h2{font-size:16px;margin:22px 0 8px}
a{color:var(--link)}
.mut,footer{color:var(--mut)}footer{font-size:12px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
table{border-collapse:collapse;width:100%}
th,td{padding:7px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:12px;font-weight:600;color:var(--mut);white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.st{font-weight:600;white-space:nowrap}.st::before{content:"";display:inline-block;width:10px;height:10px;border-radius:50%;background:currentColor;margin-right:6px}
.ok{color:var(--ok)}.failing,.bad{color:var(--bad)}.pending{color:var(--pend)}.warn{color:var(--warn)}
.sum{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline;margin:6px 0 12px}.sum b{font-size:16px}
.tn{font-weight:600;word-break:break-word}.url{color:var(--mut);font-size:12px;word-break:break-all}
.why{color:var(--bad);font-size:12.5px;word-break:break-word;margin-top:2px}
.lbl{display:inline-block;border:1px solid var(--line);border-radius:9px;padding:0 6px;margin:3px 4px 0 0;font-size:11px;color:var(--mut);word-break:break-all}
.al{display:inline-block;background:var(--bad);color:#fff;border-radius:3px;padding:0 5px;margin:0 4px 2px 0;font-size:12px;white-space:nowrap}
.st+.mut{font-size:12px}
td.h{width:36%;min-width:160px}
.bar{display:flex;justify-content:flex-end;gap:1px;height:26px;padding:2px;background:var(--card);border:1px solid var(--line);border-radius:4px}
.bar i{flex:1 1 0;max-width:9px;min-width:1px;background:var(--ok);border-radius:1px;opacity:.85}
.bar i.f{background:var(--bad);opacity:1}.bar i:hover{opacity:.55}
.bar:empty::after{content:"no run yet";color:var(--mut);font-size:12px;margin:auto auto auto 4px}
.bar.big{height:38px}
tr.t.failing{background:color-mix(in srgb,var(--bad) 7%,transparent)}
.only-failing tr.t:not(.failing){display:none}
.none{color:var(--mut);padding:18px 8px}
#tip{position:absolute;z-index:9;max-width:min(460px,92vw);background:var(--fg);color:var(--bg);padding:5px 8px;border-radius:4px;font-size:12.5px;pointer-events:none;word-break:break-word}
#lost{color:var(--bad);font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:12px 24px}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:0}.kv dt{color:var(--mut)}.kv dd{margin:0;word-break:break-word}
figure.wf{margin:0;padding:8px 10px;border:1px solid var(--line);border-radius:6px;background:var(--card);min-width:0}
figcaption{font-weight:600;margin-bottom:6px}figcaption .mut{font-weight:400;font-size:12px}
.wf svg{display:block;font-size:12px;overflow:visible}.wf text{fill:var(--fg)}.wf .ms{fill:var(--mut)}
.wf rect.row{fill:transparent}.wf g:hover rect.row{fill:var(--line)}
.wf .ok .b{fill:var(--ok)}.wf .warn .b{fill:var(--warn)}.wf .fail .b{fill:var(--bad)}.wf .fail text{fill:var(--bad);font-weight:600}
pre.tr{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 10px;overflow-x:auto;line-height:1.5;margin:0}
pre.tr>span{display:block;white-space:pre-wrap;word-break:break-all}pre.tr .C{color:var(--c)}pre.tr .S{color:var(--s)}pre.tr .x{color:var(--mut)}
pre.tr .err{color:var(--bad);font-weight:600}pre.tr .t{color:var(--mut);user-select:none}
.badges img{vertical-align:middle;margin-right:6px}
.tw{overflow-x:auto}
details{margin:10px 0}summary{cursor:pointer;color:var(--link)}
@media (max-width:720px){
header,main,footer,#lost{padding:8px 10px}
table.targets thead{display:none}
table.targets,table.targets tbody,table.targets tr,table.targets td{display:block;width:auto}
table.targets tr{border:1px solid var(--line);border-radius:6px;margin:0 0 10px;padding:6px 10px}
table.targets td{border:0;padding:3px 0}
table.targets td[data-l]{display:inline-block;margin-right:14px}
table.targets td[data-l]::before{content:attr(data-l) " ";color:var(--mut);font-size:12px}
td.h{min-width:0}
table.ev th:nth-child(5),table.ev td:nth-child(5){display:none}
.grid{grid-template-columns:1fr}
}`;

/**
 * The pages' script, plain and small: a tooltip for the history cells and waterfall bars (hover, focus, tap), and on
 * the status page the filter without a reload and a refresh every 10 s (fetch the same URL, swap `<main>`, title and
 * icon; parsed in a `<template>`, so the answer's own style and script, under another nonce, are never applied).
 * The page reads fully without it.
 */
const JS = `(()=>{"use strict";
const tip=document.createElement("div");tip.id="tip";tip.hidden=true;document.body.append(tip);
function show(el){if(el.title){el.dataset.tip=el.title;el.removeAttribute("title")}
if(!el.dataset.tip)return;tip.textContent=el.dataset.tip;tip.hidden=false;
const r=el.getBoundingClientRect(),w=tip.offsetWidth;
tip.style.left=Math.max(4,Math.min(scrollX+r.left+r.width/2-w/2,scrollX+document.documentElement.clientWidth-w-4))+"px";
tip.style.top=(scrollY+r.bottom+6)+"px"}
const cell=e=>e.target instanceof Element?e.target.closest(".bar i"):null;
document.addEventListener("mouseover",e=>{const c=cell(e);c?show(c):tip.hidden=true});
document.addEventListener("click",e=>{const c=cell(e);if(c)show(c)});
const main=()=>document.getElementById("m");
const live=main()&&main().dataset.refresh;
if(!live)return;
const lost=document.getElementById("lost");
let busy=false;
const pick=(s,a,b)=>{const i=s.indexOf(a),j=i<0?-1:s.indexOf(b,i);return j<0?"":s.slice(i,j+b.length)};
async function refresh(){if(busy)return;busy=true;
try{const r=await fetch(location.pathname+location.search,{cache:"no-store",credentials:"same-origin"});
if(!r.ok)throw new Error(String(r.status));
const x=await r.text(),t=document.createElement("template");
t.innerHTML=pick(x,"<title>","</title>")+pick(x,'<link rel="icon"',">")+pick(x,'<main id="m"',"</main>");
const c=t.content,m=c.querySelector("main"),n=c.querySelector("title"),i=c.querySelector("link"),j=document.querySelector("link[rel=icon]");
if(m){main().replaceWith(m);tip.hidden=true}if(n)document.title=n.textContent;if(i&&j)j.href=i.href;lost.hidden=true}
catch(e){lost.hidden=false}finally{busy=false}}
document.addEventListener("click",e=>{const a=e.target instanceof Element?e.target.closest("a[data-filter]"):null;
if(!a)return;e.preventDefault();const only=a.dataset.filter==="1";
history.replaceState(null,"",only?"?failing=1":location.pathname);
main().classList.toggle("only-failing",only);a.dataset.filter=only?"0":"1";
a.textContent=only?"Show all":"Show only failing";refresh()});
setInterval(()=>{if(!document.hidden)refresh()},Number(live));
document.addEventListener("visibilitychange",()=>{if(!document.hidden)refresh()})})();`;

/** A fresh nonce for one response's inline style and script. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The headers of an HTML page: nothing but its own nonce'd style and script, images and fetches from the daemon
 * itself; no framing, no referrer.
 */
export function pageHeaders(nonce: string): Record<string, string> {
  return {
    'Content-Security-Policy':
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self' data:; connect-src 'self'; ` +
      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
  };
}

export interface Shell {
  title: string;
  nonce: string;
  version: string;
  /** The content of `<main id="m">`. */
  main: string;
  mainClass?: string;
  /** Refresh period in ms (status page); the page then also refreshes without JS, less often. */
  refreshMs?: number;
  /** The favicon's colour: red while anything fails. */
  failing: boolean;
}

/** A dot as the favicon (a data: URL, so the browser asks the daemon for no /favicon.ico). */
const favicon = (failing: boolean): string =>
  `data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%23${failing ? 'cf222e' : '2da44e'}'/%3E%3C/svg%3E`;

/** The frame every page shares: head with the CSP'd style, the header, `<main id="m">`, the footer, the script. */
export function shell(p: Shell): string {
  const n = esc(p.nonce);
  const refresh = p.refreshMs ? `<noscript><meta http-equiv="refresh" content="${Math.round((p.refreshMs * 3) / 1000)}"></noscript>` : '';
  const attrs = `${p.mainClass ? ` class="${esc(p.mainClass)}"` : ''}${p.refreshMs ? ` data-refresh="${p.refreshMs}"` : ''}`;
  return '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer">' +
    `<meta name="color-scheme" content="light dark"><title>${esc(p.title)}</title><link rel="icon" href="${favicon(p.failing)}">${refresh}<style nonce="${n}">${CSS}</style></head>\n` +
    `<body><header><h1><a href="/">smtp-probe</a></h1><span class="mut">${esc(p.version)}</span>` +
    '<nav class="mut"><a href="/">status</a> · <a href="/metrics">metrics</a> · <a href="/api/v1/targets">API</a> · <a href="/healthz">health</a></nav></header>\n' +
    '<p id="lost" hidden>The daemon does not answer: what you see may be out of date.</p>\n' +
    `<main id="m"${attrs}>${p.main}</main>\n` +
    '<footer>Times are UTC. Server-rendered; the page reads without JavaScript.</footer>\n' +
    `<script nonce="${n}">${JS}</script></body></html>\n`;
}
