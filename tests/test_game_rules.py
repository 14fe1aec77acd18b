"""The game core: every legal and illegal transition, the scoring, the record and replay."""

from __future__ import annotations

import pytest

from edgequest.errors import ControlError, GameError, SaveError
from edgequest.game.play import Game, Phase, simulate_design
from edgequest.game.record import Record
from edgequest.game import scoring

REFLECTION = "Smaller designs cost less; fancy mode buys value without cost."


@pytest.fixture
def game(toy_mission):
    return Game(toy_mission, seed=7)


def finish_part(game, number, answer, controls_list, commit=None):
    game.answer_lock(number, answer)
    for controls in controls_list:
        game.run(number, controls)
    game.commit(number, commit)
    game.reflect(number, REFLECTION)


def test_phases_follow_the_flow(game):
    assert game.phase(1) is Phase.LOCK and game.phase(2) is Phase.LOCKED
    game.answer_lock(1, "31")
    assert game.phase(1) is Phase.RUNS
    game.run(1, {"size": 10})
    game.commit(1)
    assert game.phase(1) is Phase.REFLECT
    game.reflect(1, REFLECTION)
    assert game.phase(1) is Phase.DONE and game.phase(2) is Phase.LOCK
    assert game.current_part == 2 and not game.ledger_open


@pytest.mark.parametrize(
    "action, message",
    [
        (lambda g: g.run(1, {}), "lock in your prediction first"),
        (lambda g: g.commit(1), "lock in your prediction first"),
        (lambda g: g.reflect(1, REFLECTION), "lock in your prediction first"),
        (lambda g: g.answer_lock(2, "yes"), "finish the earlier parts first"),
        (lambda g: g.run(2, {}), "finish the earlier parts first"),
        (lambda g: g.write_ledger("My strategy"), "Ledger opens after the last part"),
        (lambda g: g.run(9, {}), "no part 9"),
        (lambda g: g.reveal(1), "revealed after you commit"),
    ],
)
def test_illegal_actions_before_the_lock(game, action, message):
    with pytest.raises(GameError, match=message):
        action(game)


def test_illegal_actions_during_and_after_runs(game):
    game.answer_lock(1, 30)
    with pytest.raises(GameError, match="lock a prediction now; the workbench is open"):
        game.answer_lock(1, 40)
    with pytest.raises(GameError, match="run at least one design"):
        game.commit(1)
    with pytest.raises(GameError, match="cannot reflect"):
        game.reflect(1, REFLECTION)
    for _ in range(3):
        game.run(1, {"size": 6})
    with pytest.raises(GameError, match="all 3 runs are used"):
        game.run(1, {"size": 6})
    with pytest.raises(GameError, match="run 3 does not exist"):
        game.commit(1, 3)
    game.commit(1, 0)
    with pytest.raises(GameError, match="design is committed"):
        game.run(1, {})
    with pytest.raises(GameError, match="reflection is empty"):
        game.reflect(1, "   ")
    with pytest.raises(GameError, match="at most 20000"):
        game.reflect(1, "x" * 20_001)
    game.reflect(1, REFLECTION)
    with pytest.raises(GameError, match="this part is finished"):
        game.reflect(1, REFLECTION)


@pytest.mark.parametrize(
    "controls, message",
    [
        ({"size": 0}, "control 'size': 0 is not accepted; expected an integer from 1 to 20"),
        ({"size": "2.5"}, "expected an integer from 1 to 20"),
        ({"size": "nan"}, "expected an integer"),
        ({"size": True}, "expected an integer"),
        ({"size": 1e308}, "expected an integer"),
        ({"mode": "gaudy"}, "expected one of plain, fancy"),
        ({"colour": "red"}, "no control 'colour'; its controls are mode, size"),
    ],
)
def test_out_of_range_controls_are_refused_and_nothing_is_recorded(game, controls, message):
    game.answer_lock(1, 30)
    with pytest.raises(ControlError, match=message):
        game.run(1, controls)
    assert game.record.parts[1].runs == [] and game.runs_left(1) == 3


@pytest.mark.parametrize("answer, message", [("many", "not a number"), (-5, "out of range"), (float("inf"), "out of range")])
def test_bad_lock_answers(game, answer, message):
    with pytest.raises(ControlError, match=message):
        game.answer_lock(1, answer)
    assert game.phase(1) is Phase.LOCK


def test_choice_lock_refuses_other_answers(game):
    finish_part(game, 1, 30, [{"size": 10}])
    with pytest.raises(ControlError, match="expected one of yes, no"):
        game.answer_lock(2, "maybe")


def test_runs_fill_defaults_and_check_the_spec(game):
    game.answer_lock(1, 30)
    outcome = game.run(1, {"mode": "fancy"})
    assert outcome.controls == {"size": 20, "mode": "fancy"}
    assert outcome.metrics["cost"] == 60
    assert [c.passed for c in outcome.checks] == [False, True]
    assert not outcome.passed and outcome.spec == 0.5 and outcome.margin == 0.0
    good = game.run(1, {"size": 6})
    assert good.passed and good.margin == pytest.approx(1 - 18 / 50)


def test_scoring_uses_the_missions_weights(game, toy_mission):
    finish_part(game, 1, 30, [{"size": 20}, {"size": 6}], commit=1)
    score = game.score(1)
    assert score.lock == 1.0  # truth 30, answered 30
    assert score.spec == 1.0 and score.runs == pytest.approx(1 - 1 / 3)
    assert score.margin == pytest.approx(1 - 18 / 50) and score.reflection == 1.0
    w = toy_mission.part(1).weights
    expected = 100 * (w.lock + w.spec + w.runs * (2 / 3) + w.margin * (1 - 18 / 50) + w.reflection) / w.total
    assert score.points == pytest.approx(expected)
    reveal = game.reveal(1)
    assert reveal.truth == 30 and reveal.answer == 30


