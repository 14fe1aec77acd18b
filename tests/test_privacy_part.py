"""Part 3 as the player meets it: DP-FedAvg calibrated to a target epsilon on each track."""

from __future__ import annotations

import math

import pytest

from edgequest.campaign import load_campaign
from edgequest.engine import privacy
from edgequest.game.play import simulate_design
from edgequest.simulators import privacy as privacy_model
from edgequest.simulators.registry import MODELS

CAMPAIGN = load_campaign()
TRACKS = sorted(CAMPAIGN)
DESIGN = dict(epsilon=0.9, clip=1, clients=1000, rounds=60, local_epochs=2)
# The experiment: epsilon 1, central noise, 100 rounds, 2 local epochs, clip 1.
AT_EPSILON_1 = dict(epsilon=1.0, aggregation="central", rounds=100, local_epochs=2, clip=1)


@pytest.mark.parametrize("track", TRACKS)
def test_the_achieved_epsilon_meets_the_target_and_is_accounted(track):
    part = CAMPAIGN[track].part(3)
    fleet = int(part.param("fleet_size"))
    for aggregation in ("central", "local"):
        m = simulate_design(part, dict(DESIGN, aggregation=aggregation), 0).metrics
        assert m["epsilon"] <= 0.9 and m["epsilon"] > 0.8  # calibrated close to the target, never above
        # central: Poisson sampling at q = n / W over every round; local: q = 1 over the most
        # reports any device sends when devices take turns, ceil(R n / W)
        q, steps = (1000 / fleet, 60) if aggregation == "central" else (1.0, math.ceil(60 * 1000 / fleet))
        assert (m["sampling_rate"], m["compositions"]) == (pytest.approx(q), steps)
        assert m["epsilon"] == pytest.approx(privacy.epsilon(q, m["noise_multiplier"], steps, m["delta"]), rel=1e-3)


@pytest.mark.parametrize("track", ["cloud-titan", "edge-guardian", "mobile-nomad"])
def test_at_epsilon_1_a_fleet_sized_cohort_buys_back_the_accuracy(track):
    """10,000 participants a round beat 50 by at least 10 points; 50 lose at least 10 points
    against the same design without privacy."""
    part = CAMPAIGN[track].part(3)
    for seed in (0, 1):
        small = simulate_design(part, dict(AT_EPSILON_1, clients=50), seed).metrics
        large = simulate_design(part, dict(AT_EPSILON_1, clients=10_000), seed).metrics
        assert small["epsilon"] <= 1.0 and large["epsilon"] <= 1.0
        assert large["accuracy"] >= small["accuracy"] + 0.10, (small["accuracy"], large["accuracy"])
        assert small["accuracy"] <= small["baseline_accuracy"] - 0.10, (small["accuracy"], small["baseline_accuracy"])


@pytest.mark.parametrize("track", TRACKS)
def test_below_epsilon_1_a_small_cohort_loses_badly(track):
    part = CAMPAIGN[track].part(3)
    m = simulate_design(part, dict(AT_EPSILON_1, epsilon=0.5, clients=20), 0).metrics
    assert m["accuracy"] < m["target_accuracy"] - 0.15
    assert m["accuracy"] < m["baseline_accuracy"] - 0.15


@pytest.mark.parametrize("track", TRACKS)
def test_the_noise_is_the_real_updates(track):
    """Per-coordinate noise on the mean is z C sqrt(d_real / d_proxy) / n, with d_real the mission's
    figure, or the committed part-1 design's trainable parameters when there is one."""
    part = CAMPAIGN[track].part(3)
    model = MODELS["privacy"]
    design = dict(DESIGN, aggregation="central", clip=2)
    m = simulate_design(part, design, 0).metrics
    d_real, d_proxy = int(part.param("update_params")), 31 * 10
    assert (m["d_real"], m["d_source"], m["d_proxy"]) == (d_real, "mission figure", d_proxy)
    assert m["noise_sd"] == pytest.approx(m["noise_multiplier"] * 2 * math.sqrt(d_real / d_proxy) / 1000, rel=1e-3)
    assert m["snr"] == pytest.approx(1000 / (m["noise_multiplier"] * math.sqrt(d_real)), rel=1e-3)
    from numpy.random import default_rng

    with_part1 = model.simulate(part, dict(design), default_rng(0), earlier={1: {"trainable_params": 12_345}})
    assert (with_part1["d_real"], with_part1["d_source"]) == (12_345, "part 1 design")


