"""Tests of FedAvg / DP-FedAvg, its accounting helpers and the part-2 Lock helper."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgequest.engine.federated_data import city_fleet, synthetic_fleet
from edgequest.engine.fedavg import (
    clip_deltas,
    client_reliability,
    communication_gb,
    expected_aggregated,
    flops_per_sample,
    model_parameter_count,
    round_returns,
    rounds_always_help,
    rounds_to_target,
    run_fedavg,
)

SEEDS = (0, 1, 2)
IID = dict(alpha=np.inf, city_alpha=np.inf, city_shift=0.0)
EXTREME = dict(alpha=0.01)


def _run(data, seed, **controls):
    settings_ = dict(rounds=60, clients=10, local_epochs=2, reliability=1.0, lr=1.0, batch_size=16)
    settings_.update(controls)
    return run_fedavg(data, rng=np.random.default_rng(1000 + seed), **settings_)


def _rounds_needed(accuracy, target) -> int:
    """Rounds to reach target; a run that never does counts as one round more."""
    hit = rounds_to_target(accuracy, target)
    return len(accuracy) + 1 if hit is None else hit


# --------------------------------------------------------------------------
# the algorithm itself
# --------------------------------------------------------------------------


def test_one_full_batch_round_is_one_gradient_step_on_the_global_objective() -> None:
    """E = 1, one minibatch per client, everyone reports: FedAvg's sample-weighted
    average of one local step is exactly one gradient step on the pooled loss."""
    data = city_fleet(n_clients=30, rng=np.random.default_rng(7))
    lr = 0.7
    result = run_fedavg(data, rounds=1, clients=30, local_epochs=1, reliability=1.0, lr=lr,
                        batch_size=data.max_samples, rng=np.random.default_rng(0))
    x = np.c_[data.x_train, np.ones(len(data.y_train))].astype(np.float64)
    onehot = np.eye(data.n_classes)[data.y_train]
    grad = x.T @ (np.full_like(onehot, 1.0 / data.n_classes) - onehot) / len(x)  # at W = 0
    w = -lr * grad
    z = x @ w
    loss = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), data.y_train])
    assert result.loss[0] == pytest.approx(loss, rel=1e-4)
    x_test = np.c_[data.x_test, np.ones(len(data.y_test))]
    assert result.accuracy[0] == pytest.approx(np.mean(np.argmax(x_test @ w, axis=1) == data.y_test), abs=2e-3)


def test_fedavg_learns() -> None:
    data = city_fleet(alpha=1.0, rng=np.random.default_rng(0))
    result = _run(data, 0)
    assert result.accuracy[-1] > result.accuracy[0] + 0.2
    assert result.loss[-1] < result.loss[0] - 0.5
    assert result.final_accuracy == result.accuracy[-1]
    assert result.rare_recall is not None and result.final_rare_recall == result.rare_recall[-1]


def test_same_seed_same_controls_identical_curves_bit_for_bit() -> None:
    data = city_fleet(alpha=0.3, rng=np.random.default_rng(5))
    controls = dict(reliability=0.7, selection="overselect", clip_norm=2.0, noise_multiplier=0.5,
                    aggregation="central", local_epochs=3)
    a, b = _run(data, 3, **controls), _run(data, 3, **controls)
    for name in ("accuracy", "loss", "rare_recall", "uploads_attempted", "uploads_succeeded",
                 "updates_aggregated", "delta_norm_max", "clipped_fraction", "flops_per_round"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    assert (a.flops, a.client_epochs) == (b.flops, b.client_epochs)
    c = _run(data, 4, **controls)
    assert not np.array_equal(a.accuracy, c.accuracy)


def test_counters_add_up() -> None:
    data = city_fleet(rng=np.random.default_rng(1))
    result = run_fedavg(data, rounds=7, clients=data.n_clients, local_epochs=3, reliability=1.0,
                        lr=0.5, batch_size=16, rng=np.random.default_rng(2))
    assert result.client_epochs == 7 * data.n_clients * 3
    per_sample = flops_per_sample(data.n_features, data.n_classes)
    assert result.flops == pytest.approx(7 * 3 * data.n_samples.sum() * per_sample)
    assert np.allclose(result.flops_per_round, 3 * data.n_samples.sum() * per_sample)
    assert result.simulated_flops == pytest.approx(result.flops)
    assert np.all(result.uploads_attempted == data.n_clients)
    assert np.all(result.uploads_succeeded == data.n_clients)
    assert result.model_parameters == model_parameter_count(data.n_features, data.n_classes) == 31 * 10
    assert result.model_bytes == 4 * result.model_parameters


def test_no_successful_upload_keeps_the_model() -> None:
    data = city_fleet(rng=np.random.default_rng(1))
    result = _run(data, 0, reliability=0.0, rounds=5)
    assert np.all(result.uploads_succeeded == 0) and np.all(result.updates_aggregated == 0)
    assert np.all(result.accuracy == result.accuracy[0])
    assert result.loss[0] == pytest.approx(math.log(data.n_classes), rel=1e-6)  # the zero model
    assert result.simulated_flops == 0.0 and result.flops > 0.0  # the devices still worked


# --------------------------------------------------------------------------
# McMahan et al. 2017: local epochs help IID data a lot, non-IID much less
# --------------------------------------------------------------------------


def test_local_epochs_cut_rounds_a_lot_on_iid_but_much_less_on_extreme_non_iid() -> None:
    target, rounds = 0.75, 100
    speedup = {}
    for name, kind in (("iid", IID), ("extreme", EXTREME)):
        ratios = []
        for seed in SEEDS:
            data = city_fleet(rng=np.random.default_rng(seed), **kind)
            few = _run(data, seed, rounds=rounds, local_epochs=1)
            many = _run(data, seed, rounds=rounds, local_epochs=10)
            ratios.append(_rounds_needed(few.accuracy, target) / _rounds_needed(many.accuracy, target))
        speedup[name] = float(np.median(ratios))
    assert speedup["iid"] >= 3.0
    assert speedup["extreme"] <= 0.5 * speedup["iid"]


def test_many_local_epochs_hurt_on_fedprox_synthetic_1_1() -> None:
    """FedProx (Li et al. 2020, Fig. 1): on Synthetic(1, 1) FedAvg with E = 20
    ends worse than with E = 1, while on Synthetic-IID E = 20 is better."""
    def final(iid: bool, epochs: int) -> float:
        accs = []
        for seed in SEEDS:
            data = synthetic_fleet(alpha=1.0, beta=1.0, iid=iid, n_clients=30, rng=np.random.default_rng(seed))
            r = run_fedavg(data, rounds=100, clients=10, local_epochs=epochs, reliability=1.0,
                           lr=0.05, batch_size=10, rng=np.random.default_rng(seed))
            accs.append(r.accuracy[-20:].mean())
        return float(np.mean(accs))
    assert final(True, 20) > final(True, 1) + 0.1
    assert final(False, 20) < final(False, 1) - 0.03


# --------------------------------------------------------------------------
# links, selection, heterogeneity
# --------------------------------------------------------------------------


def test_lower_link_reliability_slows_convergence() -> None:
    good, poor = [], []
    for seed in SEEDS:
        data = city_fleet(alpha=1.0, rng=np.random.default_rng(seed))
        good.append(_run(data, seed, reliability=1.0).accuracy[:30].mean())
        poor.append(_run(data, seed, reliability=0.2).accuracy[:30].mean())
    assert np.mean(poor) < np.mean(good) - 0.05


def test_stronger_heterogeneity_lowers_accuracy_at_equal_bytes() -> None:
    """Same rounds and participants (so the same bytes), different label skew."""
    mild, extreme = [], []
    for seed in SEEDS:
        for kind, out in ((dict(alpha=10.0), mild), (EXTREME, extreme)):
            data = city_fleet(rng=np.random.default_rng(seed), **kind)
            r = _run(data, seed, rounds=30, local_epochs=5)
            out.append(r.accuracy[-1])
    assert np.mean(extreme) < np.mean(mild) - 0.05


def test_reliable_selection_gets_more_uploads_through() -> None:
    data = city_fleet(rng=np.random.default_rng(0))
    random_ = _run(data, 0, reliability=0.4, selection="random")
    reliable = _run(data, 0, reliability=0.4, selection="reliable")
    assert reliable.uploads_succeeded.mean() > random_.uploads_succeeded.mean() + 1.0
    # ...and it neglects the dust city, whose links are poorest.
    r = client_reliability(0.4, data.link_quality)
    assert r[data.city == 0].mean() < r[data.city != 0].mean()


def test_overselection_asks_130_percent_and_keeps_at_most_the_target() -> None:
    data = city_fleet(rng=np.random.default_rng(0))
    result = _run(data, 0, clients=20, reliability=0.9, selection="overselect")
    assert np.all(result.uploads_attempted == 26)
    assert np.all(result.updates_aggregated <= 20)
    assert np.all(result.updates_aggregated == np.minimum(result.uploads_succeeded, 20))
    assert np.mean(result.updates_aggregated == 20) > 0.8


def test_client_reliability_stays_in_range_and_centres_on_the_control() -> None:
    q = np.linspace(-1, 1, 101)
    for control in (0.0, 0.1, 0.5, 0.9, 1.0):
        r = client_reliability(control, q)
        assert r.min() >= 0.0 and r.max() <= 1.0
        assert r.mean() == pytest.approx(control)
    assert np.all(client_reliability(0.5, q, spread=0.0) == 0.5)


# --------------------------------------------------------------------------
# DP hooks
# --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    clip=st.floats(1e-3, 10.0),
    scale=st.floats(1e-3, 100.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_clipping_bounds_every_delta_and_leaves_short_ones_alone(clip, scale, seed) -> None:
    deltas = (scale * np.random.default_rng(seed).standard_normal((8, 10, 31))).astype(np.float32)
    clipped, norms = clip_deltas(deltas, clip)
    after = np.sqrt((clipped.astype(np.float64) ** 2).sum(axis=(1, 2)))
    assert np.all(after <= clip * (1 + 1e-5))
    short = norms <= clip
    assert np.allclose(clipped[short], deltas[short])
    # Clipping scales, never turns: the direction is kept.
    long_ = ~short
    if long_.any():
        cos = (clipped[long_] * deltas[long_]).sum(axis=(1, 2)) / (after[long_] * norms[long_])
        assert np.allclose(cos, 1.0, atol=1e-4)


def test_clip_norm_bounds_the_uploaded_deltas_in_a_run() -> None:
    data = city_fleet(rng=np.random.default_rng(0))
    free = _run(data, 0, rounds=10)
    clipped = _run(data, 0, rounds=10, clip_norm=0.5)
    assert free.delta_norm_max.max() > 1.0  # the clip really bites
    assert np.all(clipped.delta_norm_max <= 0.5 * (1 + 1e-6))
    assert clipped.clipped_fraction.mean() > 0.5
    assert np.all(free.clipped_fraction == 0.0)


def _dp_final_accuracy(noise: float, aggregation: str) -> float:
    accs = []
    for seed in SEEDS:
        data = city_fleet(alpha=1.0, rng=np.random.default_rng(seed))
        r = _run(data, seed, rounds=50, clients=50, local_epochs=5, clip_norm=2.0,
                 noise_multiplier=noise, aggregation=aggregation)
        accs.append(r.accuracy[-10:].mean())
    return float(np.mean(accs))


def test_central_noise_lowers_accuracy_and_local_noise_is_much_worse() -> None:
    clean = _dp_final_accuracy(0.0, "central")
    central = _dp_final_accuracy(2.0, "central")
    local = _dp_final_accuracy(2.0, "local")
    assert central < clean - 0.01
    assert local < central - 0.2


def test_noise_without_clip_is_refused() -> None:
    data = city_fleet(rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="clip_norm"):
        _run(data, 0, noise_multiplier=1.0)


def test_expected_aggregated_known_values() -> None:
    assert expected_aggregated(np.array([0.2, 0.5, 0.9]), cap=3) == pytest.approx(1.6)
    # Two fair coins, keep at most one: E[min(S, 1)] = 1 - P(S = 0) = 0.75.
    assert expected_aggregated(np.array([0.5, 0.5]), cap=1) == pytest.approx(0.75)
    # Binomial(13, 0.9) capped at 10, against a direct sum.
    p, n, cap = 0.9, 13, 10
    direct = sum(min(k, cap) * math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1))
    assert expected_aggregated(np.full(n, p), cap=cap) == pytest.approx(direct)


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("controls, word", [
    (dict(rounds=0), "rounds"),
    (dict(clients=0), "clients"),
    (dict(clients=10_000), "clients"),
    (dict(local_epochs=0), "local_epochs"),
    (dict(reliability=1.5), "reliability"),
    (dict(reliability=float("nan")), "reliability"),
    (dict(selection="best"), "selection"),
    (dict(aggregation="secure"), "aggregation"),
    (dict(lr=0.0), "lr"),
    (dict(batch_size=0), "batch_size"),
    (dict(clip_norm=-1.0), "clip_norm"),
    (dict(noise_multiplier=-0.1, clip_norm=1.0), "noise_multiplier"),
    (dict(rounds=2.5), "rounds"),
])
def test_bad_controls_are_rejected_by_name(controls, word) -> None:
    data = city_fleet(n_clients=20, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=word):
        _run(data, 0, **controls)


# --------------------------------------------------------------------------
# reading a run
# --------------------------------------------------------------------------


def test_rounds_to_target() -> None:
    assert rounds_to_target([0.1, 0.5, 0.8, 0.7], 0.75) == 3
    assert rounds_to_target([0.1, 0.5], 0.75) is None
    with pytest.raises(ValueError, match="accuracy"):
        rounds_to_target([], 0.5)


def test_round_returns_criterion_on_hand_made_curves() -> None:
    rising = np.linspace(0.3, 0.9, 50)
    assert rounds_always_help(rising)
    dipping = rising.copy()
    dipping[30] -= 0.1
    verdict = round_returns(dipping)
    step = rising[1] - rising[0]
    # The best so far before round 31 is round 30's value, one step lower.
    assert not verdict.always_help and verdict.drop_rounds == 1
    assert verdict.max_drop == pytest.approx(0.1 - step)
    # Small wiggles within the tolerance are noise, not harm.
    wiggle = rising + 0.01 * np.sin(np.arange(50))
    assert rounds_always_help(wiggle)
    plateau = np.r_[np.linspace(0.3, 0.6, 25), np.full(25, 0.6)]
    assert rounds_always_help(plateau)
    assert not rounds_always_help(plateau, target=0.8)
    assert rounds_always_help(rising, target=0.8)


def test_more_rounds_do_not_always_help_extreme_non_iid_but_do_on_iid() -> None:
    verdict = {"iid": [], "extreme": []}
    for name, kind in (("iid", IID), ("extreme", EXTREME)):
        for seed in SEEDS:
            data = city_fleet(rng=np.random.default_rng(seed), **kind)
            r = _run(data, seed, rounds=100, clients=10, local_epochs=5, reliability=0.9)
            verdict[name].append(rounds_always_help(r.accuracy))
    assert sum(verdict["iid"]) >= 2
    assert sum(verdict["extreme"]) <= 1


# --------------------------------------------------------------------------
# communication and energy
# --------------------------------------------------------------------------


def test_communication_known_values() -> None:
    # 10 MB model, 10 of 100 simulated clients per round, 5 rounds, fleet 1,000:
    # each client stands for 10 devices; a sync moves 20 MB (down + up).
    t = communication_gb(10e6, 10, 5, 1_000, 100)
    assert t.devices_per_client == 10
    assert np.allclose(t.gb_per_round, 10 * 10 * 20e6 / 1e9)
    assert t.total_gb == pytest.approx(10.0)
    assert np.allclose(t.cumulative_gb, [2, 4, 6, 8, 10])
    assert t.energy_j == pytest.approx(10_000 * 0.1)  # 10,000 MB at 100 mJ/MB
    assert t.wasted_energy_share == 0.0
    half = communication_gb(10e6, 10, 5, 1_000, 100, aggregated_per_round=5)
    assert half.wasted_energy_share == pytest.approx(0.5)
    assert half.wasted_gb == pytest.approx(5.0)


def test_communication_uses_a_run_s_counts() -> None:
    data = city_fleet(rng=np.random.default_rng(0))
    r = _run(data, 0, rounds=20, reliability=0.2)
    t = communication_gb(1e6, r.uploads_attempted, r.rounds, 500_000, data.n_clients,
                         aggregated_per_round=r.updates_aggregated)
    failed = 1 - r.updates_aggregated.sum() / r.uploads_attempted.sum()
    assert t.wasted_energy_share == pytest.approx(failed)
    assert t.wasted_energy_share > 0.6


@pytest.mark.parametrize("args, kwargs, word", [
    ((-1.0, 10, 5, 1000, 100), {}, "payload_bytes"),
    ((1.0, 10, 0, 1000, 100), {}, "rounds"),
    ((1.0, [1, 2], 5, 1000, 100), {}, "participants_per_round"),
    ((1.0, 200, 5, 1000, 100), {}, "participants_per_round"),
    ((1.0, 10, 5, 1000, 100), dict(aggregated_per_round=11), "aggregated_per_round"),
    ((1.0, 10, 5, 1000, 100), dict(energy_mj_per_mb=float("inf")), "energy_mj_per_mb"),
])
def test_communication_rejects_bad_arguments(args, kwargs, word) -> None:
    with pytest.raises(ValueError, match=word):
        communication_gb(*args, **kwargs)
