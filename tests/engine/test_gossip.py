"""Tests of gossip learning over a BLE mesh versus local-only learning."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgequest.engine.federated_data import city_fleet
from edgequest.engine.gossip import mesh_graph, radio_cost, random_matching, run_gossip

SEEDS = (0, 1, 2)


def _run(data, seed, **controls):
    settings_ = dict(rounds=60, mode="gossip", local_steps=5, lr=0.5, model_bytes=20_000,
                     ble_mbps=0.1, nj_per_bit=19.0, sync_interval_s=60.0)
    settings_.update(controls)
    return run_gossip(data, rng=np.random.default_rng(500 + seed), **settings_)


def test_gossip_beats_local_only_and_local_only_costs_no_airtime() -> None:
    own = {"gossip": [], "local": []}
    glob = {"gossip": [], "local": []}
    for seed in SEEDS:
        data = city_fleet(alpha=1.0, n_clients=64, rng=np.random.default_rng(seed))
        for mode in ("gossip", "local"):
            r = _run(data, seed, mode=mode)
            own[mode].append(r.own_accuracy_mean)
            glob[mode].append(r.global_accuracy_mean)
            if mode == "local":
                assert r.bytes_sent_per_sync == 0.0 and r.airtime_per_sync_s == 0.0
                assert r.radio_energy_per_sync_j == 0.0 and r.radio_power_mw == 0.0
            else:
                assert r.airtime_per_sync_s > 0.0
    assert np.mean(glob["gossip"]) > np.mean(glob["local"]) + 0.2
    assert np.mean(own["gossip"]) > np.mean(own["local"])


def test_on_iid_data_gossip_also_narrows_the_spread_between_devices() -> None:
    spread = {"gossip": [], "local": []}
    for seed in SEEDS:
        data = city_fleet(alpha=np.inf, city_alpha=np.inf, city_shift=0.0, n_clients=64,
                          rng=np.random.default_rng(seed))
        for mode in spread:
            spread[mode].append(_run(data, seed, mode=mode).global_accuracy_std)
    assert np.mean(spread["gossip"]) < 0.5 * np.mean(spread["local"])


def test_result_shapes_and_summary_statistics() -> None:
    data = city_fleet(n_clients=40, rng=np.random.default_rng(3))
    r = _run(data, 0, rounds=12)
    assert r.own_accuracy.shape == r.global_accuracy.shape == (40,)
    assert r.own_accuracy_per_round.shape == (12,)
    assert r.own_accuracy_mean == pytest.approx(r.own_accuracy.mean())
    assert r.global_accuracy_std == pytest.approx(r.global_accuracy.std())
    assert r.own_accuracy_per_round[-1] == pytest.approx(r.own_accuracy_mean)
    assert 0.5 < r.exchange_share <= 1.0
    assert r.mean_degree >= 4


def test_radio_figures_follow_the_formulae() -> None:
    # 20 kB each way at 0.1 Mbps: 320,000 bits on air -> 3.2 s, 6.08 mJ at 19 nJ/bit,
    # 0.101 mW averaged over a 60 s sync interval.
    airtime, energy, power = radio_cost(40_000, ble_mbps=0.1, nj_per_bit=19.0, sync_interval_s=60.0)
    assert airtime == pytest.approx(3.2)
    assert energy == pytest.approx(6.08e-3)
    assert power == pytest.approx(6.08e-3 / 60 * 1e3)
    data = city_fleet(n_clients=40, rng=np.random.default_rng(3))
    r = _run(data, 0, rounds=5)
    sent = r.exchange_share * 20_000
    assert r.bytes_per_exchange == 20_000
    assert r.bytes_sent_per_sync == pytest.approx(sent)
    assert r.airtime_per_sync_s == pytest.approx(2 * sent * 8 / 0.1e6)
    assert r.radio_budget_share == pytest.approx(r.radio_power_mw / 1.0)


def test_compression_cuts_bytes_and_costs_accuracy() -> None:
    full, part = [], []
    for seed in SEEDS:
        data = city_fleet(alpha=1.0, n_clients=64, rng=np.random.default_rng(seed))
        a = _run(data, seed)
        b = _run(data, seed, compression=0.25)
        assert b.bytes_per_exchange == pytest.approx(0.25 * a.bytes_per_exchange)
        full.append(a.global_accuracy_mean)
        part.append(b.global_accuracy_mean)
    assert np.mean(part) < np.mean(full)


def test_faster_phy_shortens_airtime_but_not_energy() -> None:
    data = city_fleet(n_clients=40, rng=np.random.default_rng(3))
    slow = _run(data, 0, rounds=5, ble_mbps=0.23)
    fast = _run(data, 0, rounds=5, ble_mbps=1.43)
    assert fast.airtime_per_sync_s == pytest.approx(slow.airtime_per_sync_s * 0.23 / 1.43)
    assert fast.radio_energy_per_sync_j == pytest.approx(slow.radio_energy_per_sync_j)


def test_same_seed_identical_run() -> None:
    data = city_fleet(n_clients=40, rng=np.random.default_rng(3))
    a = _run(data, 7, rounds=10, compression=0.5)
    b = _run(data, 7, rounds=10, compression=0.5)
    assert a.own_accuracy.tobytes() == b.own_accuracy.tobytes()
    assert a.global_accuracy.tobytes() == b.global_accuracy.tobytes()
    assert a.own_accuracy_per_round.tobytes() == b.own_accuracy_per_round.tobytes()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 80), k=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_mesh_is_symmetric_without_self_links_and_every_device_has_k_links(n, k, seed) -> None:
    k = min(k, n - 1)
    adjacency = mesh_graph(n, k, np.random.default_rng(seed))
    assert np.array_equal(adjacency, adjacency.T)
    assert not adjacency.diagonal().any()
    assert adjacency.sum(axis=1).min() >= k


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 80), k=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_matching_pairs_neighbours_once_and_is_maximal(n, k, seed) -> None:
    rng = np.random.default_rng(seed)
    adjacency = mesh_graph(n, min(k, n - 1), rng)
    lists = [np.flatnonzero(row).tolist() for row in adjacency]
    a, b = random_matching(lists, rng)
    ends = np.r_[a, b]
    assert len(set(ends.tolist())) == ends.size  # nobody in two pairs
    assert np.all(adjacency[a, b])  # pairs are mesh links
    free = np.ones(n, dtype=bool)
    free[ends] = False
    assert not (adjacency & free[:, None] & free[None, :]).any()  # maximal


@pytest.mark.parametrize("controls, word", [
    (dict(mode="broadcast"), "mode"),
    (dict(rounds=0), "rounds"),
    (dict(local_steps=-1), "local_steps"),
    (dict(lr=-0.1), "lr"),
    (dict(model_bytes=0), "model_bytes"),
    (dict(ble_mbps=0.0), "ble_mbps"),
    (dict(sync_interval_s=0.0), "sync_interval_s"),
    (dict(compression=0.0), "compression"),
    (dict(compression=1.5), "compression"),
    (dict(neighbours=40), "neighbours"),
])
def test_bad_controls_are_rejected_by_name(controls, word) -> None:
    data = city_fleet(n_clients=40, rng=np.random.default_rng(3))
    with pytest.raises(ValueError, match=word):
        _run(data, 0, **controls)
