"""The one stylesheet of the web pages, and the hash that lets the CSP allow exactly it.

It is inline (the pages load nothing from anywhere) and the only style on a page: the
markup uses classes, never ``style`` attributes, so the Content-Security-Policy allows this
text by its SHA-256 and nothing else. Colours name meanings (original, copy, rewrite,
credit) and are shared by the chart, the sparklines, the chips and the table, in a light
and a dark scheme.
"""

from __future__ import annotations

import base64
import hashlib

STYLESHEET = """
:root{--ink:#1b2130;--muted:#5b6476;--faint:#8b93a3;--line:#e2e6ee;--bg:#f4f5f8;
--card:#fff;--band:#f7f8fb;--link:#1d4ed8;--accent:#c2410c;--accent-bg:#fff4ec;
--copy:#64748b;--copy-bg:#f1f4f8;--rewrite:#2563eb;--rewrite-bg:#eef3ff;--credit:#7c3aed;
--other:#9ca3af;--shadow:0 1px 2px rgba(20,30,50,.06),0 2px 8px rgba(20,30,50,.04);
color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--ink:#e7e9ef;--muted:#a0a8b8;--faint:#737c8c;
--line:#2b3140;--bg:#12151b;--card:#1a1e27;--band:#1e2330;--link:#8ab4ff;--accent:#fb923c;
--accent-bg:#2d1d12;--copy:#94a3b8;--copy-bg:#222834;--rewrite:#6ea0ff;--rewrite-bg:#1b2540;
--credit:#b197fc;--shadow:none}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
-webkit-text-size-adjust:100%}
a{color:var(--link);text-decoration-thickness:1px;text-underline-offset:2px}
time{white-space:nowrap}
header.site,main,footer.site{max-width:64rem;margin:0 auto;padding:0 1.25rem}
header.site{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;
gap:.5rem 1.5rem;padding-top:1.1rem;padding-bottom:1.1rem}
header.site .brand{display:flex;align-items:center;gap:.55rem;font-size:1.15rem;
font-weight:700;color:var(--ink);text-decoration:none}
header.site .brand svg{flex:none}
header.site p{margin:.1rem 0 0;color:var(--muted);font-size:.88rem}
nav{display:flex;flex-wrap:wrap;gap:.35rem}
nav a{font-size:.85rem;padding:.2rem .6rem;border:1px solid var(--line);border-radius:1rem;
color:var(--muted);text-decoration:none;background:var(--card)}
nav a:hover{color:var(--ink);border-color:var(--faint)}
main{padding-bottom:1rem}
h1{font-size:1.75rem;line-height:1.25;margin:1.25rem 0 1rem;letter-spacing:-.01em;
overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:2rem 0 .75rem}
.back{margin:.5rem 0 0;font-size:.92rem}
.back a{text-decoration:none}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0 .75rem}
form.filters label{display:flex;flex-direction:column;gap:.15rem;font-size:.75rem;
color:var(--muted);text-transform:uppercase;letter-spacing:.04em;font-weight:600}
form.filters .q{flex:1 1 16rem}
form.filters .outlet{flex:0 1 12rem}
form.filters .size{flex:0 0 8.5rem}
form.filters input{font:inherit;font-size:1rem;text-transform:none;letter-spacing:0;
font-weight:400;padding:.45rem .65rem;border:1px solid var(--line);border-radius:.5rem;
background:var(--card);color:var(--ink);min-width:0;width:100%}
form.filters input:focus{outline:2px solid var(--rewrite);outline-offset:0;border-color:transparent}
form.filters .actions{display:flex;align-items:flex-end;gap:.75rem}
form.filters button{font:inherit;padding:.45rem 1.1rem;border-radius:.5rem;border:0;
background:var(--ink);color:var(--bg);cursor:pointer;font-weight:600}
form.filters .clear{font-size:.9rem;padding-bottom:.45rem}
.count{color:var(--muted);font-size:.9rem;margin:.25rem 0 1rem}
ol.stories{list-style:none;padding:0;margin:0}
li.story{display:grid;grid-template-columns:minmax(0,1fr) 14rem;align-items:start;gap:.4rem 1.5rem;
background:var(--card);border:1px solid var(--line);border-radius:.75rem;
box-shadow:var(--shadow);padding:1rem 1.2rem;margin:0 0 .8rem}
li.story.multi{border-left:4px solid var(--accent)}
li.story h2{margin:0;font-size:1.08rem;line-height:1.35}
li.story h2 a{color:var(--ink);text-decoration:none}
li.story h2 a:hover{text-decoration:underline}
.story-spark{grid-column:2;grid-row:1/span 3;align-self:center;text-align:right}
li.story .chips{margin-top:.1rem}
.story-spark .meta{display:block;margin-top:.15rem;font-size:.8rem;line-height:1.45}
.meta{color:var(--muted);font-size:.88rem;margin:0}
.meta strong{color:var(--ink);font-weight:600}
.chips{display:flex;flex-wrap:wrap;gap:.35rem;margin:.35rem 0 0;padding:0;list-style:none}
.chips li{display:inline-flex;align-items:baseline;gap:.3rem;font-size:.8rem;
padding:.08rem .55rem;border-radius:1rem;border:1px solid var(--line);color:var(--ink)}
.chips .lag{color:var(--muted);font-variant-numeric:tabular-nums}
.chips li.rel-original{border-color:var(--accent);background:var(--accent-bg);font-weight:600}
.chips li.rel-copy{background:var(--copy-bg)}
.chips li.rel-rewrite{border-color:var(--rewrite);background:var(--rewrite-bg)}
svg.spark{display:block;width:100%;height:auto}
svg .axis{stroke:var(--line);stroke-width:1.5}
svg.spark .spread{stroke:var(--faint);stroke-width:2}
svg .m-original{fill:var(--accent)}
svg .m-copy{fill:var(--copy)}
svg .m-rewrite{fill:var(--card);stroke:var(--rewrite);stroke-width:2.5}
svg .m-other{fill:var(--other)}
svg .arrowhead{fill:var(--credit)}
figure.timeline{margin:0;background:var(--card);border:1px solid var(--line);
border-radius:.75rem;box-shadow:var(--shadow);padding:.5rem .75rem .75rem;overflow:hidden}
svg.chart{display:block;overflow:visible}
svg.chart text{font-family:inherit;fill:var(--muted);font-size:12px}
svg.chart .band{fill:var(--band)}
svg.chart .row-line{stroke:var(--line);stroke-width:1.5}
svg.chart .row-line.ghost{stroke-dasharray:4 5}
svg.chart .grid{stroke:var(--line);stroke-width:1}
svg.chart .axis{stroke:var(--faint)}
svg.chart text.tick{font-variant-numeric:tabular-nums}
svg.chart text.day{fill:var(--ink);font-weight:600}
svg.chart .first-line line{stroke:var(--accent);stroke-width:1.5;stroke-dasharray:4 3}
svg.chart .first-line text{fill:var(--accent);font-weight:700;font-size:12.5px}
svg.chart .lag-bar{stroke-width:8;stroke-linecap:round;opacity:.2}
svg.chart .lag-bar.m-copy{stroke:var(--copy)}
svg.chart .lag-bar.m-rewrite{stroke:var(--rewrite);fill:none}
svg.chart .lag-bar.m-other{stroke:var(--other)}
svg.chart .credit line{stroke:var(--credit);stroke-width:2;stroke-linecap:round}
svg.chart .credit.to-absent line{stroke-width:1.5;stroke-dasharray:5 4}
svg.chart .ghost-mark{fill:var(--card);stroke:var(--credit);stroke-width:1.5;
stroke-dasharray:3 2}
svg.chart text.name,svg.chart text.lag{paint-order:stroke;stroke:var(--card);
stroke-width:4px;stroke-linejoin:round}
svg.chart text.name{fill:var(--ink);font-size:13px;font-weight:600}
svg.chart text.name.ghost{fill:var(--muted);font-weight:400;font-style:italic}
svg.chart text.name .note{font-size:11.5px;fill:var(--faint)}
svg.chart text.lag{fill:var(--ink);font-size:12px;font-weight:600;
font-variant-numeric:tabular-nums}
svg.chart a:hover .mark{stroke:var(--ink);stroke-width:2}
ul.legend{display:flex;flex-wrap:wrap;gap:.3rem 1.1rem;list-style:none;margin:.6rem 0 0;
padding:.6rem .25rem 0;border-top:1px solid var(--line);font-size:.84rem;color:var(--muted)}
ul.legend li{display:inline-flex;align-items:center;gap:.35rem}
ul.legend li.utc{margin-left:auto;color:var(--faint)}
svg.key{flex:none}
svg.key .credit-key{stroke:var(--credit);stroke-width:2}
svg.key .credit-key.to-absent{stroke-width:1.5;stroke-dasharray:4 3}
.summary{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:1rem;margin:0 0 1.5rem}
.first-box{background:var(--card);border:1px solid var(--line);border-left:4px solid
var(--accent);border-radius:.75rem;box-shadow:var(--shadow);padding:.9rem 1.1rem}
.first-box .label{display:block;font-size:.75rem;text-transform:uppercase;
letter-spacing:.05em;color:var(--muted);font-weight:600}
.first-box .who{display:block;overflow-wrap:anywhere;font-size:1.35rem;font-weight:700;
line-height:1.3;margin:.1rem 0}
.first-box .who a{color:var(--ink)}
.first-box p{margin:.2rem 0 0;color:var(--muted);font-size:.92rem}
.first-box .confidence{display:flex;align-items:center;gap:.5rem;flex-wrap:wrap}
meter{width:6rem;height:.55rem}
.first-box p.credited{margin-top:.45rem;color:var(--ink)}
dl.stats{display:grid;grid-template-columns:repeat(3,minmax(5.5rem,1fr));gap:.6rem;margin:0}
dl.stats div{background:var(--card);border:1px solid var(--line);border-radius:.75rem;
box-shadow:var(--shadow);padding:.7rem .9rem;display:flex;flex-direction:column;
justify-content:center}
dl.stats dt{font-size:.75rem;text-transform:uppercase;letter-spacing:.05em;
color:var(--muted);font-weight:600;order:2}
dl.stats dd{margin:0;font-size:1.45rem;font-weight:700;line-height:1.2;
font-variant-numeric:tabular-nums;white-space:nowrap}
.table-wrap{background:var(--card);border:1px solid var(--line);border-radius:.75rem;
box-shadow:var(--shadow);overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.6rem .75rem;border-bottom:1px solid var(--line);
vertical-align:top;overflow-wrap:break-word}
tbody tr:last-child td{border-bottom:0}
th{white-space:nowrap;color:var(--muted);font-weight:600;font-size:.74rem;text-transform:uppercase;
letter-spacing:.05em;background:var(--band)}
td.time{white-space:nowrap;font-variant-numeric:tabular-nums}
td.time .lag{display:block;color:var(--muted);font-size:.82rem;white-space:nowrap}
td.outlet{font-weight:600}
td.num{font-variant-numeric:tabular-nums}
.rel{display:inline-block;font-size:.78rem;font-weight:600;padding:.05rem .5rem;
border-radius:.35rem;border:1px solid currentColor;line-height:1.5}
.rel-original{color:var(--accent)}.rel-copy{color:var(--copy)}
.rel-rewrite{color:var(--rewrite)}.rel-other{color:var(--other)}
.via{font-size:.85rem;color:var(--muted)}
.empty{padding:2rem;text-align:center;color:var(--muted);background:var(--card);
border:1px dashed var(--line);border-radius:.75rem}
.machine{margin-top:1.25rem}
footer.site{color:var(--muted);font-size:.85rem;padding-top:1rem;padding-bottom:2.5rem}
@media (max-width:44rem){
body{font-size:15px}
h1{font-size:1.35rem;margin-top:.75rem}
header.site p{display:none}
li.story{grid-template-columns:minmax(0,1fr);padding:.85rem .9rem}
.story-spark{grid-column:1;grid-row:auto;text-align:left}
.story-spark svg.spark{max-width:13rem}
.summary{grid-template-columns:minmax(0,1fr)}
dl.stats{gap:.45rem}
dl.stats div{padding:.55rem .7rem}
dl.stats dd{font-size:1.15rem}
figure.timeline{padding:.4rem .5rem .6rem}
ul.legend li.utc{margin-left:0}
table,tbody,tr,td{display:block;width:100%}
thead{display:none}
tbody tr{padding:.55rem .8rem;border-bottom:1px solid var(--line)}
tbody tr:last-child{border-bottom:0}
td{border:0;padding:.15rem 0 .15rem 6.25rem;position:relative;min-height:1.7rem}
td::before{content:attr(data-label);position:absolute;left:0;top:.3rem;color:var(--muted);
font-size:.72rem;text-transform:uppercase;letter-spacing:.04em;font-weight:600}
td.time{white-space:normal}
td.time .lag{display:inline;margin-left:.5rem}
}
"""

#: CSP source allowing exactly the stylesheet above (and no other inline style).
STYLE_HASH = "'sha256-{}'".format(
    base64.b64encode(hashlib.sha256(STYLESHEET.encode("utf-8")).digest()).decode("ascii")
)
