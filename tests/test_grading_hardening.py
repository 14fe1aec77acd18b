"""The grader's hardening (issue 14): each bug found by trying to break it, with its test.

Also forensics (copied, looked-up and impossibly fast saves), signed saves, and the
grading package's import graph.
"""

from __future__ import annotations

import ast
import csv
import errno
import io
import json
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from edgequest import cli
from edgequest.errors import SaveError
from edgequest.game.play import Game
from edgequest.grading import grade as grade_module
from edgequest.grading.forensics import MIN_RUNS_TO_MATCH, lock_flags, significant_digits
from edgequest.grading.formats import csv_results, gradescope_results, shares
from edgequest.grading.grade import grade_paths
from edgequest.grading.library import MissionLibrary
from edgequest.grading.verdict import NOT_GRADABLE, Signing, grade_file, not_gradable
from edgequest.saves import signing as signing_module
from edgequest.saves.store import SaveSlot, read_save
from edgequest.session import Session, track_progress
from tests.test_grading import LIBRARY, edit, play, write_save

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "saves"


@pytest.fixture
def toy_grader(monkeypatch, tmp_path):
    monkeypatch.setattr(grade_module, "MissionLibrary", lambda folder=None: LIBRARY)
    monkeypatch.chdir(tmp_path)
    for var in ("EDGEQUEST_DEADLINE", "EDGEQUEST_LATE_PENALTY", signing_module.KEY_ENV):
        monkeypatch.delenv(var, raising=False)


# ------------------------------------------------------------------ part keys that are digits, but not ASCII ones


@pytest.mark.parametrize("key", ["²", "١", "１", "𝟚"])
def test_a_non_ascii_digit_part_key_is_not_gradable_with_a_reason(toy_mission, tmp_path, key):
    path = edit(write_save(tmp_path, play(toy_mission)),
                lambda d: d["record"]["parts"].update({key: d["record"]["parts"].pop("2")}))
    grade = grade_file(path, LIBRARY)
    assert grade.status == NOT_GRADABLE
    assert "expected part numbers 1 to 99" in grade.reason and repr(key) in grade.reason
    assert "internal error" not in grade.reason


def test_a_non_ascii_digit_part_key_does_not_lock_the_player_out(toy_mission, tmp_path):
    path = edit(write_save(tmp_path, play(toy_mission)),
                lambda d: d["record"]["parts"].update({"²": d["record"]["parts"].pop("2")}))
    progress = track_progress(toy_mission, tmp_path, "ada")  # the track list reads every save
    assert progress.problem and progress.summary == "save needs attention"
    session = Session.open(toy_mission, tmp_path, "ada")
    try:
        assert session.game is None and "part numbers" in session.problem.reason
        session.start_fresh(seed=1)  # the player can go on; the bad file is kept aside
        assert session.game is not None
    finally:
        session.close()
    assert any(p.name != path.name and "ada__toy-track" in p.name for p in tmp_path.iterdir())


# ------------------------------------------------------------------ a full disk when opening a track


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors through /proc")
def test_a_full_disk_at_the_lock_is_a_clear_error_and_leaks_no_descriptor(toy_mission, tmp_path, monkeypatch):
    def full(fd, data, offset):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    before = _open_fds()
    with monkeypatch.context() as m:
        m.setattr(os, "pwrite", full)
        with pytest.raises(SaveError, match="cannot write the lock .*No space left on device"):
            SaveSlot.open(tmp_path, "ada", toy_mission.id)
    assert _open_fds() == before
    slot = SaveSlot.open(tmp_path, "ada", toy_mission.id)  # nothing stays held: the track opens once space is back
    assert not slot.read_only
    slot.close()


def test_a_full_disk_when_playing_says_so_without_a_traceback(toy_mission, tmp_path, monkeypatch):
    def full(fd, data, offset):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", full)
    monkeypatch.setenv("EDGEQUEST_SAVE_DIR", str(tmp_path))
    with pytest.raises(SaveError, match="free some space"):
        Session.open(toy_mission, tmp_path, "ada")


# ------------------------------------------------------------------ Gradescope counts the submitter's best gradable save


