"""The campaign as shipped: valid, sourced, winnable within the budget, not won by default."""

from __future__ import annotations

import hashlib
import re

import pytest

from edgequest.campaign import load_campaign, mission_dir
from edgequest.campaign.versions import mission_by_sha256, released_dir, released_name
from edgequest.game.play import Game, simulate_design

CAMPAIGN = load_campaign()
TRACKS = ("cloud-titan", "edge-guardian", "mobile-nomad", "tiny-pioneer")

# One design per part that meets the SPEC: the instructors' answer key, kept honest here.
ANSWER_KEY = {
    ("edge-guardian", 1): dict(method="lora", rank=8, batch=8),
    ("edge-guardian", 2): dict(rounds=100, clients=30, local_epochs=5, reliability=0.75, update_format="int8"),
    ("edge-guardian", 3): dict(aggregation="central", epsilon=0.9, clip=1, clients=10000, rounds=100, local_epochs=2),
    ("cloud-titan", 1): dict(method="lora", rank=4, targets="q_v", base_precision="fp8", hbm_cache_gb=2,
                             host_cache_gb=512, batch=1),
    ("cloud-titan", 2): dict(rounds=100, clients=20, local_epochs=5, reliability=0.9, update_format="int8"),
    ("cloud-titan", 3): dict(aggregation="central", epsilon=0.9, clip=1, clients=10000, rounds=100, local_epochs=2),
    ("mobile-nomad", 1): dict(method="lora", rank=8, processor="npu"),
    ("mobile-nomad", 2): dict(rounds=100, clients=20, local_epochs=5, reliability=0.8, update_format="int8"),
    ("mobile-nomad", 3): dict(aggregation="central", epsilon=0.9, clip=1, clients=10000, rounds=100, local_epochs=2),
    ("tiny-pioneer", 1): dict(method="lora", rank=8, batch=1, optimizer="sgd"),
    ("tiny-pioneer", 2): dict(mode="gossip", rounds=40, sync_interval_s=600, compression=1.0, local_steps=5),
    ("tiny-pioneer", 3): dict(aggregation="central", epsilon=0.9, clip=1, clients=1000, rounds=100, local_epochs=2),
}
PARTS = [(t, p) for t in TRACKS for p in (1, 2, 3)]


def test_the_campaign_has_four_tracks_of_three_parts_with_ten_runs():
    assert tuple(sorted(CAMPAIGN)) == TRACKS
    for mission in CAMPAIGN.values():
        assert [p.number for p in mission.parts] == [1, 2, 3]
        assert [p.model for p in mission.parts] == ["frontier", "fleet", "privacy"]
        assert all(p.budget == 10 for p in mission.parts)


def test_every_figure_and_threshold_has_a_provenance():
    for mission in CAMPAIGN.values():
        figures = list(mission.device.values()) + [f for p in mission.parts for f in p.params.values()]
        for figure in figures:
            assert figure.source or figure.assumption
        for part in mission.parts:
            for check in part.spec:
                assert check.source or check.assumption


def test_lock_questions_are_filled_from_the_engine():
    for mission in CAMPAIGN.values():
        game = Game(mission, 0)
        for number in (1, 2, 3):
            question = game.lock_question(number)
            assert "{" not in question, question
        assert re.search(r"needs about \d", game.lock_question(1))


@pytest.mark.parametrize("track, number", PARTS)
def test_defaults_do_not_meet_the_spec(track, number):
    part = CAMPAIGN[track].part(number)
    assert not simulate_design(part, {}).passed  # what every student sees
    for seed in (0, 1):  # and not by luck in another draw either
        assert not simulate_design(part, {}, seed).passed


