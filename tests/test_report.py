"""``edgequest report``: a golden save's lab report, in HTML and in Markdown.

What the report says is checked against what it was made from, read apart from the
report code: the save file's own JSON (predictions, controls, reflections, the Ledger),
the scores the player saw while playing (``tests/golden/expected.json``) and the mission
files. The HTML must stand alone (inline SVG charts, nothing fetched, no script), escape
the player's text, and say the same as the Markdown report.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from edgequest.campaign.versions import mission_by_sha256
from edgequest.game.play import Game
from edgequest.report.build import build_report
from edgequest.report.command import export_path
from edgequest.report.render import to_html, to_markdown
from edgequest.saves.store import SaveSlot

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "saves"
EXPECTED = json.loads((GOLDEN.parent / "expected.json").read_text())
FINISHED = "golden-ada__edge-guardian.json"
UNFINISHED = next(name for name, facts in EXPECTED.items() if not facts["finished"])
SVG_NS = "{http://www.w3.org/2000/svg}"


def edgequest(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "edgequest", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


@pytest.fixture(scope="module")
def finished():
    report = build_report(GOLDEN / FINISHED)
    return report, to_html(report), to_markdown(report)


def raw_save(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text())


def visible_html(page: str) -> str:
    """The page's text as a reader sees it, charts left out."""
    page = re.sub(r"<svg\b.*?</svg>", " ", page, flags=re.S)
    page = re.sub(r"<(style|title)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


def plain_markdown(text: str) -> str:
    text = re.sub(r"```text\n.*?```", " ", text, flags=re.S)
    text = text.replace("&lt;", "<").replace("\\|", "|").replace("\\\\", "\\")
    return re.sub(r"\*\*|^> ?|^#+ ", "", text, flags=re.M)


def squash(text: str) -> str:
    return " ".join(text.split())


def test_the_html_report_of_a_golden_save_has_every_part_its_charts_designs_and_reflections(finished):
    report, page, _ = finished
    save = raw_save(FINISHED)
    mission = mission_by_sha256(save["mission"]["sha256"])
    text = squash(visible_html(page))
    assert save["player"] in text and mission.name in text and mission.persona in text
    for part in mission.parts:
        rec = save["record"]["parts"][str(part.number)]
        assert f"Part {part.number}: {part.title}" in text
        assert squash(rec["reflection"]) in text
        committed = rec["runs"][rec["commit"]]
        section = text[text.index(f"Part {part.number}: {part.title}"):]
        design = re.search(rf"Run {rec['commit'] + 1}: (.*?) SPEC check", section)
        assert design, f"part {part.number}: no committed design"
        for name, value in committed.items():  # every control of the committed run, by its label
            label = part.control(name).label
            shown = {str(value)} | ({f"{value:g}", f"{value:,}"} if isinstance(value, (int, float)) else set())
            assert label in design.group(1) and any(form in design.group(1) for form in shown)
        for check in part.spec:  # each SPEC line of the committed design
            assert check.label in text
    assert squash(save["record"]["ledger"]) in text
    # the score is the one the player saw while playing, recomputed by replay
    facts = EXPECTED[FINISHED]
    assert f"{facts['total']:.1f} of 100" in text
    for points in facts["parts"].values():
        assert f"{points:.1f} of 100 points" in text
    # charts: inline SVG, one per instrument of each part, well-formed and self-contained
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    assert len(svgs) == sum(len(p.charts) for p in report.parts) >= len(mission.parts)
    for svg in svgs:
        ET.fromstring(svg)
    assert "<script" not in page.lower() and "@import" not in page and "<link" not in page
    assert re.findall(r"(?:href|src)=", page) == []
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert "@media print" in page


def test_the_markdown_report_says_what_the_html_report_says(finished):
    report, page, markdown = finished
    md = squash(plain_markdown(markdown))
    pieces = {squash(line) for line in visible_html(page).splitlines()}
    missing = sorted(p for p in pieces if len(p) > 1 and p not in md)
    assert missing == []
    assert markdown.count("```text") == sum(len(p.charts) for p in report.parts)
    assert "\x1b" not in markdown  # text charts without terminal colour codes


def test_the_waterfall_bars_are_drawn_to_the_replayed_memory(finished):
    """Bar lengths in the SVG against the memory figures the grader's replay prints."""
    report, page, _ = finished
    done = edgequest("replay", str(GOLDEN / FINISHED), "--json")
    assert done.returncode == 0, done.stderr
    part = json.loads(done.stdout)["parts"][0]
    committed = part["runs"][part["committed_run"] - 1]["metrics"]
    svg = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)[0]
    assert "waterfall" in svg
    widths = {}
    for rect in ET.fromstring(svg).iter(f"{SVG_NS}rect"):
        title = rect.find(f"{SVG_NS}title")
        if title is not None:
            widths.setdefault(title.text.split(":")[0], float(rect.get("width")))
    assert widths["budget"] / widths["weights"] == pytest.approx(
        committed["budget_mb"] / committed["memory_mb"]["weights"], rel=0.01)
    assert widths["activ"] / widths["budget"] == pytest.approx(
        committed["memory_mb"]["activations"] / committed["budget_mb"], rel=0.01)