def test_lock_closeness_falls_to_zero_at_three_tolerances(toy_mission):
    lock = toy_mission.part(1).lock  # tolerance 0.1
    assert scoring.lock_closeness(lock, 33, 30) == 1.0
    assert scoring.lock_closeness(lock, 36, 30) == pytest.approx(0.5)
    assert scoring.lock_closeness(lock, 39, 30) == pytest.approx(0.0, abs=1e-9)
    assert scoring.lock_closeness(lock, 45, 30) == 0.0
    assert scoring.lock_closeness(lock, None, 30) == 0.0


def test_thrift_and_reflection_thresholds():
    assert scoring.runs_thrift(1, 10) == 1.0
    assert scoring.runs_thrift(10, 10) == pytest.approx(0.1)
    assert scoring.runs_thrift(0, 10) == 0.0


def test_committing_a_failing_design_earns_no_margin(game):
    finish_part(game, 1, 30, [{"size": 20}])
    score = game.score(1)
    assert score.spec == 0.5 and score.margin == 0.0
    assert score.reflection == 1.0


def test_whole_campaign_then_ledger(game):
    finish_part(game, 1, 30, [{"size": 6}])
    finish_part(game, 2, "yes", [{"mode": "fancy"}])
    assert game.ledger_open and not game.finished
    game.write_ledger("Privacy first, because data locality is the only path.")
    assert game.finished
    assert 0 < game.total_points() <= 100


def test_same_seed_same_outcomes_and_different_seed_differs(toy_mission):
    a, b, c = Game(toy_mission, 1), Game(toy_mission, 1), Game(toy_mission, 2)
    for g in (a, b, c):
        g.answer_lock(1, 30)
    va, vb, vc = (g.run(1, {"size": 3}).metrics["value"] for g in (a, b, c))
    assert va == vb and va != vc
    assert simulate_design(toy_mission.part(1), {"size": 3}, 1).metrics["value"] == va


def test_record_holds_inputs_only_and_replays_to_the_same_game(game, toy_mission):
    finish_part(game, 1, 29, [{"size": 20}, {"size": 4, "mode": "fancy"}], commit=1)
    game.answer_lock(2, "no")
    game.run(2, {"size": 7})
    data = game.record.to_dict()
    assert data["parts"]["1"] == {
        "lock": 29,
        "runs": [{"size": 20, "mode": "plain"}, {"size": 4, "mode": "fancy"}],
        "commit": 1,
        "reflection": REFLECTION,
    }
    assert "metrics" not in str(data)
    replayed = Game.replay(toy_mission, Record.from_dict(data))
    assert replayed.record.to_dict() == data
    assert replayed.score(1) == game.score(1)
    assert [o.metrics for o in replayed.outcomes(2)] == [o.metrics for o in game.outcomes(2)]
    assert replayed.phase(2) is Phase.RUNS


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["parts"]["1"]["runs"].extend([{"size": 1}] * 3), "all 3 runs are used"),
        (lambda d: d["parts"]["1"]["runs"][0].update(size=99), "run 1: control 'size'"),
        (lambda d: d["parts"]["1"].update(commit=7), "run 7 does not exist"),
        (lambda d: d["parts"]["1"].update(lock=None), "before the Lock"),
        (lambda d: d["parts"].update({"2": {"lock": "yes", "runs": [], "commit": None, "reflection": None}})
         or d["parts"]["1"].update(reflection=None), "finish the earlier parts"),
        (lambda d: d.update(track="other"), "not 'toy-track'"),
        (lambda d: d["parts"].update({"5": {"lock": None, "runs": [], "commit": None, "reflection": None}}), "part 5"),
    ],
)
def test_replay_refuses_illegal_records(game, toy_mission, edit, message):
    finish_part(game, 1, 29, [{"size": 5}])
    data = game.record.to_dict()
    edit(data)
    with pytest.raises(GameError, match=message):
        Game.replay(toy_mission, Record.from_dict(data))


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "expected a table"),
        ({"track": "t", "seed": -1, "parts": {}}, "seed"),
        ({"track": "t", "seed": True, "parts": {}}, "seed"),
        ({"track": "", "seed": 1, "parts": {}}, "track"),
        ({"track": "t", "seed": 1, "parts": {"x": {}}}, "part numbers"),
        ({"track": "t", "seed": 1, "parts": {"01": {}}}, "part numbers"),
        ({"track": "t", "seed": 1, "parts": {"1": {"runs": "many"}}}, "runs"),
        ({"track": "t", "seed": 1, "parts": {"1": {"runs": [{"size": float("nan")}]}}}, "runs\\[0\\].size"),
        ({"track": "t", "seed": 1, "parts": {"1": {"runs": [{}] * 101}}}, "at most 100 runs"),
        ({"track": "t", "seed": 1, "parts": {"1": {"commit": -1}}}, "commit"),
        ({"track": "t", "seed": 1, "parts": {"1": {"reflection": 5}}}, "reflection"),
        ({"track": "t", "seed": 1, "parts": {}, "ledger": "x" * 20_001}, "ledger"),
        ({"track": "t", "seed": 1, "parts": {}, "score": 100}, "unknown key 'score'"),
    ],
)
def test_record_from_dict_names_what_is_wrong(data, message):
    with pytest.raises(SaveError, match=message):
        Record.from_dict(data)
