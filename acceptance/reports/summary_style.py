"""The stylesheet of summary.html, inlined so the page needs nothing but itself.

Colours are the reports' verdict colours (pass green, fail red, waived orange, not verified
grey, needs confirmation blue); every coloured state also carries its word.
"""

CSS = """
:root { --pass:#2e7d32; --fail:#c62828; --waived:#ef6c00; --nv:#616161; --nc:#1565c0; }
* { box-sizing: border-box; }
body { font: 14px/1.4 "DejaVu Sans", system-ui, sans-serif; color:#212121; margin:0 auto;
       padding:12px 20px 40px; max-width:1400px; }
h1 { font-size:20px; margin:4px 0; }
h2 { font-size:16px; margin:22px 0 6px; border-bottom:1px solid #ddd; padding-bottom:2px; }
.meta { margin:2px 0; color:#555; font-size:12px; }
.muted { color:#757575; }
code { font: 12px "DejaVu Sans Mono", monospace; background:#f3f3f3; padding:0 3px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th { text-align:left; background:#f5f5f5; font-weight:600; }
th, td { border:1px solid #e0e0e0; padding:4px 6px; vertical-align:top; }
td.num { text-align:right; white-space:nowrap; }
table.compact { width:auto; } table.compact td.num { min-width:90px; }
.verdict { border-radius:6px; padding:10px 16px; margin:10px 0; border-left:12px solid; }
.verdict p { margin:2px 0; }
.verdict-word { font-size:26px; font-weight:bold; letter-spacing:.5px; }
.verdict-text { font-size:16px; }
.verdict-blocked { background:#fdecea; border-color:var(--fail); }
.verdict-blocked .verdict-word { color:var(--fail); }
.verdict-ready_with_unverified { background:#fff4e5; border-color:var(--waived); }
.verdict-ready_with_unverified .verdict-word { color:#b45309; }
.verdict-ready { background:#edf7ed; border-color:var(--pass); }
.verdict-ready .verdict-word { color:var(--pass); }
.totals { list-style:none; padding:0; margin:6px 0 0; display:flex; gap:8px; flex-wrap:wrap; }
.totals li { padding:1px 8px; border-radius:10px; background:#fff; border:1px solid #ccc; }
.baseline { font-size:13px; }
.badge { display:inline-block; padding:0 6px; border-radius:3px; color:#fff; font-size:11px;
         font-weight:bold; white-space:nowrap; }
.v-pass.badge { background:var(--pass); } .v-fail.badge { background:var(--fail); }
.v-waived.badge { background:var(--waived); } .v-not_verified.badge { background:var(--nv); }
.v-needs_confirmation.badge { background:var(--nc); }
.totals .v-fail { border-color:var(--fail); color:var(--fail); font-weight:bold; }
.totals .v-pass { border-color:var(--pass); color:var(--pass); }
.totals .v-waived { border-color:var(--waived); color:#b45309; }
.totals .v-needs_confirmation { border-color:var(--nc); color:var(--nc); }
.totals li.zero { border-color:#ddd; color:#9e9e9e; font-weight:normal; }
.row-fail td:first-child { border-left:4px solid var(--fail); }
.row-waived td:first-child { border-left:4px solid var(--waived); }
.row-not_verified td:first-child { border-left:4px solid var(--nv); }
.impact { font-size:11px; text-transform:uppercase; font-weight:bold; }
.i-critical { color:#b71c1c; } .i-high { color:#e65100; } .i-medium { color:#555; }
.i-low { color:#888; }
.new { font-size:11px; color:var(--fail); font-weight:bold; }
.reason { max-width:420px; }
.evidence { margin:0; padding-left:14px; font-size:12px; }
.evidence.long { columns:2; column-gap:18px; }
.evidence li { break-inside:avoid; }
th.evidence-col { width:40%; } th.item-col { width:22%; }
.evidence li { overflow-wrap:anywhere; }
.good { color:var(--pass); font-weight:bold; } .bad { color:var(--fail); font-weight:bold; }
.dir-better { color:var(--pass); } .dir-worse { color:var(--fail); font-weight:bold; }
.dir-unchanged { color:#555; }
.ok { color:var(--pass); font-weight:bold; }
.charts { display:grid; grid-template-columns:repeat(auto-fill, minmax(520px, 1fr)); gap:12px; }
.charts figure { margin:0; border:1px solid #e0e0e0; padding:4px; }
.charts svg { width:100%; height:auto; display:block; }
figcaption { font-size:12px; color:#555; }
td.zero { color:#bbb; }
ul.not-run { font-size:12px; padding-left:18px; }
p.note { font-size:12px; margin:4px 0; }
td.c-fail { color:var(--fail); font-weight:bold; } td.c-waived { color:#b45309; }
td.c-not_verified { color:var(--nv); font-weight:bold; }
@media print { .charts { grid-template-columns:1fr 1fr; } }
"""
