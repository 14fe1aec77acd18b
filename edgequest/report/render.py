"""A :class:`~edgequest.report.build.Report` as one HTML page or one Markdown file.

The HTML page stands alone: its style sheet is inline, its charts are inline SVG, it
loads nothing (no fonts, scripts or images) and prints cleanly (a print style sheet keeps
tables and charts whole and starts each part on a new page). Every string that came from
a player (name, reflections, the Ledger) is escaped, in both formats: in Markdown a ``<``
becomes ``&lt;`` so that no renderer takes a reflection for HTML.
"""

from __future__ import annotations

import re
from html import escape
from typing import Callable

from edgequest.campaign.schema import stakeholder_prompt
from edgequest.report.build import Chart, PartReport, Report
from edgequest.report.svg import ChartError, instrument_svg

CHART_TEXT_SIZE = (76, 18)  # columns and rows of a Markdown text chart
_NUM = ' class="num"'

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { border-bottom: 2px solid #444; padding-bottom: .2rem; }
h3 { margin-top: 1.4rem; } .meta { color: #555; font-size: .9rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #bbb; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.committed td { font-weight: bold; background: #eef6ee; }
.pass { color: #1b5e20; font-weight: bold; } .fail { color: #b71c1c; font-weight: bold; }
blockquote { margin: .5rem 0 1rem; padding: .5rem 1rem; border-left: 4px solid #888; background: #f7f7f7;
             white-space: pre-wrap; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: .9rem; color: #333; } .score { font-size: 1.2rem; font-weight: bold; }
@media print {
  body { max-width: none; margin: 0; font-size: 10.5pt; }
  section.part { break-before: page; }
  figure, table, blockquote, .reveal { break-inside: avoid; }
  tr.committed td, th, blockquote { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _h(text: object) -> str:
    return escape(str(text), quote=True)


def _md(text: object) -> str:
    """Text safe in Markdown prose and table cells: no HTML, no table breaks."""
    return (str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
            .replace("\r", "").replace("\n", " "))


def _md_quote(text: str) -> str:
    return "\n".join("> " + _md(line) if line.strip() else ">" for line in text.splitlines())


def _html_paragraphs(text: str) -> str:
    return "".join(f"<p>{_h(p)}</p>" for p in text.split("\n\n") if p.strip())


# ------------------------------------------------------------------ HTML


def to_html(report: Report) -> str:
    out = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_h(report.title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        f"<h1>{_h(report.title)}</h1>",
        f'<p class="meta">{_h(_provenance(report))}</p>',
        "<table>",
        *(f"<tr><th>{_h(k)}</th><td>{_h(v)}</td></tr>" for k, v in _summary(report)),
        "</table>",
        f"<p>{_h(report.crisis)}</p>",
    ]
    for part in report.parts:
        out.extend(_html_part(part))
    out.extend(_html_ledger(report))
    out.extend(["</body>", "</html>", ""])
    return "\n".join(out)


def _html_part(part: PartReport) -> list[str]:
    out = [f'<section class="part" id="part-{part.number}">',
           f"<h2>Part {part.number}: {_h(part.title)}</h2>",
           f'<p class="score">{_h(part.points)} of 100 points · {_h(part.status)}</p>',
           f"<p>{_h(part.objective)}</p>",
           "<h3>The Lock</h3>",
           f"<p><strong>{_h(part.lock_question)}</strong></p>",
           "<table>",
           *(f"<tr><th>{_h(k)}</th><td>{_h(v)}</td></tr>" for k, v in _lock_rows(part)),
           "</table>",
           f"<h3>Runs ({len(part.runs)} of {part.budget})</h3>"]
    if part.runs:
        out.append("<table><tr>" + "".join(f"<th>{_h(c)}</th>" for c in _run_header(part)) + "</tr>")
        for row in part.runs:
            cells = _run_cells(row)
            css = ' class="committed"' if row.committed else ""
            out.append(f"<tr{css}>" + "".join(f"<td{_NUM if i in (0, 2, 3, 4) else ''}>{_h(c)}</td>"
                                                for i, c in enumerate(cells)) + "</tr>")
        out.append("</table>")
    else:
        out.append("<p>No runs yet.</p>")
    for chart in part.charts:
        out.append(_html_chart(chart))
    out.append("<h3>The committed design</h3>")
    if part.committed is None:
        out.append("<p>No design committed yet.</p>")
    else:
        out.append(f"<p>Run {part.committed}: "
                   + ", ".join(f"{_h(label)} <strong>{_h(value)}</strong>" for label, value in part.design) + "</p>")
        out.append("<table><tr><th>SPEC</th><th>check</th><th>value</th><th>required</th></tr>")
        for line in part.spec:
            css = "pass" if line.passed else "fail"
            out.append(f'<tr><td class="{css}">{_h(line.verdict)}</td><td>{_h(line.label)}</td>'
                       f'<td class="num">{_h(line.value)}</td><td>{_h(line.threshold)}</td></tr>')
        out.append("</table>")
    if part.explain:
        out.append('<div class="reveal"><h3>The reveal</h3>' + _html_paragraphs(part.explain) + "</div>")
    out.append("<h3>Reflection</h3>")
    out.append(f"<p><em>{_h(stakeholder_prompt(part.stakeholder, part.reflect_prompt))}</em></p>")
    out.append(f"<blockquote>{_h(part.reflection)}</blockquote>" if part.reflection
               else "<p>No reflection yet.</p>")
    out.append("<h3>Score</h3><table><tr><th>component</th><th>share</th><th>points</th></tr>")
    for component in part.components:
        out.append(f'<tr><td>{_h(component.name)}</td><td class="num">{_h(component.share)}</td>'
                   f'<td class="num">{_h(component.points)}</td></tr>')
    out.append(f'<tr><th>Part {part.number}</th><td></td><td class="num"><strong>{_h(part.points)} of 100'
               "</strong></td></tr></table>")
    out.append("</section>")
    return out


def _html_chart(chart: Chart) -> str:
    try:
        svg = instrument_svg(chart.instrument, chart.part, chart.runs, chart.title)
    except ChartError as exc:
        svg = f"<p>(This chart cannot be drawn here: {_h(exc)}.)</p>"
    caption = f"<strong>{_h(chart.title)}</strong>" + (f"<br>{_h(chart.caption)}" if chart.caption else "")
    return f"<figure>\n{svg}\n<figcaption>{caption}</figcaption>\n</figure>"


def _html_ledger(report: Report) -> list[str]:
    out = ['<section class="part" id="ledger">', "<h2>The Ledger</h2>", "<table><tr><th>part</th>"
           "<th>committed design</th><th>SPEC</th><th>points</th></tr>"]
    for part in report.parts:
        design = ", ".join(f"{label} {value}" for label, value in part.design) or "—"
        spec = f"{sum(s.passed for s in part.spec)}/{len(part.spec)}" if part.spec else "—"
        out.append(f"<tr><td>{part.number} {_h(part.title)}</td><td>{_h(design)}</td>"
                   f'<td class="num">{_h(spec)}</td><td class="num">{_h(part.points)}</td></tr>')
    out.append("</table>")
    out.append(f"<p><em>{_h(report.ledger_prompt)}</em></p>")
    out.append(f"<blockquote>{_h(report.ledger)}</blockquote>" if report.ledger else "<p>No Ledger yet.</p>")
    out.append(f'<h2>Score</h2><p class="score">{_h(report.total)} of 100</p>'
               f"<p>{_h(_score_note(report))}</p>")
    out.append("</section>")
    return out


# ------------------------------------------------------------------ Markdown


def to_markdown(report: Report, chart_text: Callable[[Chart], str] | None = None) -> str:
    draw = chart_text or text_chart
    out = [f"# {_md(report.title)}", "", _md(_provenance(report)), "", "| | |", "|---|---|"]
    out += [f"| {_md(k)} | {_md(v)} |" for k, v in _summary(report)]
    out += ["", _md(report.crisis), ""]
    for part in report.parts:
        out += [f"## Part {part.number}: {_md(part.title)}", "",
                f"**{_md(part.points)} of 100 points · {_md(part.status)}**", "", _md(part.objective), "",
                "### The Lock", "", f"**{_md(part.lock_question)}**", "", "| | |", "|---|---|"]
        out += [f"| {_md(k)} | {_md(v)} |" for k, v in _lock_rows(part)]
        out += ["", f"### Runs ({len(part.runs)} of {part.budget})", ""]
        if part.runs:
            header = _run_header(part)
            out += ["| " + " | ".join(_md(c) for c in header) + " |", "|" + "---|" * len(header)]
            for row in part.runs:
                cells = [_md(c) for c in _run_cells(row)]
                if row.committed:
                    cells = [f"**{c}**" for c in cells]
                out.append("| " + " | ".join(cells) + " |")
        else:
            out.append("No runs yet.")
        out.append("")
        for chart in part.charts:
            out += [f"**{_md(chart.title)}**", "", "```text", draw(chart), "```", ""]
            if chart.caption:
                out += [_md(chart.caption), ""]
        out += ["### The committed design", ""]
        if part.committed is None:
            out += ["No design committed yet.", ""]
        else:
            out += [f"Run {part.committed}: " + ", ".join(f"{_md(label)} **{_md(value)}**"
                                                          for label, value in part.design), "",
                    "| SPEC | check | value | required |", "|---|---|---|---|"]
            out += [f"| {_md(s.verdict)} | {_md(s.label)} | {_md(s.value)} | {_md(s.threshold)} |" for s in part.spec]
            out.append("")
        if part.explain:
            out += ["### The reveal", "", *[_md(p) + "\n" for p in part.explain.split("\n\n") if p.strip()]]
        out += ["### Reflection", "", f"*{_md(stakeholder_prompt(part.stakeholder, part.reflect_prompt))}*", "",
                _md_quote(part.reflection) if part.reflection else "No reflection yet.", "",
                "### Score", "", "| component | share | points |", "|---|---|---|"]
        out += [f"| {_md(c.name)} | {_md(c.share)} | {_md(c.points)} |" for c in part.components]
        out += [f"| **Part {part.number}** | | **{_md(part.points)} of 100** |", ""]
    out += ["## The Ledger", "", "| part | committed design | SPEC | points |", "|---|---|---|---|"]
    for part in report.parts:
        design = ", ".join(f"{label} {value}" for label, value in part.design) or "—"
        spec = f"{sum(s.passed for s in part.spec)}/{len(part.spec)}" if part.spec else "—"
        out.append(f"| {part.number} {_md(part.title)} | {_md(design)} | {spec} | {_md(part.points)} |")
    out += ["", f"*{_md(report.ledger_prompt)}*", "", _md_quote(report.ledger) if report.ledger else "No Ledger yet.",
            "", "## Score", "", f"**{_md(report.total)} of 100**", "", _md(_score_note(report)), ""]
    return "\n".join(out)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def text_chart(chart: Chart) -> str:
    """The instrument as the terminal draws it, without colour codes (plotext's text)."""
    from edgequest.tui.instruments import build_chart

    width, height = CHART_TEXT_SIZE
    text = build_chart(chart.instrument, chart.part, chart.runs, width, height, nocolor=True)
    lines = [_ANSI.sub("", line).rstrip() for line in text.splitlines()]
    return "\n".join(lines).replace("```", "'''")


# ------------------------------------------------------------------ shared wording


def _provenance(report: Report) -> str:
    return (f"Computed by EdgeQuest {report.version} by replaying every move of the save through the game, "
            f"as the grader does (save SHA-256 {report.save_sha256[:16]}…, mission version "
            f"{report.mission_sha256[:12]}, seed {report.seed}). Last saved {report.updated}.")


def _summary(report: Report) -> list[tuple[str, str]]:
    return [("Player", report.player), ("Track", f"{report.mission_name} ({report.track})"),
            ("Persona", report.persona), ("Device", report.device), ("North star", report.north_star),
            ("Score", f"{report.total} of 100" + ("" if report.finished else " (track not finished)"))]


def _lock_rows(part: PartReport) -> list[tuple[str, str]]:
    return [("Your prediction", part.lock_answer), ("The truth", part.lock_truth),
            ("Closeness", part.lock_closeness)]


def _run_header(part: PartReport) -> list[str]:
    return ["run", "controls", part.metric_name, "SPEC", "design score", "committed"]


def _run_cells(row) -> list[str]:
    return [str(row.run), row.controls, row.metric, row.spec, row.points, "✓ committed" if row.committed else ""]


def _score_note(report: Report) -> str:
    return ("The track's score is the mean of its parts' points. A part's points are shared by the Lock's "
            "closeness, the share of SPEC checks the committed design meets, thrift in runs, the margin "
            "beyond the SPEC, and a reflection of at least a few sentences (its quality is for your instructor).")
