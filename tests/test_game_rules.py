"""The game core: every legal and illegal transition, the scoring, the record and replay."""

from __future__ import annotations

import dataclasses

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
    for size in (6, 7, 8):
        game.run(1, {"size": size})
    with pytest.raises(GameError, match="all 3 runs are used"):
        game.run(1, {"size": 9})
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
    assert not outcome.passed and outcome.spec == 0.0 and outcome.margin == 0.0  # strict: a line failed
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
    assert score.spec == 0.0 and score.margin == 0.0  # strict by default: one line of two failed
    assert score.reflection == 1.0


def test_whole_campaign_then_ledger(game):
    finish_part(game, 1, 30, [{"size": 6}])
    finish_part(game, 2, "yes", [{"mode": "fancy"}])
    assert game.ledger_open and not game.finished
    game.write_ledger("Privacy first, because data locality is the only path.")
    assert game.finished
    assert 0 < game.total_points() <= 100


def test_same_design_same_outcome_whatever_the_seed_or_the_run_index(toy_mission):
    a, b = Game(toy_mission, 1), Game(toy_mission, 2)
    for g in (a, b):
        g.answer_lock(1, 30)
    b.run(1, {"size": 4})  # b reaches the design at a later run index
    va, vb = (g.run(1, {"size": 3}).metrics["value"] for g in (a, b))
    assert va == vb
    part = toy_mission.part(1)
    assert simulate_design(part, {"size": 3}).metrics["value"] == va  # what any student sees
    assert simulate_design(part, {"size": 3, "mode": "plain"}).metrics["value"] == va  # defaults spelt out
    # The draw depends on the design: another design draws other noise (value = size + noise).
    assert simulate_design(part, {"size": 4}).metrics["value"] - 4 != va - 3
    # An instructor's explore seed draws again; the same explore seed draws the same.
    explored = {simulate_design(part, {"size": 3}, seed).metrics["value"] for seed in (0, 1, 2)}
    assert len(explored) == 3 and va not in explored
    assert simulate_design(part, {"size": 3}, 1).metrics["value"] == simulate_design(part, {"size": 3}, 1).metrics["value"]


def test_the_lock_truth_ignores_the_players_seed(toy_mission, monkeypatch):
    from edgequest.simulators.registry import MODELS

    drawn = []
    truths = dict(MODELS["toy"].truths, cost_of_ten=lambda part, rng: drawn.append(rng.random()) or 30)
    monkeypatch.setitem(MODELS, "toy", dataclasses.replace(MODELS["toy"], truths=truths))
    for seed in (1, 2):
        game = Game(toy_mission, seed)
        game.answer_lock(1, 30)
        game.run(1, {"size": 6})
        game.commit(1)
        game.reveal(1)
    assert len(drawn) == 2 and drawn[0] == drawn[1]


def test_the_draw_comes_from_the_world_seed_else_the_track(toy_mission):
    from edgequest.game import draws
    from edgequest.campaign.schema import Figure

    part = toy_mission.part(1)
    assert draws.world_of(part) == "track:toy-track"
    renamed = dataclasses.replace(part, track="another-track")
    seeded = dataclasses.replace(part, params={**part.params, "world_seed": Figure(5, assumption="test")})
    reseeded = dataclasses.replace(part, params={**part.params, "world_seed": Figure(6, assumption="test")})
    design = {"size": 3, "mode": "plain"}
    firsts = {p.track + str(draws.world_of(p)): draws.design_generator(p, design).random()
              for p in (part, renamed, seeded, reseeded)}
    assert len(set(firsts.values())) == 4
    assert draws.design_generator(seeded, design).random() == firsts["toy-track5"]
    assert draws.canonical_design({"b": 1.0, "a": "x"}) == draws.canonical_design({"a": "x", "b": 1.0})
    assert draws.canonical_design({"a": 1}) != draws.canonical_design({"a": 1.5})


def test_running_a_design_again_is_refused_and_spends_nothing(game):
    game.answer_lock(1, 30)
    first = game.run(1, {"size": 6})
    game.run(1, {"size": 7})
    for again in ({"size": 6}, {"size": "6", "mode": "plain"}):
        with pytest.raises(GameError, match="you ran this design as run 1; .* commit run 1"):
            game.run(1, again)
    assert game.runs_left(1) == 1 and len(game.record.parts[1].runs) == 2
    assert game.commit(1, 0) is first


