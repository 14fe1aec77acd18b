"""Grading: verdicts re-derived by replay, tampering, mission versions, lateness, formats, the command."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from edgequest import cli
from edgequest.game.play import Game
from edgequest.grading import grade as grade_module
from edgequest.grading.formats import csv_results, gradescope_results, json_results
from edgequest.grading.grade import grade_paths, render
from edgequest.grading.histogram import draw_histograms, metric_bins, score_bins
from edgequest.grading.lateness import LatePolicy, late_policy
from edgequest.grading.library import MissionLibrary
from edgequest.grading.verdict import NOT_GRADABLE, grade_file
from edgequest.saves.store import SaveData
from tests.conftest import FIXTURES

LIBRARY = MissionLibrary(FIXTURES)
REFLECTION = "Smaller designs cost less; fancy mode buys value without cost."


def play(mission, seed=7, sizes=(10, 12), finish=True) -> Game:
    game = Game(mission, seed=seed)
    game.answer_lock(1, 31)
    for size in sizes:
        game.run(1, {"size": size})
    game.commit(1, 0)
    game.reflect(1, REFLECTION)
    if finish:
        game.answer_lock(2, "yes")
        game.run(2, {"mode": "fancy"})
        game.commit(2)
        game.reflect(2, "Fancy mode doubled the value for the same cost, so it was worth it.")
        game.write_ledger("Personalise where the cost allows; keep the data local.")
    return game


def write_save(folder: Path, game: Game, player="ada", updated="2026-03-01T12:00:00+00:00", display=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    save = SaveData(mission_id=game.mission.id, mission_sha256=game.mission.sha256, player=player,
                    created="2026-03-01T10:00:00+00:00", updated=updated, record=game.record, display=display)
    path = folder / f"{player}__{game.mission.id}.json"
    path.write_bytes(save.to_bytes())
    return path


def edit(path: Path, change) -> Path:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


# ------------------------------------------------------------------ verdicts


def test_a_complete_save_is_graded_by_replaying_it(toy_mission, tmp_path):
    game = play(toy_mission)
    grade = grade_file(write_save(tmp_path, game), LIBRARY)
    assert grade.gradable and grade.reason is None and grade.finished
    assert grade.total == pytest.approx(game.total_points())
    assert [p.points for p in grade.parts] == [game.score(1).points, game.score(2).points]
    part = grade.parts[0]
    assert part.committed == 1 and len(part.runs) == 2 and part.lock["truth"] == 30
    assert part.metric_value == game.outcomes(1)[0].metrics["cost"]
    assert part.reflection == REFLECTION and grade.ledger.startswith("Personalise")


def test_an_unfinished_campaign_is_graded_for_what_was_done(toy_mission, tmp_path):
    game = play(toy_mission, finish=False)
    grade = grade_file(write_save(tmp_path, game), LIBRARY)
    assert grade.gradable and not grade.finished
    assert grade.parts[1].status == "failed" and grade.parts[1].points == 0
    assert grade.total == pytest.approx(game.score(1).points / 2)


def test_an_edited_score_is_ignored(toy_mission, tmp_path):
    game = play(toy_mission)
    honest = grade_file(write_save(tmp_path / "a", game, display={"total": 12.0}), LIBRARY)
    forged = grade_file(write_save(tmp_path / "b", game, display={"total": 100.0, "parts": {"1": 100}}), LIBRARY)
    assert forged.total == honest.total and forged.gradable


def test_edited_runs_are_re_simulated(toy_mission, tmp_path):
    path = write_save(tmp_path, play(toy_mission))
    edit(path, lambda d: d["record"]["parts"]["1"]["runs"][0].update(size=2))
    grade = grade_file(path, LIBRARY)
    expected = play(toy_mission, sizes=(2, 12))
    assert grade.gradable and grade.parts[0].points == pytest.approx(expected.score(1).points)
    assert grade.parts[0].runs[0].metric == expected.outcomes(1)[0].metrics["cost"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["record"]["parts"]["1"]["runs"][1].update(size=21), "part 1: run 2: control 'size': 21"),
        (lambda d: d["record"]["parts"]["1"]["runs"][1].update(mode="turbo"), "control 'mode'"),
        (lambda d: d["record"]["parts"]["1"]["runs"].extend([{"size": 15}, {"size": 16}]), "part 1: run 4: all 3 runs are used"),
        (lambda d: d["record"]["parts"]["1"].update(commit=5), "part 1: commit: run 5 does not exist"),
        (lambda d: d["record"]["parts"]["1"].update(lock=-4), "the Lock"),
    ],
)
def test_illegal_moves_make_the_part_not_gradable_with_the_reason(toy_mission, tmp_path, change, message):
    path = edit(write_save(tmp_path, play(toy_mission)), change)
    grade = grade_file(path, LIBRARY)
    assert not grade.gradable and message in grade.reason and str(path) in grade.reason
    assert grade.parts[0].status == NOT_GRADABLE and grade.parts[0].points == 0
    assert grade.parts[1].status == NOT_GRADABLE  # moves after a broken part cannot be replayed


def test_moves_out_of_order_are_not_gradable(toy_mission, tmp_path):
    game = Game(toy_mission, seed=1)
    game.answer_lock(1, 30)
    game.run(1, {"size": 5})
    path = write_save(tmp_path, game)
    edit(path, lambda d: d["record"]["parts"].update({"2": {"lock": "yes", "runs": [], "commit": None,
                                                            "reflection": None}}))
    grade = grade_file(path, LIBRARY)
    assert not grade.gradable and "part 2" in grade.reason and "earlier parts" in grade.reason
    assert grade.parts[0].status == "failed"  # part 1 itself is fine, just unfinished


def test_a_save_of_an_unknown_mission_version_is_not_gradable(toy_mission, tmp_path):
    path = edit(write_save(tmp_path, play(toy_mission)), lambda d: d["mission"].update(sha256="0" * 64))
    grade = grade_file(path, LIBRARY)
    assert not grade.gradable and not grade.parts
    assert "no kept version of track 'toy-track' has hash 000000000000" in grade.reason
    assert grade.save_sha256 is not None and grade.player == "ada"


def test_a_save_claiming_another_track_for_a_known_hash_is_not_gradable(toy_mission, tmp_path):
    path = edit(write_save(tmp_path, play(toy_mission)),
                lambda d: (d["mission"].update(id="cloud-titan"), d["record"].update(track="cloud-titan")))
    grade = grade_file(path, LIBRARY)
    assert not grade.gradable and "is track 'toy-track', but the save says 'cloud-titan'" in grade.reason


def test_a_model_that_crashes_is_reported_not_raised(toy_mission, tmp_path, toy_model, monkeypatch):
    from dataclasses import replace

    from edgequest.simulators import registry

    def broken(part, controls, rng):
        raise ZeroDivisionError("boom")

    path = write_save(tmp_path, play(toy_mission))
    monkeypatch.setitem(registry.MODELS, "toy", replace(toy_model, simulate=broken))
    grade = grade_file(path, LIBRARY)
    assert not grade.gradable and "internal error while grading (ZeroDivisionError: boom)" in grade.reason


# ------------------------------------------------------------------ many saves, many processes


def class_folder(mission, root: Path, count: int) -> Path:
    for i in range(count):
        game = play(mission, seed=i, sizes=(5 + i % 10, 3 + i % 7), finish=i % 3 != 0)
        write_save(root / f"student{i:02d}", game, player=f"s{i:02d}")
    (root / "student00" / "notes.txt").write_text("not a save")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.json").write_text("{}")
    (root / "student01" / ".s01__toy-track.json.123.tmp").write_text("{")
    return root


def test_a_folder_is_graded_the_same_with_one_or_two_processes(toy_mission, tmp_path):
    root = class_folder(toy_mission, tmp_path / "class", 8)
    one = grade_paths([root], LIBRARY, jobs=1)
    two = grade_paths([root], LIBRARY, jobs=2)
    assert len(one) == 8 and [g.source for g in one] == sorted(g.source for g in one)
    assert render("json", one) == render("json", two)
    assert render("csv", one) == render("csv", two)


def test_progress_is_drawn_only_on_the_stream_given(toy_mission, tmp_path):
    root = class_folder(toy_mission, tmp_path / "class", 3)
    bar = io.StringIO()
    grade_paths([root], LIBRARY, jobs=1, progress=bar)
    assert "grading 3/3 [" in bar.getvalue() and bar.getvalue().endswith("\r")


def test_links_and_missing_files_are_listed_as_not_gradable(toy_mission, tmp_path):
    real = write_save(tmp_path / "real", play(toy_mission))
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "linked.json").symlink_to(real)
    (tmp_path / "class" / "linked_dir").symlink_to(tmp_path / "real")  # not followed
    grades = grade_paths([tmp_path / "class", tmp_path / "missing.json"], LIBRARY, jobs=1)
    assert [(Path(g.source).name, g.gradable) for g in grades] == [("linked.json", False), ("missing.json", False)]
    assert "symbolic link" in grades[0].reason and "no such file" in grades[1].reason


# ------------------------------------------------------------------ lateness


def metadata(tmp_path, created_at, due, users_due=None) -> Path:
    users = [{"name": "Ada", "email": "", "id": 1}]
    if users_due:
        users[0]["assignment"] = {"due_date": users_due}
    path = tmp_path / "submission_metadata.json"
    path.write_text(json.dumps({"id": 1, "created_at": created_at, "users": users,
                                "assignment": {"due_date": due, "late_due_date": None, "title": "Lab 11"}}))
    return path


def test_lateness_comes_from_the_submission_time_not_the_save_or_the_clock(tmp_path):
    meta = metadata(tmp_path, "2026-03-02T14:00:00.123456-05:00", "2026-03-01T23:59:00.000000-05:00")
    policy = late_policy(meta, None, {})
    late = policy.lateness("2020-01-01T00:00:00+00:00")  # the save's own stamp says "early": ignored
    assert late.late and late.hours_late == pytest.approx(14 + 1 / 60, abs=1e-3)
    assert late.penalty_percent == 0  # no penalty unless configured
    assert "Gradescope" in late.submitted_source and "assignment" in late.deadline_source


def test_an_extension_in_the_metadata_wins_over_the_assignment_due_date(tmp_path):
    meta = metadata(tmp_path, "2026-03-02T14:00:00-05:00", "2026-03-01T23:59:00-05:00",
                    users_due="2026-03-05T23:59:00-05:00")
    late = late_policy(meta, None, {}).lateness(None)
    assert late.late is False and late.hours_late == 0


def test_a_configured_penalty_is_per_started_day_and_capped(tmp_path):
    policy = late_policy(None, None, {"EDGEQUEST_DEADLINE": "2026-03-01T00:00:00+00:00",
                                      "EDGEQUEST_LATE_PENALTY": "40"})
    assert policy.lateness("2026-03-01T00:00:00+00:00").penalty_percent == 0
    assert policy.lateness("2026-03-01T01:00:00+00:00").penalty_percent == 40
    assert policy.lateness("2026-03-02T01:00:00+00:00").penalty_percent == 80
    assert policy.lateness("2026-03-09T00:00:00+00:00").penalty_percent == 100
    assert "student's clock" in policy.lateness("2026-03-02T01:00:00+00:00").submitted_source


def test_without_a_deadline_lateness_is_unknown_not_assumed():
    late = LatePolicy().lateness("2026-03-01T00:00:00+00:00")
    assert late.late is None and late.deadline is None


@pytest.mark.parametrize("env", [{"EDGEQUEST_DEADLINE": "tomorrow"}, {"EDGEQUEST_DEADLINE": "2026-03-01T00:00:00"},
                                 {"EDGEQUEST_LATE_PENALTY": "150"}, {"EDGEQUEST_LATE_PENALTY": "ten"}])
def test_bad_lateness_settings_are_usage_errors(env):
    from edgequest.errors import EdgeQuestError

    with pytest.raises(EdgeQuestError, match="is not accepted"):
        late_policy(None, None, env)


def test_unusable_metadata_is_noted_not_fatal(tmp_path):
    meta = tmp_path / "submission_metadata.json"
    meta.write_text("{not json")
    policy = late_policy(meta, None, {})
    assert policy.submitted_at is None and "unreadable" in policy.notes[0]


# ------------------------------------------------------------------ formats


def graded(mission, tmp_path, policy=None):
    write_save(tmp_path / "saves", play(mission))
    bad = tmp_path / "saves" / "=cmd().json"
    bad.write_text("garbage")
    return grade_paths([tmp_path / "saves"], LIBRARY, jobs=1, policy=policy)


def test_gradescope_results_follow_the_documented_shape(toy_mission, tmp_path):
    grades = graded(toy_mission, tmp_path)
    results = gradescope_results(grades, execution_time_s=1.4)
    good = next(g for g in grades if g.gradable)
    assert results["score"] == round(good.score, 2) and results["execution_time"] == 1
    assert [t["name"] for t in results["tests"]] == ["Part 1: Toy frontier", "Part 2: Toy choice"]
    assert [t["number"] for t in results["tests"]] == ["1", "2"]
    assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(100)
    assert sum(t["score"] for t in results["tests"]) == pytest.approx(results["score"], abs=0.02)
    assert {t["status"] for t in results["tests"]} <= {"passed", "failed"}
    table = results["tests"][0]["output"]
    assert "| run | controls | cost (min) | SPEC | run score |" in table and "| 1 ★ |" in table
    extra = results["extra_data"]
    assert extra["mission_sha256"] == toy_mission.sha256 and len(extra["save_sha256"]) == 64
    assert extra["edgequest_version"] and "not gradable" in results["output"]  # the other save is listed


def test_gradescope_results_for_no_save_or_only_a_bad_one(tmp_path):
    assert gradescope_results([])["score"] == 0
    assert "No EdgeQuest save" in gradescope_results([])["tests"][0]["output"]
    bad = tmp_path / "a.json"
    bad.write_text('{"format": "edgequest-save", "format_version": 1}')
    results = gradescope_results([grade_file(bad, LIBRARY)])
    assert results["score"] == 0 and results["tests"][0]["max_score"] == 100
    assert "Not gradable" in results["tests"][0]["output"] and "mission" in results["tests"][0]["output"]


def test_a_late_penalty_lowers_the_gradescope_score_and_is_explained(toy_mission, tmp_path):
    policy = late_policy(None, None, {"EDGEQUEST_DEADLINE": "2026-03-01T00:00:00+00:00",
                                      "EDGEQUEST_LATE_PENALTY": "10"})
    grades = graded(toy_mission, tmp_path, policy)
    good = next(g for g in grades if g.gradable)
    results = gradescope_results(grades)
    assert results["score"] == round(good.total * 0.9, 2)
    assert "12.0 hours after the deadline; penalty 10%" in results["output"]


def test_json_results_hold_the_same_facts(toy_mission, tmp_path):
    grades = graded(toy_mission, tmp_path)
    data = json.loads(json.dumps(json_results(grades)))
    assert data["summary"] == {"saves": 2, "graded": 1, "not_gradable": 1, "flagged": 0}
    good = next(s for s in data["saves"] if s["status"] == "graded")
    assert good["mission"]["sha256"] == toy_mission.sha256
    assert good["parts"][0]["runs"][0]["controls"] == {"size": 10, "mode": "plain"}
    assert "metrics" not in good["parts"][0]["runs"][0]
    bad = next(s for s in data["saves"] if s["status"] == "not gradable")
    assert "not valid JSON" in bad["reason"]


def test_csv_has_one_row_per_save_and_defuses_formulas(toy_mission, tmp_path):
    grades = graded(toy_mission, tmp_path)
    rows = list(csv.DictReader(io.StringIO(csv_results(grades))))
    assert len(rows) == 2
    good = next(r for r in rows if r["status"] == "graded")
    assert float(good["score"]) == pytest.approx(grades[1].score if grades[1].gradable else grades[0].score, abs=0.01)
    assert good["part_1"] and good["part_2"] and good["finished"] == "yes"
    bad = next(r for r in rows if r["status"] == "not gradable")
    assert not bad["reason"].startswith("=") and bad["score"] == "0.00"


def test_histograms_draw_each_part_without_colour_codes(toy_mission, tmp_path):
    grades = grade_paths([class_folder(toy_mission, tmp_path / "c", 6)], LIBRARY, jobs=1)
    text = draw_histograms(grades, width=80)
    assert "toy-track part 1 (Toy frontier): points, 6 saves" in text
    assert "toy-track part 2: committed value (max is better)" in text
    assert "\x1b[" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert score_bins([0, 9.9, 10, 100]) [1] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert metric_bins([5, 5, 5]) == (["<5", "5", ">5"], [0, 3, 0])
    assert sum(metric_bins([1, 2, 3, 10])[1]) == 4


# ------------------------------------------------------------------ the command


@pytest.fixture
def toy_grader(monkeypatch, tmp_path):
    monkeypatch.setattr(grade_module, "MissionLibrary", lambda folder=None: LIBRARY)
    monkeypatch.chdir(tmp_path)
    for var in ("EDGEQUEST_DEADLINE", "EDGEQUEST_LATE_PENALTY"):
        monkeypatch.delenv(var, raising=False)


def test_grade_command_writes_results_and_keeps_stderr_empty(toy_grader, toy_mission, tmp_path, capsys):
    root = class_folder(toy_mission, tmp_path / "class", 4)
    assert cli.main(["grade", str(root), "--format", "json", "--jobs", "2"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "graded 4 save(s): 4 gradable" in out
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["summary"]["graded"] == 4
    assert cli.main(["grade", str(root), "--format", "csv"]) == 0
    assert (tmp_path / "results.csv").read_text().count("\n") == 5


def test_grading_the_working_folder_does_not_grade_its_own_results(toy_grader, toy_mission, tmp_path, capsys):
    write_save(tmp_path, play(toy_mission))
    assert cli.main(["grade", ".", "--format", "json"]) == 0
    assert cli.main(["grade", ".", "--format", "json"]) == 0
    assert json.loads((tmp_path / "results.json").read_text())["summary"]["saves"] == 1


def test_grade_command_with_gradescope_metadata(toy_grader, toy_mission, tmp_path, capsys):
    write_save(tmp_path / "submission", play(toy_mission))
    meta = metadata(tmp_path, "2026-03-02T06:00:00+00:00", "2026-03-02T00:00:00+00:00")
    (tmp_path / "results").mkdir()
    assert cli.main(["grade", "submission", "--results", "results/results.json",
                     "--submission-metadata", str(meta), "--histogram"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "toy-track part 1" in out
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["extra_data"]["lateness"]["late"] is True
    assert results["extra_data"]["lateness"]["hours_late"] == 6.0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--jobs", "0"], "--jobs 0 is not accepted"),
        (["--results", "."], "is a folder"),
        (["--results", "nowhere/results.json"], "does not exist"),
        (["--submission-metadata", "missing.json"], "no such file"),
    ],
)
def test_usage_errors_exit_2_with_one_line(toy_grader, tmp_path, capsys, args, message):
    assert cli.main(["grade", str(tmp_path), *args]) == 2
    out, err = capsys.readouterr()
    assert message in err and err.count("\n") == 1 and not (tmp_path / "results.json").exists()


def test_an_unknown_format_is_a_usage_error(toy_grader, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["grade", str(tmp_path), "--format", "xml"])
    assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_a_folder_of_garbage_still_gets_results_and_exit_0(toy_grader, tmp_path, capsys):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.json").write_bytes(b"\x00\x01")
    (tmp_path / "c" / "b.json").write_text("[]")
    assert cli.main(["grade", "c", "--format", "csv", "--results", "out.csv"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "0 gradable, 2 not gradable" in out
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert [r["status"] for r in rows] == [NOT_GRADABLE, NOT_GRADABLE]


# ------------------------------------------------------------------ a real process: stderr and the progress bar

LAUNCHER = """
import sys
sys.path.insert(0, {root!r})
from tests.conftest import FIXTURES, TOY
from edgequest.simulators import registry
registry.MODELS["toy"] = TOY
from edgequest.grading import grade
from edgequest.grading.library import MissionLibrary
grade.MissionLibrary = lambda folder=None: MissionLibrary(FIXTURES)
from edgequest.cli import main
sys.exit(main(sys.argv[1:]))
"""


def launch(tmp_path: Path) -> list[str]:
    import sys

    script = tmp_path / "edgequest_toy.py"
    script.write_text(LAUNCHER.format(root=str(Path(__file__).resolve().parent.parent)))
    return [sys.executable, str(script)]


def test_a_grading_process_writes_nothing_to_a_piped_stderr(toy_mission, tmp_path):
    import subprocess

    root = class_folder(toy_mission, tmp_path / "class", 4)
    done = subprocess.run([*launch(tmp_path), "grade", str(root), "--results", str(tmp_path / "r.json"),
                           "--jobs", "2"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads((tmp_path / "r.json").read_text())["score"] > 0


def test_the_progress_bar_appears_when_stderr_is_a_terminal(toy_mission, tmp_path):
    import os
    import subprocess

    root = class_folder(toy_mission, tmp_path / "class", 4)
    master, slave = os.openpty()
    done = subprocess.run([*launch(tmp_path), "grade", str(root), "--results", str(tmp_path / "r.json")],
                          stdout=subprocess.PIPE, stderr=slave, timeout=120)
    os.close(slave)
    drawn = os.read(master, 65536).decode()
    os.close(master)
    assert done.returncode == 0 and "grading 4/4 [" in drawn
