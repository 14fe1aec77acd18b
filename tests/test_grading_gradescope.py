"""The Gradescope template (contrib/gradescope), run against submissions laid out like /autograder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgequest.game.play import Game
from edgequest.saves.store import SaveData

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "contrib" / "gradescope"

# The toy part model lives in the tests, so a grader process needs it registered before
# the command runs; this launcher stands in for the installed ``edgequest`` script.
TOY_LAUNCHER = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from tests.conftest import FIXTURES, TOY
from edgequest.simulators import registry
registry.MODELS["toy"] = TOY
from edgequest.grading import grade
from edgequest.grading.library import MissionLibrary
grade.MissionLibrary = lambda folder=None: MissionLibrary(FIXTURES)
from edgequest.cli import main
sys.exit(main(sys.argv[1:]))
"""


def autograder(tmp_path: Path, mission, created_at="2026-03-02T09:30:00.000000-05:00") -> Path:
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    game = Game(mission, seed=9)
    game.answer_lock(1, 30)
    game.run(1, {"size": 9})
    game.commit(1)
    game.reflect(1, "Smaller designs cost less; fancy mode buys value without cost.")
    save = SaveData(mission_id=mission.id, mission_sha256=mission.sha256, player="ada",
                    created="2026-03-01T10:00:00+00:00", updated="2026-03-01T11:00:00+00:00", record=game.record)
    (root / "submission" / "ada__toy-track.json").write_bytes(save.to_bytes())
    (root / "submission_metadata.json").write_text(json.dumps({
        "id": 123456, "created_at": created_at, "submission_method": "upload",
        "assignment": {"due_date": "2026-03-01T23:59:00.000000-05:00", "late_due_date": None,
                       "title": "Lab 11", "total_points": "100.0"},
        "users": [{"email": "ada@example.edu", "id": 1, "name": "Ada"}],
        "previous_submissions": [],
    }))
    return root


def run_autograder(root: Path, edgequest: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("EDGEQUEST_DEADLINE", "EDGEQUEST_LATE_PENALTY")}
    environ.update(AUTOGRADER_ROOT=str(root), EDGEQUEST=edgequest, **env)
    return subprocess.run(["bash", str(TEMPLATE / "run_autograder")], capture_output=True, text=True,
                          env=environ, timeout=120)


@pytest.fixture
def launcher(tmp_path) -> str:
    path = tmp_path / "edgequest_toy.py"
    path.write_text(TOY_LAUNCHER)
    return f"{sys.executable} {path}"


def test_run_autograder_grades_the_submission_into_results_json(tmp_path, toy_mission, launcher):
    root = autograder(tmp_path, toy_mission)
    done = run_autograder(root, launcher)
    assert done.returncode == 0 and "graded 1 save(s): 1 gradable" in done.stdout
    results = json.loads((root / "results" / "results.json").read_text())
    assert [t["name"] for t in results["tests"]] == ["Part 1: Toy frontier", "Part 2: Toy choice"]
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]), abs=0.02)
    late = results["extra_data"]["lateness"]
    assert late["late"] is True and late["hours_late"] == pytest.approx(9.52, abs=0.01)
    assert late["submitted_source"].startswith("Gradescope") and late["penalty_percent"] == 0


def test_a_configured_penalty_reaches_the_gradescope_score(tmp_path, toy_mission, launcher):
    root = autograder(tmp_path, toy_mission)
    run_autograder(root, launcher, EDGEQUEST_LATE_PENALTY="25")
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["extra_data"]["lateness"]["penalty_percent"] == 25
    assert results["score"] == pytest.approx(0.75 * results["extra_data"]["total_before_penalty"], abs=0.01)


def test_an_empty_submission_gets_a_zero_with_a_message(tmp_path, toy_mission, launcher):
    root = autograder(tmp_path, toy_mission)
    (root / "submission" / "ada__toy-track.json").unlink()
    (root / "submission" / "notes.txt").write_text("I forgot the save")
    assert run_autograder(root, launcher).returncode == 0
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "No EdgeQuest save" in results["output"]


def test_a_broken_grader_still_leaves_a_results_file(tmp_path, toy_mission):
    root = autograder(tmp_path, toy_mission)
    done = run_autograder(root, "false")
    assert done.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and results["extra_data"]["edgequest_exit_status"] == 1
    assert "could not grade" in results["output"]


def test_setup_installs_the_wheel_with_pinned_versions(tmp_path):
    source = tmp_path / "autograder" / "source"
    source.mkdir(parents=True)
    (source / "edgequest-0.1.0-py3-none-any.whl").write_bytes(b"")
    (source / "constraints.txt").write_text("numpy==2.1.0\n")
    env = {**os.environ, "AUTOGRADER_ROOT": str(tmp_path / "autograder"), "SETUP_DRY_RUN": "1"}
    done = subprocess.run(["bash", str(TEMPLATE / "setup.sh")], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    venv = tmp_path / "autograder" / "venv"
    assert f"python3 -m venv {venv}" in done.stdout
    assert (f"{venv}/bin/python -m pip install --constraint {source}/constraints.txt "
            f"{source}/edgequest-0.1.0-py3-none-any.whl") in done.stdout
    assert f"{venv}/bin/edgequest missions check" in done.stdout


def test_setup_without_edgequest_in_the_zip_says_what_is_missing(tmp_path):
    (tmp_path / "autograder" / "source").mkdir(parents=True)
    env = {**os.environ, "AUTOGRADER_ROOT": str(tmp_path / "autograder"), "SETUP_DRY_RUN": "1"}
    done = subprocess.run(["bash", str(TEMPLATE / "setup.sh")], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1 and "no edgequest-*.whl" in done.stderr


def test_the_scripts_are_executable_bash():
    for name in ("setup.sh", "run_autograder"):
        path = TEMPLATE / name
        assert os.access(path, os.X_OK) and path.read_text().startswith("#!/usr/bin/env bash")
        assert subprocess.run(["bash", "-n", str(path)]).returncode == 0


def test_run_autograder_on_a_real_save_with_the_real_command(tmp_path):
    import shutil

    golden = ROOT / "tests" / "golden"
    expected = json.loads((golden / "expected.json").read_text())["golden-hedy__mobile-nomad.json"]
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    shutil.copy(golden / "saves" / "golden-hedy__mobile-nomad.json", root / "submission")
    (root / "submission_metadata.json").write_text(json.dumps({
        "created_at": "2026-03-01T20:00:00-05:00", "assignment": {"due_date": "2026-03-01T23:59:00-05:00"}}))
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    done = run_autograder(root, f"{sys.executable} -m edgequest", PYTHONPATH=pythonpath)
    assert done.returncode == 0 and "graded 1 save(s): 1 gradable" in done.stdout
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == round(expected["total"], 2)
    scored = [t for t in results["tests"] if t["max_score"] > 0]  # forensics, if any, is worth nothing
    assert [t["name"].split(":")[0] for t in scored] == ["Part 1", "Part 2", "Part 3"]
    assert results["extra_data"]["lateness"]["late"] is False
    assert results["extra_data"]["mission_sha256"] == expected["mission_sha256"]