def test_an_old_save_that_repeats_a_design_replays_and_the_repeat_is_free(game, toy_mission):
    finish_part(game, 1, 30, [{"size": 20}, {"size": 6}], commit=1)
    data = game.record.to_dict()
    data["parts"]["1"]["runs"] = [{"size": 6, "mode": "plain"}, {"size": 20, "mode": "plain"},
                                  {"size": 6, "mode": "plain"}, {"size": 6, "mode": "plain"}]
    data["parts"]["1"]["commit"] = 3  # four runs recorded, one more than the budget: two repeats
    replayed = Game.replay(toy_mission, Record.from_dict(data))
    outcomes = replayed.outcomes(1)
    assert [o.repeat_of for o in outcomes] == [None, None, 0, 0]
    assert outcomes[3].metrics == outcomes[0].metrics and outcomes[3].index == 3
    assert outcomes[3].to_dict()["repeat_of_run"] == 1
    assert replayed.runs_used(1) == 2 and replayed.score(1) == game.score(1)  # graded as two runs
    assert replayed.record.to_dict() == data


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
        (lambda d: d["parts"]["1"]["runs"].extend([{"size": s} for s in (1, 2, 3)]), "all 3 runs are used"),
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


# ------------------------------------------------------------------ scoring as the briefing says


def test_a_failing_design_earns_what_the_mission_says(toy_mission):
    part = toy_mission.part(1)
    assert part.spec_scoring == "strict"
    metrics = {"cost": 60, "value": 9}  # over the cost line, the value guardrail met
    checks = scoring.check_spec(part, metrics)
    assert scoring.design_components(part, metrics, checks) == (0.0, 0.0)
    lenient = dataclasses.replace(part, spec_scoring="per_line")
    assert scoring.design_components(lenient, metrics, checks) == (0.5, 0.0)  # no margin either way
    passing = {"cost": 20, "value": 9}
    assert scoring.design_components(part, passing, scoring.check_spec(part, passing)) == (1.0, pytest.approx(0.6))


def test_the_spec_scoring_setting_is_read_from_the_mission_and_the_part(toy_path, tmp_path):
    from edgequest.campaign import load_mission
    from edgequest.errors import MissionError

    text = toy_path.read_text()
    lenient = text.replace('ledger_prompt = "Defend the toy strategy."',
                           'ledger_prompt = "Defend the toy strategy."\nspec_scoring = "per_line"')
    path = tmp_path / "lenient.toml"
    path.write_text(lenient)
    assert [p.spec_scoring for p in load_mission(path).parts] == ["per_line", "per_line"]
    path.write_text(lenient.replace('budget = 3\n', 'budget = 3\nspec_scoring = "strict"\n', 1))
    assert [p.spec_scoring for p in load_mission(path).parts] == ["strict", "per_line"]
    path.write_text(text.replace('budget = 3\n', 'budget = 3\nspec_scoring = "half"\n', 1))
    with pytest.raises(MissionError, match=r"parts\[0\]\.spec_scoring: expected one of strict, per_line"):
        load_mission(path)


def test_the_score_says_how_each_component_was_computed(game, toy_mission):
    finish_part(game, 1, 36, [{"size": 20}, {"size": 6}], commit=1)
    score = game.score(1)
    by_name = {c.name: c for c in score.components}
    assert list(by_name) == ["lock", "spec", "runs", "margin", "reflection"]
    assert sum(c.points for c in score.components) == pytest.approx(score.points)
    w = toy_mission.part(1).weights
    for c in score.components:
        assert c.out_of == pytest.approx(100 * getattr(w, c.name) / w.total)
        assert c.points == pytest.approx(c.out_of * getattr(score, c.name))
    assert by_name["lock"].how == "36 vs truth 30: 20.0% off, full within 10%, none at 30% → 50%"
    assert by_name["spec"].how == "2 of 2 SPEC lines pass → 100%"
    assert by_name["runs"].how == "2 of 3 runs: 1 - 1/3 → 67%"
    assert by_name["margin"].how == "cost 18, from 50 (0%) to 0 (100%) → 64%"
    assert by_name["reflection"].how.startswith(f"{len(REFLECTION)} characters, at least 40")
    lines = score.lines()
    assert len(lines) == 6 and lines[-1].startswith("Total") and f"{score.points:4.1f}" in lines[-1]


