"""The board report's print stylesheet: one A4 page per scope, readable in black and white (the marks and
their words carry the status; colour only repeats it)."""

CSS = """
@page { size: A4; margin: 11mm 12mm 10mm; }
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans",
  "DejaVu Sans", sans-serif; font-size: 9pt; line-height: 1.3; color: #111; background: #fff; }
body { margin: 0; }
.page { max-width: 186mm; margin: 0 auto; }
.page + .page { break-before: page; page-break-before: always; }
@media screen { .page { padding: 8mm 0; } .page + .page { border-top: 1px dashed #999; } }
h1 { font-size: 14pt; line-height: 1.2; margin: 0 0 1.5mm; }
h2 { font-size: 10pt; margin: 0 0 1mm; }
p { margin: 0 0 1mm; }
.meta { color: #444; font-size: 7.5pt; margin: 0; }
.note { border: 0.3mm solid #111; border-left-width: 1.6mm; padding: 1mm 2.5mm; margin: 1.5mm 0;
  font-size: 8.5pt; }
.note p { margin: 0; }
.summary { margin: 1.5mm 0; font-size: 9.5pt; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 8.5pt; }
th, td { padding: 0.8mm 1.2mm; border-bottom: 0.25mm solid #bbb; text-align: right; vertical-align: top; }
thead th { border-bottom: 0.5mm solid #111; font-weight: 600; vertical-align: bottom; font-size: 8pt; }
tbody th { text-align: left; font-weight: normal; }
th:first-child { text-align: left; }
tr.main th, tr.main td { font-weight: 700; border-bottom: 0.4mm solid #111; }
tr.member th { padding-left: 4mm; }
.sub, .delta { display: block; font-size: 7pt; font-weight: normal; color: #444; }
.mark { font-weight: 700; }
.mark.met, .mark.on_track { color: #1e6b3c; }
.mark.missed, .mark.unreachable { color: #b3261e; }
.mark.at_risk { color: #8a5a00; }
.legend { font-size: 7pt; color: #444; margin: 0.8mm 0 2mm; }
figure { margin: 0 0 1mm; break-inside: avoid; }
figcaption { font-size: 7.5pt; color: #333; }
figcaption strong { color: #111; font-size: 9pt; }
svg.chart { display: block; width: 100%; height: auto; }
.bottom { display: grid; grid-template-columns: min-content 1fr; gap: 6mm; align-items: start; break-inside: avoid; }
.worst-days th, .worst-days td { padding: 0.6mm 1.2mm; white-space: nowrap; }
.worst-days thead th { white-space: normal; }
footer.definitions { font-size: 7pt; line-height: 1.25; color: #333; }
footer.definitions ul { margin: 0; padding-left: 3mm; }
footer.definitions li { margin-bottom: 0.5mm; }
"""