def test_an_unfinished_save_reports_what_was_played():
    report = build_report(GOLDEN / UNFINISHED)
    page, markdown = to_html(report), to_markdown(report)
    save = raw_save(UNFINISHED)
    for rec in save["record"]["parts"].values():
        if rec.get("reflection"):
            assert html.escape(rec["reflection"]) in page
    assert "No design committed yet." in page and "No design committed yet." in markdown
    assert f"{EXPECTED[UNFINISHED]['total']:.1f} of 100 (track not finished)" in visible_html(page)


def _played_save(tmp_path: Path, reflection: str, ledger: str) -> Path:
    mission = mission_by_sha256(raw_save(FINISHED)["mission"]["sha256"])
    game = Game(mission, 5)
    for part in mission.parts:
        game.answer_lock(part.number, part.lock.choices[0] if part.lock.kind == "choice" else part.lock.max)
        game.run(part.number, {})
        game.commit(part.number)
        game.reflect(part.number, reflection)
    game.write_ledger(ledger)
    with SaveSlot.open(tmp_path, "mallory", mission.id) as slot:
        slot.write(mission.id, mission.sha256, game.record)
        return slot.path


def test_the_players_text_is_escaped_in_both_formats(tmp_path):
    hostile = "<script>alert('x')</script> & <img src=x onerror=alert(1)> | pipe"
    path = _played_save(tmp_path, hostile + " — long enough to count as a reflection.", hostile)
    report = build_report(path)
    page, markdown = to_html(report), to_markdown(report)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;img" in page
    assert "<script" not in markdown and "<img" not in markdown
    assert "&lt;script>alert('x')&lt;/script> & &lt;img src=x onerror=alert(1)> \\| pipe" in markdown


def test_the_command_writes_html_or_markdown_and_never_over_a_save(tmp_path):
    save = tmp_path / FINISHED
    shutil.copy(GOLDEN / FINISHED, save)
    done = edgequest("report", str(save))
    assert done.returncode == 0 and done.stderr == "" and done.stdout.startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == [FINISHED]  # stdout only: nothing written
    out = tmp_path / "ada.md"
    done = edgequest("report", str(save), "--output", str(out))
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert out.read_text().startswith("# EdgeQuest lab report")
    (tmp_path / "copy.txt").write_bytes(save.read_bytes())
    (tmp_path / "other.json").write_text("{}")
    for target, why in ((save, "is an EdgeQuest save"), (tmp_path / "copy.txt", "is an EdgeQuest save"),
                        (tmp_path / "other.json", ".json name")):
        before = target.read_bytes()
        done = edgequest("report", str(save), "--output", str(target))
        assert done.returncode == 2 and why in done.stderr and target.read_bytes() == before
    done = edgequest("report", str(save), "--output", str(tmp_path / "new.json"))
    assert done.returncode == 2 and ".json name" in done.stderr
    done = edgequest("report", str(save), "--format", "pdf")
    assert done.returncode == 2 and "html, md" in done.stderr


def test_a_broken_save_exits_2_with_the_reason_and_no_report(tmp_path):
    data = raw_save(FINISHED)
    data["record"]["parts"]["1"]["commit"] = 7  # a run that was never made
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    done = edgequest("report", str(broken))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("edgequest: error: ") and "part 1" in done.stderr and "run 7" in done.stderr
    done = edgequest("report", str(tmp_path / "missing.json"))
    assert done.returncode == 2 and "no such file" in done.stderr and "Traceback" not in done.stderr


def test_the_game_key_exports_the_report_into_the_save_folder(tmp_path):
    from edgequest.campaign import load_campaign
    from edgequest.tui.app import EdgeQuestApp

    save = tmp_path / FINISHED
    shutil.copy(GOLDEN / FINISHED, save)
    player, track = FINISHED[: -len(".json")].split("__")

    async def play() -> list[str]:
        app = EdgeQuestApp(load_campaign(), tmp_path, player, track=track)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("e")
            await app.workers.wait_for_complete()
            await pilot.pause()
            return list(app.notices)

    notices = asyncio.run(play())
    target = export_path(save)
    assert target.parent == tmp_path and target.name == "golden-ada__edge-guardian.report.html"
    assert f"Report written to {target}" in notices
    assert "<svg" in target.read_text() and "The Ledger" in target.read_text()


def test_every_instrument_has_an_svg_form():
    """The golden saves between them use every instrument; each draws as well-formed SVG."""
    from edgequest.report.svg import instrument_svg
    from edgequest.tui.instruments import INSTRUMENTS

    drawn = set()
    for name in sorted(EXPECTED):
        for part in build_report(GOLDEN / name).parts:
            for chart in part.charts:
                svg = ET.fromstring(instrument_svg(chart.instrument, chart.part, chart.runs, chart.title))
                assert svg.find(f"{SVG_NS}title").text == chart.title
                marks = [e for e in svg.iter() if e.tag in (f"{SVG_NS}rect", f"{SVG_NS}circle", f"{SVG_NS}polyline")
                         or (e.tag == f"{SVG_NS}line" and e.find(f"{SVG_NS}title") is not None)]  # limit lines
                assert len(marks) > 2, chart.title
                drawn.add(chart.instrument.id)
    assert drawn == {i.id for i in INSTRUMENTS}


def test_axis_ticks_are_round_numbers():
    from edgequest.report.svg import nice_ticks

    assert nice_ticks(0, 512) == [0, 100, 200, 300, 400, 500]
    assert nice_ticks(0.66, 0.81) == pytest.approx([0.66, 0.68, 0.70, 0.72, 0.74, 0.76, 0.78, 0.80])
    assert nice_ticks(0, 1) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