@pytest.mark.parametrize("track", TRACKS)
def test_bytes_energy_and_compute_count_every_participant(track):
    part = CAMPAIGN[track].part(3)
    m = simulate_design(part, dict(DESIGN, aggregation="central"), 0).metrics
    n, rounds, epochs = 1000, 60, 2
    expected_gb = rounds * n * 2 * float(part.param("payload_mb")) / 1e3  # download + upload, MB -> GB
    assert m["gb_transferred"] == pytest.approx(expected_gb, rel=0.02)  # Poisson cohorts: n on average
    assert m["energy_kj"] == pytest.approx(m["gb_transferred"] * 1e3 * float(part.param("energy_mj_per_mb")) / 1e6,
                                           rel=1e-3)
    assert m["client_epochs"] == pytest.approx(rounds * n * epochs, rel=0.02)
    assert m["simulated_clients"] < n


@pytest.mark.parametrize("track", TRACKS)
def test_each_run_reports_a_no_privacy_baseline_that_reaches_the_target_sooner(track):
    part = CAMPAIGN[track].part(3)
    n = min(10_000, int(part.param("fleet_size")))
    m = simulate_design(part, dict(AT_EPSILON_1, clients=n), 0).metrics
    assert m["baseline_accuracy"] >= m["accuracy"]
    assert len(m["curve"]) == 100 and all("baseline_accuracy" in point for point in m["curve"])
    assert m["curve"][-1]["baseline_accuracy"] == m["baseline_accuracy"]
    quiet, noisy = m["baseline_compute_to_target"], m["compute_to_target"]
    assert quiet["rounds"] is not None
    assert noisy["client_epochs"] is None or noisy["client_epochs"] > quiet["client_epochs"]


@pytest.mark.parametrize("track", TRACKS)
def test_at_the_same_epsilon_local_noise_costs_far_more_accuracy_than_central(track):
    part = CAMPAIGN[track].part(3)
    design = dict(DESIGN, clients=min(10_000, int(part.param("fleet_size"))), rounds=100)
    for seed in (0, 1):
        central = simulate_design(part, dict(design, aggregation="central"), seed).metrics
        local = simulate_design(part, dict(design, aggregation="local"), seed).metrics
        assert local["accuracy"] < central["accuracy"] - 0.2


@pytest.mark.parametrize("track", TRACKS)
def test_more_noise_needs_more_compute_to_reach_the_target(track):
    """Same design, same seeds, three privacy targets: compute to target grows as epsilon shrinks."""
    part = CAMPAIGN[track].part(3)
    design = dict(AT_EPSILON_1, clients=min(5_000, int(part.param("fleet_size"))))
    totals = {8.0: 0.0, 0.9: 0.0, 0.3: 0.0}
    for seed in (0, 1):
        spent = {}
        for eps in totals:
            m = simulate_design(part, dict(design, epsilon=eps), seed).metrics
            epochs = m["compute_to_target"]["client_epochs"]
            spent[eps] = 1e12 if epochs is None else epochs  # never reaching it costs more than any budget
            totals[eps] += spent[eps]
        assert spent[8.0] < spent[0.3], spent  # per seed: much more noise, more compute
    assert totals[8.0] <= totals[0.9] <= totals[0.3], totals  # on average, monotone in the noise


def test_local_accounting_composes_over_a_devices_worst_case_reports():
    part = CAMPAIGN["tiny-pioneer"].part(3)  # 10,000 hearables
    q, steps, z = privacy_model.accounting(part, dict(DESIGN, clients=5000, aggregation="local"))
    assert q == 1.0 and steps == 30  # 300,000 reports over 10,000 devices taking turns: 30 each at most
    q, steps, z = privacy_model.accounting(part, dict(DESIGN, clients=50, aggregation="local"))
    assert q == 1.0 and steps == 1
    q_c, steps_c, z_c = privacy_model.accounting(part, dict(DESIGN, clients=50, aggregation="central"))
    assert q_c == pytest.approx(50 / 10_000) and steps_c == 60 and z_c < z


def test_the_cohort_control_reaches_the_fleet_on_a_readable_log_scale():
    from edgequest.tui import stepping

    for track in TRACKS:
        part = CAMPAIGN[track].part(3)
        control = next(c for c in part.controls if c.name == "clients")
        assert control.max == 10_000 <= int(part.param("fleet_size"))
        values, value = [control.min], control.min
        while value < control.max:
            value = stepping.step(control, value, +1)
            values.append(value)
        assert values == [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000]


def test_a_cohort_larger_than_the_fleet_is_refused_with_a_clear_message():
    part = CAMPAIGN["tiny-pioneer"].part(3)
    with pytest.raises(ValueError, match=r"clients.*10,000"):
        privacy_model.accounting(part, dict(DESIGN, clients=20_000, aggregation="central"))
