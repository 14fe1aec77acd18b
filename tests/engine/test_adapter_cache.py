"""Tests of the adapter-cache model: adapter sizes, Che's approximation against a real
LRU cache and Belady's optimum, tiering, and the serving model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgequest.engine import adapter_cache as ac
from edgequest.engine.adapter_cache import (
    AdapterCacheResult,
    adapter_bytes,
    adapter_cache,
    adapter_params,
    belady_hit_rate,
    che_hit_rates,
    lfu_hit_rate,
    llama3_70b_params,
    lru_hit_rate,
    lru_hit_rate_on_trace,
    simulate_lru_trace,
    tier_hit_rates,
    zipf_popularity,
)

# --------------------------------------------------------------------------- sizes


def test_rank16_q_and_v_adapter_is_32_8m_params_and_65_5_mb():
    # 80 layers x 16 x ((8192 + 8192) + (8192 + 1024)) = 32,768,000 (FACTS.md: 32.8M).
    assert adapter_params(16, ("q", "v")) == 80 * 16 * (16384 + 9216) == 32_768_000
    assert adapter_bytes(16, ("q", "v"), "bf16") == 65_536_000


def test_all_seven_roles_rank16_is_207m_params():
    per_layer = 16 * (16384 + 9216 + 9216 + 16384 + 3 * (8192 + 28672))
    assert adapter_params(16, ac.ROLES) == 80 * per_layer == 207_093_760
    assert adapter_bytes(16, ac.ROLES, "bf16") / 1e6 == pytest.approx(414.2, abs=0.1)


def test_grouped_query_attention_makes_k_smaller_than_q():
    assert adapter_params(8, ("k",)) == 80 * 8 * (8192 + 1024)
    assert adapter_params(8, ("k",)) < adapter_params(8, ("q",))


def test_adapter_bytes_scale_with_rank_and_precision():
    base = adapter_bytes(4, ("q", "v"), "bf16")
    assert adapter_bytes(8, ("q", "v"), "bf16") == 2 * base
    assert adapter_bytes(4, ("q", "v"), "fp32") == 2 * base
    assert adapter_bytes(4, ("q", "v"), "int4") * 4 == base


def test_llama3_70b_has_about_70_6b_params():
    assert llama3_70b_params() == pytest.approx(70.6e9, rel=0.002)


# --------------------------------------------------------------------------- popularity


def test_zipf_popularity_is_a_sorted_power_law():
    p = zipf_popularity(1000, 0.8)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(p) < 0)
    assert p[0] / p[1] == pytest.approx(2**0.8)
    assert p[9] / p[99] == pytest.approx(10**0.8)
    assert np.allclose(zipf_popularity(50, 0.0), 1 / 50)


# --------------------------------------------------------------------------- Che


@pytest.mark.parametrize("s", [0.0, 0.7, 1.0, 1.5])
@pytest.mark.parametrize("capacity", [1, 37, 900, 9_999])
def test_che_solution_satisfies_its_equation(s, capacity):
    p = zipf_popularity(10_000, s)
    che = che_hit_rates(p, capacity)
    # sum_i (1 - exp(-p_i T)) = C, and hit_i has the closed form.
    assert che.item_hit_rates.sum() == pytest.approx(capacity, rel=1e-10, abs=1e-8)
    expected = -np.expm1(-p * che.characteristic_time)
    assert np.allclose(che.item_hit_rates, expected, rtol=1e-9, atol=1e-15)
    assert che.hit_rate == pytest.approx(float(p @ expected), rel=1e-9)


def test_che_agrees_with_a_bisection_on_a_million_items():
    p = zipf_popularity(1_000_000, 1.0)
    che = che_hit_rates(p, 61)
    lo, hi = 0.0, 1e6
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.sum(-np.expm1(-p * mid)) < 61 else (lo, mid)
    assert che.characteristic_time == pytest.approx(lo, rel=1e-9)


def test_che_edge_cases():
    p = np.array([0.5, 0.3, 0.2, 0.0])
    assert che_hit_rates(p, 0).hit_rate == 0.0
    full = che_hit_rates(p, 3)  # every requested item fits
    assert full.hit_rate == 1.0
    assert list(full.item_hit_rates) == [1.0, 1.0, 1.0, 0.0]
    assert math.isinf(full.characteristic_time)
    assert che_hit_rates(p, 10).hit_rate == 1.0


def test_che_ignores_the_scale_and_order_of_the_popularity():
    p = zipf_popularity(5000, 0.9)
    shuffled = np.random.default_rng(0).permutation(p)
    assert che_hit_rates(p * 123.0, 200).hit_rate == pytest.approx(
        che_hit_rates(p, 200).hit_rate, rel=1e-9
    )
    assert che_hit_rates(shuffled, 200).hit_rate == pytest.approx(
        che_hit_rates(p, 200).hit_rate, rel=1e-9
    )


def test_che_results_are_read_only():
    che = che_hit_rates(zipf_popularity(100, 1.0), 10)
    with pytest.raises(ValueError):
        che.item_hit_rates[0] = 0.0


# ----------------------------------------------------- Che vs a real LRU, and Belady

N_ITEMS = 10_000
N_REQUESTS = 250_000
WARMUP = 50_000


@pytest.mark.parametrize("s", [0.6, 0.8, 1.0, 1.2])
@pytest.mark.parametrize("capacity", [50, 1000])
def test_che_matches_trace_driven_lru_and_belady_beats_both(s, capacity):
    p = zipf_popularity(N_ITEMS, s)
    rng = np.random.default_rng(int(1000 * s) + capacity)
    sim = simulate_lru_trace(p, capacity, N_REQUESTS, rng, warmup_requests=WARMUP)
    che = lru_hit_rate(p, capacity)
    assert abs(che - sim.hit_rate) < 0.02, (che, sim.hit_rate)
    # Belady's MIN on the same trace: the offline optimum, well above LRU.
    opt = belady_hit_rate(sim.trace, capacity, warmup_requests=WARMUP)
    gap = opt - sim.hit_rate
    assert gap > 0.01, f"s={s} C={capacity}: LRU {sim.hit_rate:.3f}, MIN {opt:.3f}"
    # Over the whole trace MIN's optimality is a theorem (Mattson et al. 1970).
    whole_lru = lru_hit_rate_on_trace(sim.trace, capacity)
    assert belady_hit_rate(sim.trace, capacity) >= whole_lru


def test_lru_and_belady_on_a_hand_worked_trace():
    trace = np.array([1, 2, 3, 1, 4, 1, 2])
    # LRU, C = 2: only the second request for item 1 after 4 hits.
    assert lru_hit_rate_on_trace(trace, 2) == pytest.approx(1 / 7)
    # MIN, C = 2: keeps 1 (evicts 2, then 3, whose next use is farther): two hits.
    assert belady_hit_rate(trace, 2) == pytest.approx(2 / 7)
    assert lru_hit_rate_on_trace(trace, 0) == 0.0
    assert belady_hit_rate(trace, 0) == 0.0
    assert lru_hit_rate_on_trace(trace, 4) == belady_hit_rate(trace, 4) == pytest.approx(3 / 7)


def test_trace_simulation_is_deterministic():
    p = zipf_popularity(500, 1.0)
    a = simulate_lru_trace(p, 20, 5000, np.random.default_rng(3))
    b = simulate_lru_trace(p, 20, 5000, np.random.default_rng(3))
    assert np.array_equal(a.trace, b.trace) and a.hit_rate == b.hit_rate


# --------------------------------------------------------------------------- LFU


@pytest.mark.parametrize("s", [0.6, 1.0, 1.4])
@pytest.mark.parametrize("capacity", [5, 100, 3000])
def test_lfu_beats_lru_under_the_independent_reference_model(s, capacity):
    p = zipf_popularity(10_000, s)
    lfu = lfu_hit_rate(p, capacity)
    assert lfu == pytest.approx(float(p[:capacity].sum()))
    assert lfu > lru_hit_rate(p, capacity)


def test_lfu_finds_the_top_items_in_any_order():
    p = np.random.default_rng(1).permutation(zipf_popularity(1000, 1.0))
    assert lfu_hit_rate(p, 10) == pytest.approx(float(np.sort(p)[-10:].sum()))


# --------------------------------------------------------------------------- tiers


def test_tiers_stack_as_one_lru():
    p = zipf_popularity(20_000, 1.0)
    tiers = tier_hit_rates(p, 100, 900, "lru")
    assert tiers.hbm == pytest.approx(lru_hit_rate(p, 100), rel=1e-9)
    assert tiers.host == pytest.approx(lru_hit_rate(p, 1000) - lru_hit_rate(p, 100), rel=1e-9)
    assert tiers.hbm + tiers.host + tiers.miss == pytest.approx(1.0)
    lfu = tier_hit_rates(p, 100, 900, "lfu")
    assert lfu.hbm == pytest.approx(float(p[:100].sum()))
    assert lfu.miss == pytest.approx(float(p[1000:].sum()))


@settings(max_examples=25, deadline=None)
@given(
    hbm=st.integers(0, 3000),
    extra_hbm=st.integers(0, 3000),
    host=st.integers(0, 5000),
    extra_host=st.integers(0, 5000),
    s=st.floats(0.3, 1.5),
    policy=st.sampled_from(ac.POLICIES),
)
def test_more_cache_never_lowers_a_hit_rate(hbm, extra_hbm, host, extra_host, s, policy):
    p = zipf_popularity(10_000, s)
    small = tier_hit_rates(p, hbm, host, policy)
    more_hbm = tier_hit_rates(p, hbm + extra_hbm, host, policy)
    more_host = tier_hit_rates(p, hbm, host + extra_host, policy)
    assert more_hbm.hbm >= small.hbm - 1e-12
    assert more_hbm.miss <= small.miss + 1e-12
    assert more_host.miss <= small.miss + 1e-12
    assert more_host.hbm == pytest.approx(small.hbm)


# --------------------------------------------------------------------------- serving


def test_default_configuration_numbers():
    r = adapter_cache()
    assert isinstance(r, AdapterCacheResult)
    assert r.adapter_bytes == 65_536_000 and r.adapter_mb == pytest.approx(65.5, abs=0.1)
    # FACTS.md: a 65 MB adapter takes ~1 ms over PCIe Gen5 and ~9 ms from NVMe.
    assert r.pcie_swap_ms == pytest.approx(65.536e6 / 64e9 * 1e3)
    assert r.nvme_swap_ms - r.pcie_swap_ms == pytest.approx(8.8, abs=0.1)
    # fp8 weights (~70.6 GB) + 10 GB of KV reserve leave ~5.3 GB of the 80 GiB.
    assert r.hbm_free_bytes == 80 * 2**30 - llama3_70b_params() - 10 * 10**9
    assert r.fits and r.hbm_items == 4_000_000_000 // 65_536_000
    assert r.hbm_items + r.host_items + r.nvme_items == 1_000_000
    assert r.hbm_hit_rate + r.host_hit_rate + r.miss_rate == pytest.approx(1.0)
    expected = r.host_hit_rate * r.pcie_swap_ms + r.miss_rate * r.nvme_swap_ms
    assert r.added_latency_ms == pytest.approx(expected)


def test_decode_throughput_follows_hbm_bandwidth():
    r = adapter_cache(batch_size=16)
    step_bytes = r.base_weight_bytes + 16 * r.adapter_bytes
    assert r.decode_step_ms == pytest.approx(step_bytes / 3.35e12 * 1e3)
    assert r.tokens_per_s_no_swaps == pytest.approx(16 / (r.decode_step_ms / 1e3))
    stall_per_step_ms = 16 / 256 * r.added_latency_ms
    assert r.tokens_per_s == pytest.approx(16 / ((r.decode_step_ms + stall_per_step_ms) / 1e3))
    assert 0.0 < r.swap_stall_fraction < 1.0


def test_when_every_adapter_fits_in_hbm_nothing_stalls():
    r = adapter_cache(n_adapters=50, hbm_cache_gb=5.0)
    assert r.hbm_hit_rate == 1.0 and r.miss_rate == 0.0
    assert r.added_latency_ms == 0.0
    assert r.tokens_per_s == r.tokens_per_s_no_swaps


@pytest.mark.parametrize("policy", ac.POLICIES)
def test_more_cache_means_less_latency_and_more_throughput(policy):
    results = [
        adapter_cache(hbm_cache_gb=hbm, host_cache_gb=host, policy=policy)
        for hbm, host in [(0.5, 0.0), (2.0, 0.0), (5.0, 0.0), (5.0, 100.0), (5.0, 1000.0)]
    ]
    for smaller, larger in zip(results, results[1:]):
        assert larger.hbm_hit_rate >= smaller.hbm_hit_rate
        assert larger.miss_rate <= smaller.miss_rate
        assert larger.added_latency_ms < smaller.added_latency_ms
        assert larger.tokens_per_s > smaller.tokens_per_s


def test_lfu_serves_more_from_hbm_than_lru():
    lru = adapter_cache(policy="lru")
    lfu = adapter_cache(policy="lfu")
    assert lfu.hbm_hit_rate > lru.hbm_hit_rate
    assert lfu.added_latency_ms < lru.added_latency_ms


def test_steeper_popularity_helps_the_cache():
    flat, steep = adapter_cache(zipf_s=0.6), adapter_cache(zipf_s=1.2)
    assert steep.hbm_hit_rate > flat.hbm_hit_rate
    assert steep.tokens_per_s > flat.tokens_per_s


def test_bigger_adapters_cost_more_swap_time():
    small = adapter_cache(rank=8, targets=("q", "v"))
    big = adapter_cache(rank=64, targets=ac.ROLES)
    assert big.nvme_swap_ms > 50 * small.nvme_swap_ms
    assert big.hbm_items < small.hbm_items
    assert big.added_latency_ms > small.added_latency_ms


def test_an_oversized_hbm_cache_is_clamped_not_refused():
    r = adapter_cache(hbm_cache_gb=20.0)  # only ~5.3 GB are left with fp8 weights
    assert not r.fits
    assert r.hbm_cache_bytes == r.hbm_free_bytes
    roomy = adapter_cache(hbm_cache_gb=20.0, base_precision="int4")
    assert roomy.fits and roomy.hbm_cache_bytes == 20 * 10**9


def test_bf16_weights_do_not_fit_on_one_h100():
    r = adapter_cache(base_precision="bf16")
    assert r.base_weight_bytes > 80 * 2**30
    assert not r.fits and r.hbm_cache_bytes == 0 and r.hbm_items == 0
    # 70.55e9 parameters x 2 bytes = 141 GB against 80 GiB = 85.9 GB: nothing can be served.
    assert 70_553_706_496 * 2 > 80 * 2**30
    assert not r.base_fits and r.tokens_per_s == 0 and r.tokens_per_s_no_swaps == 0


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"rank": 0}, "rank"),
        ({"rank": 3.0}, "rank"),
        ({"targets": ("q", "x")}, "targets"),
        ({"targets": ()}, "targets"),
        ({"targets": ("q", "q")}, "targets"),
        ({"precision": "fp64"}, "precision"),
        ({"base_precision": "int2"}, "base_precision"),
        ({"hbm_cache_gb": -1.0}, "hbm_cache_gb"),
        ({"host_cache_gb": float("inf")}, "host_cache_gb"),
        ({"policy": "fifo"}, "policy"),
        ({"zipf_s": -0.5}, "zipf_s"),
        ({"n_adapters": 0}, "n_adapters"),
        ({"kv_reserve_gb": float("nan")}, "kv_reserve_gb"),
        ({"batch_size": 0}, "batch_size"),
        ({"tokens_per_request": 0}, "tokens_per_request"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}: got"):
        adapter_cache(**kwargs)


@pytest.mark.parametrize(
    "popularity",
    [[], [[0.5, 0.5]], [0.5, -0.1], [0.0, 0.0], [0.5, float("nan")], [float("inf"), 1.0]],
)
def test_bad_popularity_is_refused(popularity):
    with pytest.raises(ValueError, match="^popularity:"):
        che_hit_rates(popularity, 1)


def test_bad_traces_are_refused():
    with pytest.raises(ValueError, match="^trace:"):
        belady_hit_rate(np.array([0.5, 1.5]), 1)
    with pytest.raises(ValueError, match="^warmup_requests: got"):
        lru_hit_rate_on_trace(np.array([1, 2, 3]), 1, warmup_requests=3)


@pytest.mark.parametrize("s", [0.6, 1.0, 1.4])
@pytest.mark.parametrize("capacity", [1, 10, 617, 5000, 60000, 400000])
def test_sorted_che_solver_matches_the_full_solve(s, capacity):
    """The Taylor-tail solve used for Zipf catalogues agrees with the exact sum over items."""
    from edgequest.engine.adapter_cache import lru_hit_rate, zipf_popularity
    from edgequest.engine.adapter_cache.tiers import _lru_hit_rate_sorted, _zipf_table

    table = _zipf_table(1_000_000, s)
    assert _lru_hit_rate_sorted(table, float(capacity)) == pytest.approx(
        lru_hit_rate(zipf_popularity(1_000_000, s), float(capacity)), abs=1e-6
    )


@pytest.mark.parametrize("s", [0.0, 0.8, 1.2, 2.0])
@pytest.mark.parametrize("n", [500, 1024, 1025, 70_001])
def test_catalogue_sums_match_the_full_arrays(s, n):
    """Euler-Maclaurin sums over ranks agree with summing every item."""
    from edgequest.engine.adapter_cache import _zipf_table, zipf_popularity

    p = zipf_popularity(n, s)
    table = _zipf_table(n, s)
    np.testing.assert_allclose(table.rates(0, n), p, rtol=1e-12)
    for count in (0, 1, 700, 1024, 1500, n - 1, n):
        assert table.top_share(count) == pytest.approx(float(p[: max(count, 0)].sum()), abs=1e-12)
    for t in (0.5, 50.0, 5e3, 5e6):
        occupancy, miss = table.occupancy_and_miss(t)
        assert occupancy == pytest.approx(float(np.sum(-np.expm1(-p * t))), rel=1e-10)
        assert miss == pytest.approx(float(p @ np.exp(-p * t)), rel=1e-9, abs=1e-15)