def _submission(tmp_path: Path, mission) -> Path:
    folder = tmp_path / "submission"
    write_save(folder / "bob", play(mission, sizes=(10, 12)), player="bob")  # another student's, better
    mine = write_save(folder / "ada", play(mission, sizes=(14, 16)), player="ada")
    broken = write_save(folder / "ada2", play(mission, sizes=(10, 12)), player="ada")
    # not gradable (a part the track lacks), yet every real part replays and scores higher
    edit(broken, lambda d: d["record"]["parts"].update({"9": {"lock": None, "runs": [], "commit": None,
                                                              "reflection": None}}))
    return mine


def test_gradescope_counts_the_best_gradable_save_of_the_submitting_student(toy_mission, tmp_path):
    mine = _submission(tmp_path, toy_mission)
    grades = grade_paths([tmp_path / "submission"], LIBRARY)
    results = gradescope_results(grades, submitters=["ada"])
    assert results["extra_data"]["counted"] == str(mine)
    assert "the best gradable save of player `ada`, the submitting student" in results["output"]
    counted = next(g for g in grades if g.source == str(mine))
    assert results["score"] == round(counted.score, 2)
    beaten = [g for g in grades if g.score > counted.score]
    assert {(g.player, g.gradable) for g in beaten} == {("bob", True), ("ada", False)}


def test_gradescope_says_so_when_no_save_is_the_submitters(toy_mission, tmp_path):
    _submission(tmp_path, toy_mission)
    grades = grade_paths([tmp_path / "submission"], LIBRARY)
    results = gradescope_results(grades, submitters=["carol"])
    assert "no save's player matches the submitting student" in results["output"]
    assert next(g for g in grades if g.source == results["extra_data"]["counted"]).gradable


def test_a_not_gradable_save_never_beats_a_gradable_one(toy_mission, tmp_path):
    _submission(tmp_path, toy_mission)
    grades = grade_paths([tmp_path / "submission"], LIBRARY)
    results = gradescope_results(grades)
    assert next(g for g in grades if g.source == results["extra_data"]["counted"]).gradable


def test_run_autograder_counts_the_submitters_save_from_the_metadata(tmp_path, toy_mission):
    from tests.test_grading_gradescope import TOY_LAUNCHER, autograder, run_autograder

    root = autograder(tmp_path, toy_mission)  # the metadata names ada@example.edu
    write_save(root / "submission" / "friend", play(toy_mission, sizes=(3, 4)), player="bob")
    launcher = tmp_path / "edgequest_toy.py"
    launcher.write_text(TOY_LAUNCHER)
    done = run_autograder(root, f"{sys.executable} {launcher}")
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["extra_data"]["counted"].endswith("ada__toy-track.json")
    assert results["extra_data"]["submitters"] == ["ada"]
    assert "the submitting student" in results["output"]


# ------------------------------------------------------------------ --results never lands on what is graded


def test_results_naming_a_graded_save_exit_2_and_leave_it_intact(toy_grader, toy_mission, tmp_path, capsys):
    path = write_save(tmp_path / "class", play(toy_mission))
    before = path.read_bytes()
    assert cli.main(["grade", str(tmp_path / "class"), "--results", str(path)]) == 2
    assert "lies inside" in capsys.readouterr().err and path.read_bytes() == before
    assert cli.main(["grade", str(path), "--results", str(path)]) == 2
    assert "is one of the saves being graded" in capsys.readouterr().err and path.read_bytes() == before


def test_results_anywhere_inside_a_graded_folder_exit_2(toy_grader, toy_mission, tmp_path, capsys):
    write_save(tmp_path / "class" / "sub", play(toy_mission))
    for target in ("class/results.json", "class/sub/new.json", "class/sub/../x.json"):
        assert cli.main(["grade", "class", "--results", target]) == 2, target
        assert "a folder being graded" in capsys.readouterr().err
        assert not (tmp_path / target).exists()
    assert cli.main(["grade", "class", "--results", "out.json"]) == 0


# ------------------------------------------------------------------ duplicate keys


@pytest.mark.parametrize("where", ["top", "record", "part", "run"])
def test_a_key_written_twice_is_refused(toy_mission, tmp_path, where):
    path = write_save(tmp_path, play(toy_mission))
    text = path.read_text()
    twice = {
        "top": ('"player": "ada"', '"player": "ada", "player": "bob"'),
        "record": ('"ledger": "Personalise', '"ledger": "x", "ledger": "Personalise'),
        "part": ('"commit": 0', '"commit": 1, "commit": 0'),
        "run": ('"size": 10', '"size": 1, "size": 10'),
    }[where]
    assert twice[0] in text
    path.write_text(text.replace(twice[0], twice[1], 1))
    grade = grade_file(path, LIBRARY)
    assert grade.status == NOT_GRADABLE and "appears twice" in grade.reason


