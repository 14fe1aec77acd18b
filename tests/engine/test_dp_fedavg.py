"""DP-FedAvg at fleet scale (engine.dp_fedavg): the scaled noise checked against a direct run.

The scaling test builds, in this file, a problem small enough to train at its full size:
softmax regression over 999 features and 10 classes, d = 10,000 parameters, every one of
which reaches the output. Its first 30 features carry the classes; the other 969 are
label-free noise, so DP noise on their weights still moves the logits, as noise on any
weight of a real network does. The proxy sees the first 30 features only (d = 310) and
borrows the direct run's noise through sqrt(10,000 / 310). The direct run goes through the
plain DP path of ``engine.fedavg`` (noise z C on the sum of the clipped updates), not through
the scaled one.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgequest.engine import dp_fedavg, fedavg
from edgequest.engine.federated_data import FederatedDataset, city_fleet

CLASSES, SIGNAL, FEATURES = 10, 30, 999
CLIENTS, SAMPLES, HOLDOUT = 20, 600, 100
D_DIRECT = (FEATURES + 1) * CLASSES  # 10,000
ROUNDS, EPOCHS, PER_ROUND, CLIP, LR = 30, 2, 10, 1.0, 0.5


def _dataset(x: np.ndarray, y: np.ndarray, x_holdout: np.ndarray, y_holdout: np.ndarray) -> FederatedDataset:
    clients, samples, features = x.shape
    return FederatedDataset(
        x=x, y=y, mask=np.ones((clients, samples), bool), n_samples=np.full(clients, samples),
        x_holdout=x_holdout, y_holdout=y_holdout, holdout_mask=np.ones(y_holdout.shape, bool),
        city=np.zeros(clients, np.int64), link_quality=np.zeros(clients),
        x_rare_test=np.zeros((0, features), np.float32), n_classes=CLASSES, rare_class=None,
        description="scaling test",
    )


def _worlds(seed: int) -> tuple[FederatedDataset, FederatedDataset]:
    """(proxy, direct): the same rows, the direct one with 969 label-free features more."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 3.0 / math.sqrt(SIGNAL), (CLASSES, SIGNAL))

    def draw(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        y = rng.integers(0, CLASSES, (CLIENTS, n))
        signal = means[y] + rng.normal(0.0, 1.0, (CLIENTS, n, SIGNAL))
        extra = rng.normal(0.0, 1.0, (CLIENTS, n, FEATURES - SIGNAL))
        return y, signal.astype(np.float32), np.concatenate([signal, extra], axis=2).astype(np.float32)

    y, x_proxy, x_direct = draw(SAMPLES)
    y_h, xh_proxy, xh_direct = draw(HOLDOUT)
    return _dataset(x_proxy, y, xh_proxy, y_h), _dataset(x_direct, y, xh_direct, y_h)


def _direct(data: FederatedDataset, z: float, seed: int) -> float:
    return fedavg.run_fedavg(
        data, rounds=ROUNDS, clients=PER_ROUND, local_epochs=EPOCHS, reliability=1.0, lr=LR,
        batch_size=SAMPLES, clip_norm=CLIP, noise_multiplier=z, aggregation="central",
        rng=np.random.default_rng(100 + seed),
    ).final_accuracy


def _proxy(data: FederatedDataset, z: float, seed: int, d_real: int) -> float:
    # fleet = cohort: q = 1, so every round has exactly PER_ROUND participants, as in the direct run
    return dp_fedavg.run_dp_fedavg(
        data, cohort=PER_ROUND, fleet_size=PER_ROUND, rounds=ROUNDS, local_epochs=EPOCHS, lr=LR,
        batch_size=SAMPLES, clip_norm=CLIP, noise_multiplier=z, aggregation="central", d_real=d_real,
        rng=np.random.default_rng(100 + seed),
    ).result.final_accuracy


def test_the_proxy_with_scaled_noise_loses_what_the_full_dimension_loses():
    """Over three seeds: the accuracy the noise costs the proxy (scaled to d = 10,000) is
    within a few points of what it costs the direct run at d = 10,000; unscaled, the proxy
    would lose a small fraction of it. (The direct model's noiseless accuracy sits a few
    points lower than the proxy's: it also overfits 969 label-free features. That gap is
    not the noise's, so the comparison is of what the noise takes away.)"""
    z = 0.5
    direct_drop, scaled_drop, unscaled_drop, levels = [], [], [], []
    for seed in range(3):
        proxy, direct = _worlds(seed)
        direct_quiet, direct_noisy = _direct(direct, 0.0, seed), _direct(direct, z, seed)
        proxy_quiet = _proxy(proxy, 0.0, seed, D_DIRECT)
        proxy_scaled = _proxy(proxy, z, seed, D_DIRECT)
        proxy_unscaled = _proxy(proxy, z, seed, fedavg.model_parameter_count(SIGNAL, CLASSES))
        direct_drop.append(direct_quiet - direct_noisy)
        scaled_drop.append(proxy_quiet - proxy_scaled)
        unscaled_drop.append(proxy_quiet - proxy_unscaled)
        levels.append((direct_noisy, proxy_scaled))
    assert np.mean(direct_drop) > 0.25  # the noise matters at this size: a real test
    assert abs(np.mean(scaled_drop) - np.mean(direct_drop)) < 0.06, (direct_drop, scaled_drop)
    assert np.mean(direct_drop) - np.mean(unscaled_drop) > 0.2, (direct_drop, unscaled_drop)
    assert all(abs(a - b) < 0.15 for a, b in levels), levels


def test_noise_scale_and_the_noise_on_the_mean_follow_their_formulas():
    assert dp_fedavg.noise_scale(32_768_000, 310) == pytest.approx(325.12, rel=1e-4)
    # central: z C s / n; local: z C s sqrt(n_r) / n
    assert dp_fedavg.mean_noise_sd(1.3, 2.0, 10_000, 325.0, "central") == pytest.approx(1.3 * 2 * 325 / 10_000)
    assert dp_fedavg.mean_noise_sd(1.3, 2.0, 100, 3.0, "local", 81) == pytest.approx(1.3 * 2 * 3 * 9 / 100)
    assert dp_fedavg.snr_per_coordinate(1.0, 10_000, 10**8, "central") == pytest.approx(1.0)
    assert dp_fedavg.snr_per_coordinate(1.0, 10_000, 10**4, "local") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="d_real"):
        dp_fedavg.noise_scale(0, 310)


