"""Golden saves, recorded from real play of the real campaign, replay to identical scores.

``tests/golden/record_golden.py`` played each campaign through the game core and kept the
scores the game showed (``expected.json``). Grading re-derives every one of them by
replay, in-process and through the installed command line, in every format.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgequest.campaign.versions import mission_by_sha256
from edgequest.grading.library import MissionLibrary
from edgequest.grading.verdict import grade_file
from edgequest.saves.store import read_save

GOLDEN = Path(__file__).parent / "golden" / "saves"
EXPECTED = json.loads((GOLDEN.parent / "expected.json").read_text())
ROOT = Path(__file__).resolve().parent.parent
EXACT = dict(rel=0, abs=1e-9)  # identical up to the last bits of a double


def edgequest(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "edgequest", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_every_golden_save_is_listed_and_its_mission_version_is_kept():
    saves = sorted(p.name for p in GOLDEN.glob("*.json"))
    assert saves == sorted(EXPECTED) and len(saves) >= 5
    tracks = {read_save(GOLDEN / name).mission_id for name in saves}
    assert tracks == {"cloud-titan", "edge-guardian", "mobile-nomad", "tiny-pioneer"}
    for name, facts in EXPECTED.items():
        assert mission_by_sha256(facts["mission_sha256"]) is not None, f"{name}: its mission version is not kept"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_golden_save_grades_to_the_scores_its_player_saw(name):
    facts = EXPECTED[name]
    grade = grade_file(GOLDEN / name, MissionLibrary())
    assert grade.gradable, grade.reason
    assert grade.mission_sha256 == facts["mission_sha256"] and grade.finished == facts["finished"]
    assert grade.total == pytest.approx(facts["total"], **EXACT)
    for part in grade.parts:
        assert part.points == pytest.approx(facts["parts"][str(part.number)], **EXACT)
        assert [r.points for r in part.runs] == pytest.approx(facts["runs"][str(part.number)], **EXACT)


def test_the_command_grades_the_golden_folder_identically_in_every_format(tmp_path):
    done = edgequest("grade", str(GOLDEN), "--format", "json", "--jobs", "2", "--results", str(tmp_path / "r.json"))
    assert done.returncode == 0 and done.stderr == ""
    saves = {Path(s["source"]).name: s for s in json.loads((tmp_path / "r.json").read_text())["saves"]}
    assert set(saves) == set(EXPECTED)
    for name, facts in EXPECTED.items():
        assert saves[name]["status"] == "graded"
        assert saves[name]["total_before_penalty"] == round(facts["total"], 4)
        assert [p["points"] for p in saves[name]["parts"]] == [round(v, 4) for v in facts["parts"].values()]
    done = edgequest("grade", str(GOLDEN), "--format", "csv", "--results", str(tmp_path / "r.csv"))
    assert done.returncode == 0 and done.stderr == ""
    rows = {Path(r["source"]).name: r for r in csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text()))}
    assert {n: float(r["score"]) for n, r in rows.items()} == {n: round(f["total"], 2) for n, f in EXPECTED.items()}


def test_the_command_grades_one_golden_save_for_gradescope(tmp_path):
    name = "golden-ada__edge-guardian.json"
    done = edgequest("grade", str(GOLDEN / name), "--results", str(tmp_path / "results.json"))
    assert done.returncode == 0 and done.stderr == ""
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == round(EXPECTED[name]["total"], 2)
    scored = [t for t in results["tests"] if t["max_score"] > 0]
    assert [t["max_score"] for t in scored] == [33.33, 33.33, 33.34]  # exactly 100 in all
    assert [t["status"] for t in scored] == ["passed", "passed", "passed"]
    # A save recorded by a script moves faster than a person can: forensics says so, to
    # instructors only, and it is worth nothing.
    (flags,) = [t for t in results["tests"] if t["max_score"] == 0]
    assert flags["visibility"] == "hidden" and "timing" in flags["output"]
    assert "| run | controls |" in results["tests"][0]["output"]


def test_replay_prints_the_golden_runs_with_their_scores():
    name = "golden-katherine__edge-guardian.json"
    done = edgequest("replay", str(GOLDEN / name))
    assert done.returncode == 0 and done.stderr == ""
    facts = EXPECTED[name]
    assert f"total {facts['total']:.1f} / 100 (campaign not finished)" in done.stdout
    for number, points in facts["parts"].items():
        if facts["runs"][number]:
            assert f"{points:5.1f} / 100" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    data = json.loads(edgequest("replay", str(GOLDEN / name), "--json").stdout)
    assert [r["score"] for r in data["parts"][0]["runs"]] == [round(v, 4) for v in facts["runs"]["1"]]
    assert data["parts"][0]["runs"][0]["metrics"]  # every metric of every run, for a person to check


def test_a_tampered_golden_save_is_caught_by_the_real_grader(tmp_path):
    data = json.loads((GOLDEN / "golden-grace__cloud-titan.json").read_text())
    data["record"]["parts"]["1"]["runs"][1]["rank"] = 65  # out of range (1 to 64)
    data["display"] = {"total": 100}
    (tmp_path / "saves").mkdir()
    (tmp_path / "saves" / "golden-grace__cloud-titan.json").write_text(json.dumps(data))
    done = edgequest("grade", "saves", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    save = json.loads((tmp_path / "results.json").read_text())["saves"][0]
    assert save["status"] == "not gradable" and "part 1: run 2: control 'rank'" in save["reason"]
    assert save["score"] == 0  # part 1 broke, so every later part is refused as well