# ------------------------------------------------------------------ CSV formula neutralisation


@pytest.mark.parametrize("lead", ["", " ", "\t", "\x0b", "\x0c", " \t ", "\u200b", "\x00"])
@pytest.mark.parametrize("sign", ["=", "+", "-", "@"])
def test_no_cell_reaches_a_spreadsheet_as_a_formula(lead, sign):
    grades = [not_gradable(f"{lead}{sign}HYPERLINK(\"http://x\")", f"{lead}{sign}1+1")]
    rows = list(csv.reader(io.StringIO(csv_results(grades))))
    for cell in rows[1]:
        stripped = re.sub(r"^[\s\x00-\x1f\u200b]+", "", cell)
        assert not stripped.startswith(("=", "+", "-", "@")), repr(cell)
    assert rows[1][0].startswith("'")


def test_a_tab_or_control_character_first_is_quoted_too():
    rows = list(csv.reader(io.StringIO(csv_results([not_gradable("\tplain", "ok")]))))
    assert rows[1][0] == "'\tplain" and rows[1][4] == "ok"


# ------------------------------------------------------------------ per-test maxima sum to the total


@pytest.mark.parametrize("parts", range(1, 13))
def test_per_part_maxima_sum_to_exactly_100(parts):
    each = shares(parts)
    assert len(each) == parts and round(sum(each), 6) == 100.0
    assert all(abs(s - 100 / parts) <= 0.011 for s in each)
    assert all(round(s, 2) == s for s in each)


def test_gradescope_tests_sum_to_100(toy_mission, tmp_path):
    grades = grade_paths([write_save(tmp_path, play(toy_mission))], LIBRARY)
    results = gradescope_results(grades)
    assert sum(t["max_score"] for t in results["tests"]) == 100.0


# ------------------------------------------------------------------ submission metadata that is not a file


def test_a_fifo_as_submission_metadata_exits_2_without_hanging(toy_grader, toy_mission, tmp_path, capsys):
    write_save(tmp_path / "class", play(toy_mission))
    fifo = tmp_path / "meta.fifo"
    os.mkfifo(fifo)
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("the grader hung")))
    signal.alarm(20)
    try:
        assert cli.main(["grade", "class", "--results", "out.json", "--submission-metadata", str(fifo)]) == 2
    finally:
        signal.alarm(0)
    assert "not a regular file" in capsys.readouterr().err and not (tmp_path / "out.json").exists()


def test_a_folder_as_submission_metadata_exits_2(toy_grader, toy_mission, tmp_path, capsys):
    write_save(tmp_path / "class", play(toy_mission))
    (tmp_path / "meta").mkdir()
    assert cli.main(["grade", "class", "--results", "out.json", "--submission-metadata", "meta"]) == 2
    assert "not a regular file" in capsys.readouterr().err


# ------------------------------------------------------------------ a folder named like a save


def test_a_folder_named_like_a_save_is_reported_not_skipped(toy_mission, tmp_path):
    folder = tmp_path / "class"
    write_save(folder, play(toy_mission), player="ada")
    (folder / "bob__toy-track.json").mkdir()
    write_save(folder / "bob__toy-track.json", play(toy_mission), player="bob")  # and its contents are graded
    grades = grade_paths([folder], LIBRARY)
    by_source = {Path(g.source).relative_to(folder).as_posix(): g for g in grades}
    assert set(by_source) == {"ada__toy-track.json", "bob__toy-track.json", "bob__toy-track.json/bob__toy-track.json"}
    assert by_source["bob__toy-track.json"].status == NOT_GRADABLE
    assert "is a folder" in by_source["bob__toy-track.json"].reason


# ------------------------------------------------------------------ Markdown from student text


HOSTILE_TEXT = ("See ![tracker](http://evil.example/p.png) and [click me](https://evil.example/x) "
                "or www.evil.example, <img src=x onerror=alert(1)>, [ref]: http://evil.example "
                "and <http://evil.example/auto>. This reflection is long enough to count.")


