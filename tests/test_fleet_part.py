"""Part 2 as the player meets it: the fleet sends what part 1's committed design trains."""

from __future__ import annotations

import pytest

from edgequest.campaign import load_campaign
from edgequest.game.play import Game, simulate_design

CAMPAIGN = load_campaign()
REFLECTION = "The committed design is the cheapest that meets the SPEC, and here is why."


@pytest.mark.parametrize("track, part1, part2, smaller", [
    ("edge-guardian", dict(method="lora", rank=8, batch=8), dict(rounds=100, clients=20, local_epochs=5, reliability=0.75),
     10),
    # The hearable's whole model ships as int8; its LoRA update trains in fp32, so it saves less.
    ("tiny-pioneer", dict(method="lora", rank=2, batch=1, optimizer="sgd"),
     dict(mode="gossip", rounds=40, sync_interval_s=600, compression=1.0, local_steps=5), 3),
])
def test_part_two_sends_the_update_part_one_committed(track, part1, part2, smaller):
    mission = CAMPAIGN[track]
    game = Game(mission, seed=3)
    game.answer_lock(1, 100)
    committed = game.run(1, part1)
    game.commit(1)
    game.reflect(1, REFLECTION)
    game.answer_lock(2, "no")
    linked = game.run(2, part2).metrics
    alone = simulate_design(mission.part(2), part2).metrics  # no part 1: the mission's figure

    assert linked["payload_source"] == "part 1 design"
    assert linked["payload_mb"] == pytest.approx(committed.metrics["update_mb"], rel=1e-6)
    assert alone["payload_source"] == "mission figure"
    assert alone["payload_mb"] == mission.part(2).param("payload_mb")
    # An adapter is far smaller than the model: the same rounds cost far fewer bytes.
    assert linked["payload_mb"] < alone["payload_mb"] / smaller
    assert linked["gb_transferred"] < alone["gb_transferred"] / smaller
    # The learning is the same simulation either way: only the bytes follow the design.
    assert linked["accuracy"] == alone["accuracy"]


def test_update_size_follows_the_trainable_parameters():
    part = CAMPAIGN["edge-guardian"].part(1)
    full = simulate_design(part, {"method": "full"}, 0).metrics
    lora = simulate_design(part, {"method": "lora", "rank": 8}, 0).metrics
    assert full["update_mb"] == pytest.approx(full["trainable_params"] * 4 / 1e6)  # fp32 training
    assert lora["update_mb"] == pytest.approx(lora["trainable_params"] * 4 / 1e6)
    assert lora["update_mb"] < full["update_mb"] / 50