def test_central_cohorts_are_poisson_samples_of_the_fleet():
    rng = np.random.default_rng(0)
    counts = dp_fedavg.participants_per_round(500, 100_000, 20_000, "central", rng)
    q = 500 / 100_000
    assert counts.mean() == pytest.approx(500, rel=0.01)
    assert counts.var() == pytest.approx(100_000 * q * (1 - q), rel=0.05)  # binomial, not fixed
    assert (dp_fedavg.participants_per_round(500, 100_000, 7, "local", rng) == 500).all()


def test_local_reports_are_a_worst_case_that_a_round_robin_schedule_meets():
    for cohort, fleet, rounds in ((50, 10_000, 60), (5_000, 10_000, 60), (10_000, 10_000, 7), (3, 7, 5)):
        bound = dp_fedavg.local_reports_per_device(cohort, fleet, rounds)
        reports = np.zeros(fleet, dtype=int)
        for r in range(rounds):  # devices take turns: the next `cohort` in line, wrapping round
            reports[(r * cohort + np.arange(cohort)) % fleet] += 1
        assert reports.max() == bound
        assert bound >= rounds * cohort / fleet


def test_a_large_cohort_is_simulated_by_a_sample_but_counted_in_full():
    data = city_fleet(n_clients=60, rng=np.random.default_rng(1))
    run = dp_fedavg.run_dp_fedavg(
        data, cohort=5_000, fleet_size=1_000_000, rounds=12, local_epochs=3, lr=0.5, batch_size=16,
        clip_norm=1.0, noise_multiplier=1.0, aggregation="central", d_real=10**6, rng=np.random.default_rng(2),
    )
    assert run.simulated == dp_fedavg.SAMPLE_CAP
    assert (run.result.uploads_attempted == dp_fedavg.SAMPLE_CAP).all()
    assert run.client_epochs == int(run.participants.sum()) * 3
    assert abs(run.participants.mean() - 5_000) < 4 * math.sqrt(5_000 / 12)
    per_client = np.asarray(run.result.flops_per_round) / dp_fedavg.SAMPLE_CAP
    assert np.allclose(run.flops_per_round, per_client * run.participants)


def test_the_baseline_is_plain_fedavg_on_the_same_cohorts():
    data = city_fleet(n_clients=40, rng=np.random.default_rng(3))
    common = dict(cohort=12, fleet_size=1_000, rounds=15, local_epochs=2, lr=0.5, batch_size=16,
                  noise_multiplier=0.0, aggregation="central", d_real=10**6)
    baseline = dp_fedavg.run_dp_fedavg(data, clip_norm=None, rng=np.random.default_rng(4), **common)
    plain = fedavg.run_fedavg(data, rounds=15, clients=12, local_epochs=2, reliability=1.0, lr=0.5,
                              batch_size=16, rng=_after_participants(4, 12, 1_000, 15))
    assert np.array_equal(baseline.accuracy, plain.accuracy)


def _after_participants(seed: int, cohort: int, fleet: int, rounds: int) -> np.random.Generator:
    rng = np.random.default_rng(seed)
    dp_fedavg.participants_per_round(cohort, fleet, rounds, "central", rng)
    return rng