def test_markdown_links_and_images_from_student_text_are_neutralised(toy_mission, tmp_path):
    game = Game(toy_mission, seed=3)
    game.answer_lock(1, 30)
    game.run(1, {"size": 9})
    game.commit(1)
    game.reflect(1, HOSTILE_TEXT)
    game.answer_lock(2, "yes")
    game.run(2, {"mode": "fancy"})
    game.commit(2)
    game.reflect(2, HOSTILE_TEXT)
    game.write_ledger(HOSTILE_TEXT)
    grades = grade_paths([write_save(tmp_path, game)], LIBRARY)
    results = gradescope_results(grades)
    texts = [results["output"]] + [t["output"] for t in results["tests"]]
    for text in texts:
        assert "http://" not in text and "https://" not in text and "www.evil" not in text
        assert re.search(r"(?<!\\)[\[\]]", text) is None, text  # every bracket escaped: no link, no image
        assert "<img" not in text and "<http" not in text
    assert "evil.example" in "".join(texts)  # the words are kept, only defused


# ------------------------------------------------------------------ --jobs and missions list


def test_jobs_are_capped_at_the_core_count_and_it_says_so(toy_grader, toy_mission, tmp_path, capsys):
    write_save(tmp_path / "class", play(toy_mission))
    cores = os.cpu_count() or 1
    assert cli.main(["grade", "class", "--results", "out.json", "--jobs", str(cores + 50)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and f"--jobs {cores + 50} is more than the {cores} core(s) here; using {cores}" in out


def test_missions_list_on_a_missing_folder_exits_2(tmp_path, capsys):
    assert cli.main(["missions", "list", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["missions", "list", str(tmp_path / "empty")]) == 2
    assert "no mission files" in capsys.readouterr().err


# ------------------------------------------------------------------ forensics: copies


def test_two_players_handing_in_the_same_record_are_flagged_in_every_format(toy_grader, toy_mission, tmp_path, capsys):
    game = play(toy_mission)
    write_save(tmp_path / "class" / "a", game, player="ada")
    write_save(tmp_path / "class" / "b", game, player="bob")
    write_save(tmp_path / "class" / "c", play(toy_mission, sizes=(3, 5)), player="cy")
    assert cli.main(["grade", "class", "--format", "json", "--results", "out.json"]) == 0
    out = capsys.readouterr().out
    assert "forensic flags on 2 save(s)" in out and "identical: the same moves and words as" in out
    data = json.loads((tmp_path / "out.json").read_text())
    flags = {Path(s["source"]).parent.name: s["flags"] for s in data["saves"]}
    assert flags["c"] == [] and data["summary"]["flagged"] == 2
    assert flags["a"][0]["kind"] == "identical" and flags["a"][0]["saves"] == ["class/a/ada__toy-track.json",
                                                                               "class/b/bob__toy-track.json"]
    assert cli.main(["grade", "class", "--format", "csv", "--results", "out.csv"]) == 0
    rows = {Path(r["source"]).parent.name: r for r in csv.DictReader(open(tmp_path / "out.csv"))}
    assert "identical" in rows["a"]["flags"] and "bob" in rows["a"]["flags"] and rows["c"]["flags"] == ""
    assert cli.main(["grade", "class", "--format", "gradescope", "--results", "gs.json"]) == 0
    hidden = [t for t in json.loads((tmp_path / "gs.json").read_text())["tests"] if t.get("visibility") == "hidden"]
    assert len(hidden) == 1 and "class/a/ada__toy-track.json" in hidden[0]["output"]


def test_one_players_own_copies_are_not_flagged(toy_mission, tmp_path):
    game = play(toy_mission)
    write_save(tmp_path / "a", game, player="ada")
    write_save(tmp_path / "b", game, player="ada")
    assert all(not g.flags for g in grade_paths([tmp_path], LIBRARY))


def test_the_same_designs_with_other_words_are_near_identical(toy_mission, tmp_path):
    sizes = (10, 12, 14)
    assert len(sizes) + 1 >= MIN_RUNS_TO_MATCH
    a = play(toy_mission, sizes=sizes)
    b = Game(toy_mission, seed=99)
    b.answer_lock(1, 25)
    for size in sizes:
        b.run(1, {"size": size})
    b.commit(1, 0)
    b.reflect(1, "In my own words: the smallest design kept the cost down, as expected.")
    b.answer_lock(2, "yes")
    b.run(2, {"mode": "fancy"})
    b.commit(2)
    b.reflect(2, "Fancy was worth it: twice the value and the same cost; I would pick it again.")
    b.write_ledger("A different Ledger, written alone.")
    write_save(tmp_path / "a", a, player="ada")
    write_save(tmp_path / "b", b, player="bob")
    grades = grade_paths([tmp_path], LIBRARY)
    assert [f.kind for g in grades for f in g.flags] == ["near-identical", "near-identical"]
    assert "the same 4 run designs and commits in the same order" in grades[0].flags[0].detail


def test_a_short_common_sequence_is_not_flagged(toy_mission, tmp_path):
    write_save(tmp_path / "a", play(toy_mission, sizes=(10,)), player="ada")
    other = play(toy_mission, sizes=(10,))
    other.record.ledger = "Mine."
    write_save(tmp_path / "b", other, player="bob")
    assert all(not g.flags for g in grade_paths([tmp_path], LIBRARY))


# ------------------------------------------------------------------ forensics: Lock answers read off the engine


def test_significant_digits_count_what_was_written():
    assert [significant_digits(v) for v in (28, 30.0, 0.8614, 1200.0, 1234, 0.000123, "yes", True, 0)] == \
           [2, 1, 4, 2, 4, 3, 0, 0, 0]


def test_lock_flags_need_four_digits_matching_the_truth():
    locks = [(1, {"answer": 0.8614, "truth": 0.861372}), (2, {"answer": 0.86, "truth": 0.861372}),
             (3, {"answer": 0.8615, "truth": 0.861372}), (4, {"answer": "yes", "truth": "yes"}),
             (5, {"answer": 1234, "truth": 1234.2})]
    flagged = [f.detail.split(":")[0] for f in lock_flags("s.json", locks)]
    assert flagged == ["part 1", "part 5"]


def test_a_lock_answer_equal_to_the_engines_truth_is_flagged_on_a_real_mission(tmp_path):
    golden = GOLDEN / "golden-grace__cloud-titan.json"
    library = MissionLibrary()
    honest = grade_file(golden, library)
    number, truth = next((p.number, p.lock["truth"]) for p in honest.parts
                         if isinstance(p.lock.get("truth"), float) and p.lock["truth"] != 0)
    assert not [f for f in honest.flags if f.kind == "lock-precision"]
    data = json.loads(golden.read_text())
    data["record"]["parts"][str(number)]["lock"] = float(f"{truth:.5g}")
    copied = tmp_path / golden.name
    copied.write_text(json.dumps(data))
    grade = grade_file(copied, library)
    # (a scripted golden save also moves faster than a person: its timing flags are beside the point here)
    (flag,) = [f for f in grade.flags if f.kind != "timing"]
    assert flag.kind == "lock-precision" and f"part {number}" in flag.detail


# ------------------------------------------------------------------ forensics: move times


def _played_through_the_slot(mission, folder: Path) -> Path:
    session = Session.open(mission, folder, "ada", seed=4)
    try:
        session.lock(1, 30)
        session.run(1, {"size": 4})
        session.commit(1, 0)
        session.reflect(1, "A small design kept the cost low and the value above the line.")
    finally:
        session.close()
    return session.path


def test_every_move_written_by_the_game_is_timed(toy_mission, tmp_path):
    path = _played_through_the_slot(toy_mission, tmp_path)
    record = read_save(path).record
    assert [(t.part, t.move, t.session) for t in record.times] == [(1, "lock", 0), (1, "run", 0), (1, "commit", 0),
                                                                   (1, "reflection", 0)]
    assert [t.t for t in record.times] == sorted(t.t for t in record.times)
    again = Session.open(toy_mission, tmp_path, "ada")  # a second session keeps the first one's times
    again.lock(2, "yes")
    again.close()
    times = read_save(path).record.times
    assert [(t.part, t.move, t.session) for t in times][-1] == (2, "lock", 1) and len(times) == 5


def test_saves_without_times_still_load_and_grade_unflagged(toy_mission, tmp_path):
    path = write_save(tmp_path, play(toy_mission))
    assert "times" not in json.loads(path.read_text())["record"]
    grade = grade_file(path, LIBRARY)
    assert grade.gradable and grade.flags == ()


@pytest.mark.parametrize("change, fragment", [
    (lambda ts: [dict(t, t=1.0 + 0.01 * i) for i, t in enumerate(ts)], "s apart in session 0"),
    (lambda ts: [dict(t, t=100.0 - 5 * i) for i, t in enumerate(ts)], "backwards"),
    (lambda ts: ts[:-1], "the move times list 3 moves, the record holds 4"),
    (lambda ts: [ts[1], ts[0], *ts[2:]], "which the rules put later"),
])
def test_impossible_move_times_are_flagged(toy_mission, tmp_path, change, fragment):
    path = _played_through_the_slot(toy_mission, tmp_path)
    data = json.loads(path.read_text())
    times = data["record"]["times"]
    for i, stamp in enumerate(times):  # a person's pace (the test played in milliseconds)
        stamp["t"] = 10.0 + 20 * i
    path.write_text(json.dumps(data))
    honest = grade_file(path, LIBRARY)
    assert honest.gradable and honest.flags == ()
    if fragment == "which the rules put later":
        times[0]["t"], times[1]["t"] = 5.0, 10.0
        times[0]["move"], times[1]["move"] = "run", "lock"
    else:
        data["record"]["times"] = change(times)
    path.write_text(json.dumps(data))
    grade = grade_file(path, LIBRARY)
    assert grade.gradable  # a flag is for an instructor to look at, never a grade
    assert any(f.kind == "timing" and fragment in f.detail for f in grade.flags), grade.flags


# ------------------------------------------------------------------ signed saves


KEY = b"k" * 32


def _signed_save(mission, folder: Path, monkeypatch) -> Path:
    key_file = folder.parent / "server.key"
    key_file.write_bytes(KEY + b"\n")
    monkeypatch.setenv(signing_module.KEY_ENV, str(key_file))
    path = _played_through_the_slot(mission, folder)
    monkeypatch.delenv(signing_module.KEY_ENV)
    return path


def test_the_game_signs_every_write_when_it_has_the_key(toy_mission, tmp_path, monkeypatch):
    path = _signed_save(toy_mission, tmp_path / "saves", monkeypatch)
    save = read_save(path)
    assert save.signature["alg"] == "hmac-sha256" and save.signature_problem(KEY) is None
    grade = grade_file(path, LIBRARY, signing=Signing(key=KEY, required=True))
    assert grade.gradable and grade.signed


@pytest.mark.parametrize("change", [
    lambda d: d["record"]["parts"]["1"].update(lock=31),
    lambda d: d["record"]["times"][0].update(t=0.5),
    lambda d: d.update(player="bob"),
    lambda d: d["signature"].update(mac="0" * 64),
])
def test_an_altered_signed_save_is_not_gradable(toy_mission, tmp_path, monkeypatch, change):
    path = edit(_signed_save(toy_mission, tmp_path / "saves", monkeypatch), change)
    grade = grade_file(path, LIBRARY, signing=Signing(key=KEY))
    assert grade.status == NOT_GRADABLE and "signature does not match" in grade.reason


def test_the_display_cache_is_not_signed(toy_mission, tmp_path, monkeypatch):
    path = edit(_signed_save(toy_mission, tmp_path / "saves", monkeypatch), lambda d: d.update(display={"x": 1}))
    assert grade_file(path, LIBRARY, signing=Signing(key=KEY, required=True)).gradable


def test_unsigned_saves_and_other_keys(toy_mission, tmp_path, monkeypatch):
    unsigned = write_save(tmp_path / "plain", play(toy_mission))
    assert grade_file(unsigned, LIBRARY, signing=Signing(key=KEY)).gradable  # checked when present only
    grade = grade_file(unsigned, LIBRARY, signing=Signing(key=KEY, required=True))
    assert grade.status == NOT_GRADABLE and "not signed" in grade.reason
    signed = _signed_save(toy_mission, tmp_path / "saves", monkeypatch)
    grade = grade_file(signed, LIBRARY, signing=Signing(key=b"x" * 32, required=True))
    assert grade.status == NOT_GRADABLE and "another key" in grade.reason


def test_the_command_requires_signatures_with_a_key(toy_grader, toy_mission, tmp_path, monkeypatch, capsys):
    _signed_save(toy_mission, tmp_path / "saves", monkeypatch)
    write_save(tmp_path / "saves" / "forged", play(toy_mission), player="bob")
    assert cli.main(["grade", "saves", "--results", "out.json", "--format", "json", "--require-signature"]) == 2
    assert "needs --signing-key" in capsys.readouterr().err
    assert cli.main(["grade", "saves", "--results", "out.json", "--signing-key", "missing.key"]) == 2
    assert "cannot be read" in capsys.readouterr().err
    assert cli.main(["grade", "saves", "--results", "out.json", "--format", "json",
                     "--signing-key", "server.key", "--require-signature"]) == 0
    saves = {s["player"] or Path(s["source"]).name: s for s in json.loads(Path("out.json").read_text())["saves"]}
    assert saves["ada"]["status"] == "graded" and saves["ada"]["signed"] is True
    assert saves["bob"]["status"] == NOT_GRADABLE and "not signed" in saves["bob"]["reason"]


def test_an_unreadable_signing_key_stops_the_game_with_a_message(toy_mission, tmp_path, monkeypatch):
    monkeypatch.setenv(signing_module.KEY_ENV, str(tmp_path / "no.key"))
    with pytest.raises(SaveError, match="EDGEQUEST_SIGNING_KEY_FILE"):
        SaveSlot.open(tmp_path, "ada", toy_mission.id)


def test_a_hmac_computed_apart_from_the_module_matches(toy_mission, tmp_path, monkeypatch):
    import hashlib
    import hmac

    path = _signed_save(toy_mission, tmp_path / "saves", monkeypatch)
    data = json.loads(path.read_text())
    body = {k: v for k, v in data.items() if k not in ("display", "signature")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hmac.new(KEY, canonical, hashlib.sha256).hexdigest() == data["signature"]["mac"]


def test_there_is_one_json_cleaner():
    """Every ``dumps`` and ``plain`` in the package is jsonplain's, or a one-line call to it."""
    for path in (ROOT / "edgequest").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name in ("dumps", "plain", "_plain", "_finite"):
                if path.name == "jsonplain.py":
                    continue
                body = [n for n in node.body if not isinstance(n, ast.Expr) or not isinstance(n.value, ast.Constant)]
                assert len(body) == 1 and "jsonplain" in ast.unparse(body[0]), f"{path}: {node.name}"


def test_a_copy_of_a_copy_names_both_kinds(toy_mission, tmp_path):
    sizes = (10, 12, 14)
    original = play(toy_mission, sizes=sizes)
    write_save(tmp_path / "a", original, player="ada")
    edited = play(toy_mission, sizes=sizes)
    edited.record.ledger = "Reworded, so not the same words."
    write_save(tmp_path / "b", edited, player="bob")
    write_save(tmp_path / "c", edited, player="cy")
    flags = {g.player: sorted((f.kind, len(f.saves)) for f in g.flags) for g in grade_paths([tmp_path], LIBRARY)}
    assert flags == {"ada": [("near-identical", 3)],
                     "bob": [("identical", 2), ("near-identical", 2)],
                     "cy": [("identical", 2), ("near-identical", 2)]}


# ------------------------------------------------------------------ old saves that repeat a design


def test_an_old_save_that_repeats_a_design_is_graded_with_the_repeat_marked_and_free(tmp_path):
    from edgequest.grading.formats import part_markdown, replay_text

    golden = GOLDEN / "golden-ada__edge-guardian.json"
    library = MissionLibrary()
    honest = grade_file(golden, library)
    data = json.loads(golden.read_text())
    runs = data["record"]["parts"]["1"]["runs"]
    runs.append(dict(runs[0]))  # played before a repeat was refused: the same design again
    copied = tmp_path / golden.name
    copied.write_text(json.dumps(data))
    grade = grade_file(copied, library)
    part = grade.to_dict()["parts"][0]
    assert part["runs_used"] == len(runs) - 1  # the repeat spent no run...
    assert part["runs"][-1]["repeat_of_run"] == 1 and "repeat_of_run" not in part["runs"][0]
    assert grade.parts[0].points == honest.parts[0].points  # ...so thrift, and the grade, are unchanged
    assert "repeats run 1" in replay_text(grade) and "repeats run 1" in part_markdown(grade.parts[0])