def test_a_strict_part_says_which_line_failed(game):
    finish_part(game, 1, 30, [{"size": 20}])
    how = {c.name: c.how for c in game.score(1).components}
    assert how["spec"] == "1 of 2 SPEC lines pass (failed: Cost within budget); every line must pass → 0%"
    assert how["margin"] == "counted only when every SPEC line passes → 0%"


# ------------------------------------------------------------------ no silent loss


def test_a_short_reflection_asks_to_be_confirmed(game):
    from edgequest.errors import ShortReflection

    game.answer_lock(1, 30)
    game.run(1, {"size": 6})
    game.commit(1)
    with pytest.raises(ShortReflection, match="has 9 characters; at least 40 earn its points") as caught:
        game.reflect(1, "  Too short  ")
    assert (caught.value.chars, caught.value.minimum) == (9, 40)
    assert game.phase(1) is Phase.REFLECT and game.record.parts[1].reflection is None
    game.reflect(1, "Too short", confirm_short=True)
    assert game.phase(1) is Phase.DONE and game.score(1).reflection == 0.0


def test_a_recorded_short_reflection_replays_without_asking(game, toy_mission):
    finish_part(game, 1, 30, [{"size": 6}])
    data = game.record.to_dict()
    data["parts"]["1"]["reflection"] = "ok"
    replayed = Game.replay(toy_mission, Record.from_dict(data))
    assert replayed.phase(1) is Phase.DONE and replayed.score(1).reflection == 0.0


def test_the_ledger_strategy_must_be_chosen(game):
    from edgequest.game.ledger import STRATEGIES, ledger_strategy

    finish_part(game, 1, 30, [{"size": 6}])
    finish_part(game, 2, "yes", [{"mode": "fancy"}])
    for strategy, message in ((None, "no strategy is chosen"), ("", "no strategy is chosen"),
                              ("Speed", "'Speed' is not a strategy")):
        with pytest.raises(GameError, match=f"the Ledger: {message}; choose one of Personalization, Privacy, Balanced"):
            game.submit_ledger(strategy, "Data stays home.")
    with pytest.raises(GameError, match="the Ledger is empty"):
        game.submit_ledger("Privacy", "  ")
    assert game.record.ledger is None and not game.finished
    game.submit_ledger("Privacy", "Data stays home.")
    assert game.record.ledger == "Strategy: Privacy\n\nData stays home."
    assert ledger_strategy(game.record.ledger) == "Privacy" and game.finished
    assert ledger_strategy("Privacy first, no header") is None and ledger_strategy(None) is None
    assert STRATEGIES == ("Personalization", "Privacy", "Balanced")


def test_part_1_shows_the_spread_of_a_design_over_fixed_other_fine_tunes():
    """A fine-tune's result depends on its draw: the run scores its own and shows the others'."""
    from edgequest.campaign import load_campaign
    from edgequest.game.play import simulate_design

    part = load_campaign()["edge-guardian"].part(1)
    design = {"method": "lora", "rank": 8}
    run = simulate_design(part, design).metrics
    assert run["accuracy_low"] <= run["accuracy"] <= run["accuracy_high"]
    assert run["accuracy_low"] < run["accuracy_high"]  # LoRA's initialisation really matters
    assert simulate_design(part, design).metrics == run  # the same set of draws for everyone
    # Full fine-tuning starts from the pretrained weights and sees the batches in one order:
    # no draw changes it, and the spread says so.
    full = simulate_design(part, {"method": "full"}).metrics
    assert full["accuracy_low"] == full["accuracy"] == full["accuracy_high"]


def test_a_design_is_one_design_whether_its_defaults_are_left_or_typed():
    """A float control written `default = 8` is the same design as a player's 8 or 8.0:
    the same draws in play, in `simulate` and in a replay."""
    from edgequest.campaign import load_campaign
    from edgequest.game.draws import canonical_design
    from edgequest.game.play import resolve_controls

    for mission in load_campaign().values():
        for part in mission.parts:
            left = resolve_controls(part, {})
            typed = resolve_controls(part, {c.name: str(c.default) for c in part.controls})
            assert canonical_design(left) == canonical_design(typed), (mission.id, part.number)
            for c in part.controls:
                assert type(left[c.name]) is {"int": int, "float": float, "choice": str}[c.kind], (c.name, c.kind)