@pytest.mark.parametrize("track, number", PARTS)
def test_the_answer_key_meets_the_spec_within_the_run_budget(track, number):
    """Played through the game by two players: one run, committed, passes every SPEC check.

    A run's numbers depend on the design alone, so the players' seeds change nothing and
    the key passes for every student.
    """
    mission = CAMPAIGN[track]
    seen = []
    for seed in (0, 7):
        game = Game(mission, seed)
        for earlier in range(1, number):  # reach the part by the rules, with the key's designs
            game.answer_lock(earlier, mission.part(earlier).lock.choices[0] if mission.part(earlier).lock.kind == "choice" else 1)
            game.run(earlier, ANSWER_KEY[(track, earlier)])
            game.commit(earlier)
            game.reflect(earlier, "A reflection long enough to count as submitted for this test.")
        part = mission.part(number)
        game.answer_lock(number, part.lock.choices[0] if part.lock.kind == "choice" else 1)
        outcome = game.run(number, ANSWER_KEY[(track, number)])
        assert outcome.passed, [(c.check.metric, c.value) for c in outcome.checks]
        assert game.runs_left(number) == part.budget - 1
        seen.append(outcome.metrics)
    assert seen[0] == seen[1]


def test_lock_truths_come_from_the_engine_and_teach_the_lesson():
    for mission in CAMPAIGN.values():
        game = Game(mission, 0)
        ram = game.truth(1)
        inference = float(re.search(r"needs about ([\d.]+) MB", game.lock_question(1)).group(1))
        assert ram > inference  # training the last layers costs more than inference
        assert game.truth(2) == "no"  # under extreme non-IID data, more rounds do not always help
        assert game.truth(3) == "increase"  # noise raises the compute to converge


def test_every_current_mission_is_released_so_old_grades_stay_put():
    """Releasing = copying the file to missions/released/<id>-<sha12>.toml (see versions.py)."""
    for mission in CAMPAIGN.values():
        sha = hashlib.sha256((mission_dir() / f"{mission.id}.toml").read_bytes()).hexdigest()
        copy = released_dir() / released_name(mission.id, sha)
        assert copy.is_file(), f"missing release {copy}: copy {mission.id}.toml there"
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == sha
        assert mission_by_sha256(sha).id == mission.id
    assert mission_by_sha256("0" * 64) is None


def test_the_schema_guide_lists_every_model_requirement():
    from edgequest.simulators.registry import MODELS

    guide = (mission_dir() / "README.md").read_text()
    for name, model in MODELS.items():
        if name == "toy":
            continue
        assert f"### `{name}`" in guide
        requirements = list(model.params) + list(model.controls)
        for params, controls, _metrics in model.variants.values():
            requirements += list(params) + list(controls)
        for req in requirements:
            assert f"`{req.name}`" in guide, f"missions/README.md does not document {name}.{req.name}"
        for truth in model.truths:
            assert f"`{truth}`" in guide


def test_every_released_mission_version_still_loads():
    """An old save is graded with the version it recorded, so every released copy must load."""
    from edgequest.campaign import load_mission

    copies = sorted(released_dir().glob("*.toml"))
    assert copies
    for copy in copies:
        mission = load_mission(copy)
        assert copy.name == released_name(mission.id, mission.sha256)


def test_training_the_last_few_blocks_is_not_mistaken_for_full_fine_tuning():
    """last_k trains the same share of the proxy's depth as of the real network's blocks."""
    part = CAMPAIGN["edge-guardian"].part(1)  # ResNet-50: 18 blocks
    last3 = simulate_design(part, {"method": "last_k", "layers": 3, "batch": 8}, 0).metrics
    every = simulate_design(part, {"method": "last_k", "layers": 18, "batch": 8}, 0).metrics
    full = simulate_design(part, {"method": "full", "batch": 8}, 0).metrics
    assert last3["accuracy"] < full["accuracy"]
    assert every["trainable_params"] == full["trainable_params"]


def test_every_shipped_part_scores_its_spec_strictly():
    """The briefings say "every line must pass": a design that fails one earns no SPEC points."""
    for mission in CAMPAIGN.values():
        assert [p.spec_scoring for p in mission.parts] == ["strict"] * len(mission.parts)
