"""Replay: the grader's part-by-part replay agrees with Game.replay, and ``edgequest replay`` prints it."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgequest import cli
from edgequest.errors import GameError
from edgequest.game.play import Game
from edgequest.game.record import PartRecord, Record
from edgequest.grading import library as library_module
from edgequest.grading.library import MissionLibrary
from edgequest.grading.replay import replay_record
from edgequest.saves.store import SaveSlot
from tests.conftest import FIXTURES

REFLECTION = "Smaller designs cost less; fancy mode buys value without cost."


def finished_game(mission, seed=7) -> Game:
    game = Game(mission, seed=seed)
    game.answer_lock(1, 31)
    game.run(1, {"size": 10})
    game.run(1, {"size": 12, "mode": "fancy"})
    game.commit(1, 0)
    game.reflect(1, REFLECTION)
    game.answer_lock(2, "no")
    game.run(2, {"mode": "fancy"})
    game.commit(2)
    game.reflect(2, "Fancy mode doubled the value for the same cost, so it was worth it.")
    game.write_ledger("Personalise where the cost allows; keep the data local.")
    return game


def test_a_valid_record_replays_to_the_same_scores(toy_mission):
    game = finished_game(toy_mission)
    replay = replay_record(toy_mission, game.record)
    assert replay.complete and replay.game.finished
    for n in (1, 2):
        assert replay.game.score(n) == game.score(n)
        assert [o.metrics for o in replay.game.outcomes(n)] == [o.metrics for o in game.outcomes(n)]


def test_a_broken_part_is_named_and_earlier_parts_still_count(toy_mission):
    record = finished_game(toy_mission).record
    record.parts[2].runs[0]["size"] = 99  # out of range (1 to 20)
    replay = replay_record(toy_mission, record)
    assert list(replay.part_problems) == [2]
    assert "part 2: run 1: control 'size'" in replay.part_problems[2] and "from 1 to 20" in replay.part_problems[2]
    assert replay.game.score(1).points > 0
    assert replay.save_problems == ("the Ledger was recorded after part 2, which could not be replayed",)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r.parts[1].runs.extend([{"size": s} for s in (15, 16, 17)]), "part 1: run 4: all 3 runs are used"),
        (lambda r: setattr(r.parts[1], "commit", 7), "part 1: commit: run 7 does not exist"),
        (lambda r: setattr(r.parts[1], "lock", None), "part 1: moves were recorded before the Lock"),
        (lambda r: setattr(r.parts[1], "lock", 1e308), "part 1: the Lock: 1e+308 is out of range"),
        (lambda r: setattr(r.parts[1], "commit", None), "a reflection was recorded before a design was committed"),
        (lambda r: setattr(r.parts[1], "reflection", "  "), "part 1: the reflection is empty"),
    ],
)
def test_each_broken_rule_is_reported_for_its_part(toy_mission, edit, message):
    record = finished_game(toy_mission).record
    edit(record)
    replay = replay_record(toy_mission, record)
    assert message in replay.part_problems[1]
    assert "after part 1, which could not be replayed" in replay.part_problems[2]


def test_moves_out_of_order_make_the_later_part_not_gradable(toy_mission):
    record = Record(track="toy-track", seed=1)
    record.parts[1] = PartRecord(lock=30, runs=[{"size": 5}])  # not committed: part 2 stays shut
    record.parts[2] = PartRecord(lock="yes")
    replay = replay_record(toy_mission, record)
    assert "finish the earlier parts first" in replay.part_problems[2]
    assert 1 not in replay.part_problems


def test_an_unknown_part_is_a_save_problem(toy_mission):
    record = finished_game(toy_mission).record
    record.parts[9] = PartRecord(lock=1)
    replay = replay_record(toy_mission, record)
    assert not replay.complete and "has no part 9" in replay.save_problems[0]


# ------------------------------------------------------------------ agreement with Game.replay

controls = st.fixed_dictionaries(
    {},
    optional={
        "size": st.one_of(st.integers(-3, 25), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=3)),
        "mode": st.sampled_from(["plain", "fancy", "odd", ""]),
        "other": st.integers(),
    },
)
part_records = st.builds(
    PartRecord,
    lock=st.one_of(st.none(), st.integers(-5, 1200), st.sampled_from(["yes", "no", "maybe", "30"])),
    runs=st.lists(controls, max_size=5),
    commit=st.one_of(st.none(), st.integers(0, 5)),
    reflection=st.one_of(st.none(), st.sampled_from(["", "  ", "short", REFLECTION])),
)
records = st.builds(
    Record,
    track=st.just("toy-track"),
    seed=st.integers(0, 2**63 - 1),
    parts=st.dictionaries(st.sampled_from([1, 2, 3]), part_records, max_size=3),
    ledger=st.one_of(st.none(), st.sampled_from(["", "A ledger entry."])),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=records)
def test_part_replay_accepts_exactly_what_game_replay_accepts(toy_mission, record):
    try:
        reference = Game.replay(toy_mission, record)
    except GameError:
        reference = None
    ours = replay_record(toy_mission, record)
    assert ours.complete == (reference is not None), (ours.part_problems, ours.save_problems)
    if reference is not None:
        for n in (1, 2):
            assert ours.game.score(n) == reference.score(n)
        assert ours.game.record.to_dict() == reference.record.to_dict()


# ------------------------------------------------------------------ the command


@pytest.fixture
def toy_library(monkeypatch):
    monkeypatch.setattr(library_module, "MissionLibrary", lambda folder=None: MissionLibrary(FIXTURES))


@pytest.fixture
def save_file(toy_mission, tmp_path):
    game = finished_game(toy_mission)
    with SaveSlot.open(tmp_path, "ada", "toy-track") as slot:
        slot.write(toy_mission.id, toy_mission.sha256, game.record, display={"total": 100.0})
    return slot.path, game


def test_replay_prints_every_run_part_by_part_with_scores(toy_library, save_file, capsys):
    path, game = save_file
    assert cli.main(["replay", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "Part 1: Toy frontier" in out and "Part 2: Toy choice" in out
    assert f"{game.score(1).points:5.1f} / 100" in out
    assert "size=12 mode=fancy" in out and "truth 30 units" in out
    assert f"total {game.total_points():.1f} / 100" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_replay_json_holds_every_runs_metrics(toy_library, save_file, capsys):
    path, game = save_file
    assert cli.main(["replay", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    runs = data["parts"][0]["runs"]
    assert [r["metrics"]["cost"] for r in runs] == [o.metrics["cost"] for o in game.outcomes(1)]
    assert data["score"] == round(game.total_points(), 4)


def test_replay_of_a_tampered_save_prints_what_replays_and_exits_2(toy_library, save_file, capsys):
    path, _ = save_file
    data = json.loads(path.read_text())
    data["record"]["parts"]["2"]["runs"][0]["size"] = 500
    path.write_text(json.dumps(data))
    assert cli.main(["replay", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "Part 1: Toy frontier" in out and "not gradable" in out
    assert err.count("\n") == 1 and "part 2: run 1: control 'size'" in err


@pytest.mark.parametrize("content, message", [(b"{", "not valid JSON"), (None, "no such file")])
def test_replay_of_an_unreadable_save_is_one_line_and_exit_2(toy_library, tmp_path, capsys, content, message):
    path = tmp_path / "s.json"
    if content is not None:
        path.write_bytes(content)
    assert cli.main(["replay", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err and err.startswith("edgequest: error:")
