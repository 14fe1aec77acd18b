"""Part 3 as the player meets it: DP-FedAvg calibrated to a target epsilon on each track."""

from __future__ import annotations

import pytest

from edgequest.campaign import load_campaign
from edgequest.engine import privacy
from edgequest.game.play import simulate_design
from edgequest.simulators import privacy as privacy_model

CAMPAIGN = load_campaign()
TRACKS = sorted(CAMPAIGN)
DESIGN = dict(epsilon=0.9, clip=2, clients=50, rounds=60, local_epochs=3)


@pytest.mark.parametrize("track", TRACKS)
def test_the_achieved_epsilon_meets_the_target_and_is_accounted(track):
    part = CAMPAIGN[track].part(3)
    for aggregation in ("central", "local"):
        m = simulate_design(part, dict(DESIGN, aggregation=aggregation), 0).metrics
        assert m["epsilon"] <= 0.9 and m["epsilon"] > 0.8  # calibrated close to the target, never above
        assert m["epsilon"] == pytest.approx(
            privacy.epsilon(m["sampling_rate"], m["noise_multiplier"], 60 if aggregation == "central" else 1,
                            m["delta"]), rel=1e-3)


@pytest.mark.parametrize("track", TRACKS)
def test_at_the_same_epsilon_local_noise_costs_far_more_accuracy_than_central(track):
    part = CAMPAIGN[track].part(3)
    for seed in (0, 1, 2):
        central = simulate_design(part, dict(DESIGN, aggregation="central"), seed).metrics
        local = simulate_design(part, dict(DESIGN, aggregation="local"), seed).metrics
        assert local["noise_multiplier"] > 3 * central["noise_multiplier"]
        assert local["accuracy"] < central["accuracy"] - 0.2


@pytest.mark.parametrize("track", TRACKS)
def test_more_noise_needs_more_compute_to_reach_the_target(track):
    """Same design, same seeds, three privacy targets: compute to target grows as epsilon shrinks."""
    part = CAMPAIGN[track].part(3)
    design = dict(DESIGN, aggregation="central", clip=2)
    totals = {8.0: 0.0, 0.9: 0.0, 0.3: 0.0}
    for seed in (0, 1, 2):
        spent = {}
        for eps in totals:
            m = simulate_design(part, dict(design, epsilon=eps), seed).metrics
            epochs = m["compute_to_target"]["client_epochs"]
            spent[eps] = 1e9 if epochs is None else epochs  # never reaching it costs more than any budget
            totals[eps] += spent[eps]
        assert spent[8.0] < spent[0.3], spent  # per seed: much more noise, more compute
    assert totals[8.0] <= totals[0.9] <= totals[0.3], totals  # on average, monotone in the noise


def test_local_accounting_composes_over_a_clients_own_participations():
    part = CAMPAIGN["tiny-pioneer"].part(3)  # 10,000 hearables: 50 per round for 60 rounds
    q, steps, z = privacy_model.accounting(part, dict(DESIGN, aggregation="local"))
    assert q == 1.0 and steps == 1  # 3,000 reports over 10,000 devices: each reports at most once (ceil)
    q_c, steps_c, z_c = privacy_model.accounting(part, dict(DESIGN, aggregation="central"))
    assert q_c == pytest.approx(50 / 10_000) and steps_c == 60 and z_c < z
