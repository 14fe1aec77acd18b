"""Two cache tiers stacked as one LRU or LFU stack, with a Zipf table for a million adapters."""

from __future__ import annotations

from functools import lru_cache
from dataclasses import dataclass

import numpy as np

from edgequest.engine.adapter_cache.sizes import (
    POLICIES,
    _check_int,
    _check_popularity,
)
from edgequest.engine.adapter_cache.che import (
    _CHE_ABS_TOL_ITEMS,
    _CHE_STEP_TOL,
    _coarse_sample,
    _che_solve,
    lfu_hit_rate,
)

# --------------------------------------------------------------------------- tiers


@dataclass(frozen=True)
class TierHitRates:
    """Fractions of requests served from each tier (they sum to one)."""

    hbm: float
    host: float
    miss: float


def tier_hit_rates(
    popularity: np.ndarray, hbm_items: int, host_items: int, policy: str
) -> TierHitRates:
    """Hit rates of HBM and host DRAM stacked as one LRU (or LFU) stack: HBM holds the
    ``hbm_items`` top entries, host DRAM the next ``host_items`` (see the module docstring).
    """
    p, total, _ = _check_popularity(popularity)
    hbm_items = _check_int("hbm_items", hbm_items, 0, np.iinfo(np.int64).max)
    host_items = _check_int("host_items", host_items, 0, np.iinfo(np.int64).max)
    if policy not in POLICIES:
        raise ValueError(f"policy: got {policy!r}; accepted: {', '.join(POLICIES)}")
    return _tier_hit_rates(p / total, hbm_items, host_items, policy, sorted_desc=False)


# Che's equation on a Zipf catalogue in time independent of N. The first _EXACT_RANKS
# ranks are summed item by item; the rest of every sum over ranks (the normaliser, the
# cache occupancy, the miss mass) is a smooth function of the rank, so the Euler-Maclaurin
# formula gives it from an integral (Gauss-Legendre on a log-rank grid) plus end
# corrections. The first omitted term is about f3(a) / 720 (f3 the third derivative),
# below 1e-12 of the sum at a = 1024. No array of all N rates is ever made, so a million
# adapters cost no memory.
_EXACT_RANKS = 1024
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)
_LOG_PANELS = 32
_SORTED_MAX_ITERATIONS = 200


def _euler_maclaurin(f, df, a: int, b: int) -> float:
    """sum_{i=a}^{b} f(i) for smooth f (vectorised), with f' = df, integers a <= b."""
    if b < a:
        return 0.0
    if b == a:
        return float(f(np.array([float(a)]))[0])
    edges = np.linspace(np.log(a), np.log(b), _LOG_PANELS + 1)
    half = (edges[1:] - edges[:-1]) / 2
    u = (edges[:-1] + half)[:, None] + half[:, None] * _GL_NODES[None, :]
    x = np.exp(u)
    integral = float(np.sum(half[:, None] * _GL_WEIGHTS[None, :] * f(x) * x))
    ends = f(np.array([float(a), float(b)]))
    slopes = df(np.array([float(a), float(b)]))
    return integral + (ends[0] + ends[1]) / 2 + (slopes[1] - slopes[0]) / 12


@dataclass(frozen=True)
class _ZipfTable:
    """Sums over a Zipf catalogue of ``n`` items, p_i = i^-s / H (ranks from 1)."""

    n: int
    s: float
    log_norm: float  # log H, H = sum_i i^-s

    def rates(self, start: int, stop: int) -> np.ndarray:
        """p_i for 0-based ranks start..stop-1 (most popular first)."""
        ranks = np.arange(start + 1, stop + 1, dtype=np.float64)
        return np.exp(-self.s * np.log(ranks) - self.log_norm)

    def top_share(self, count: int) -> float:
        """The sum of the ``count`` largest p_i (LFU's hit rate for a cache of ``count`` items)."""
        count = max(0, min(count, self.n))
        exact = min(count, _EXACT_RANKS)
        s = self.s
        tail = _euler_maclaurin(lambda x: x**-s, lambda x: -s * x ** (-s - 1), exact + 1, count)
        return float(self.rates(0, exact).sum()) + tail * np.exp(-self.log_norm)

    def occupancy_and_miss(self, t: float) -> tuple[float, float]:
        """Che's occupancy sum_i (1 - exp(-p_i T)) and miss mass sum_i p_i exp(-p_i T)."""
        split = min(self.n, _EXACT_RANKS)
        head = self.rates(0, split)
        absent = np.exp(-t * head)
        occupancy = split - float(absent.sum())
        miss = float(head @ absent)
        if self.n > split:
            s, c = self.s, t * np.exp(-self.log_norm)

            def present(x):  # 1 - exp(-c x^-s), kept precise where c x^-s is tiny
                return -np.expm1(-c * x**-s)

            def d_present(x):
                return -np.exp(-c * x**-s) * c * s * x ** (-s - 1)

            def rate_absent(x):  # x^-s exp(-c x^-s)
                return x**-s * np.exp(-c * x**-s)

            def d_rate_absent(x):
                return np.exp(-c * x**-s) * (-s * x ** (-s - 1) + c * s * x ** (-2 * s - 1))

            occupancy += _euler_maclaurin(present, d_present, split + 1, self.n)
            miss += _euler_maclaurin(rate_absent, d_rate_absent, split + 1, self.n) * np.exp(-self.log_norm)
        return occupancy, miss


@lru_cache(maxsize=8)
def _zipf_table(n_items: int, s: float) -> _ZipfTable:
    """The catalogue's normaliser, by the same exact-head-plus-Euler-Maclaurin sum."""
    split = min(n_items, _EXACT_RANKS)
    head = float(np.exp(-s * np.log(np.arange(1, split + 1, dtype=np.float64))).sum())
    tail = _euler_maclaurin(lambda x: x**-s, lambda x: -s * x ** (-s - 1), split + 1, n_items)
    return _ZipfTable(n=n_items, s=float(s), log_norm=float(np.log(head + tail)))


def _lru_hit_rate_sorted(table: _ZipfTable, capacity: float) -> float:
    """Che's LRU hit rate for a Zipf catalogue by Newton's method on T.

    The occupancy is increasing and concave in T and its derivative is the miss mass, so
    Newton from the lower bound T = capacity climbs monotonically onto the root.
    """
    t = capacity
    miss = 1.0
    for _ in range(_SORTED_MAX_ITERATIONS):
        occupancy, miss = table.occupancy_and_miss(t)
        residual = capacity - occupancy
        if abs(residual) <= _CHE_ABS_TOL_ITEMS + 1e-11 * capacity or miss <= 0.0:
            break
        t_next = t + residual / miss
        if abs(t_next - t) <= _CHE_STEP_TOL * t:
            break
        t = t_next
    return 1.0 - miss


def _catalogue_tier_hit_rates(table: _ZipfTable, hbm_items: int, host_items: int, policy: str) -> TierHitRates:
    """Stacked tier hit rates over a Zipf catalogue (see :func:`tier_hit_rates`)."""

    def hit_rate(capacity: int) -> float:
        if capacity <= 0:
            return 0.0
        if capacity >= table.n:
            return 1.0
        if policy == "lfu":  # the C most popular items are the first C
            return table.top_share(capacity)
        return _lru_hit_rate_sorted(table, float(capacity))

    hbm = hit_rate(hbm_items)
    upper = max(hbm, hit_rate(hbm_items + host_items))  # stack hit rates never fall with size
    return TierHitRates(hbm=hbm, host=upper - hbm, miss=max(0.0, 1.0 - upper))


def _tier_hit_rates(
    p: np.ndarray, hbm_items: int, host_items: int, policy: str, *, sorted_desc: bool
) -> TierHitRates:
    both = hbm_items + host_items
    if policy == "lru":
        coarse = _coarse_sample(p)
        positive = p.size if sorted_desc and p[-1] > 0 else int(np.count_nonzero(p))
        buffer = np.empty_like(p)  # one scratch array for both solves

        def lru(capacity: int) -> float:
            if capacity <= 0:
                return 0.0
            if capacity >= positive:
                return 1.0
            return _che_solve(p, float(capacity), coarse, buffer, items_needed=False)[1]

        hbm = lru(hbm_items)
        upper = hbm if host_items == 0 else lru(both)
    elif sorted_desc:
        # Sorted by popularity: the C most popular items are the first C.
        hbm, upper = float(p[:hbm_items].sum()), float(p[:both].sum())
    else:
        hbm, upper = lfu_hit_rate(p, hbm_items), lfu_hit_rate(p, both)
    # Guard the subtraction against round-off: stack hit rates never decrease with size.
    upper = max(upper, hbm)
    return TierHitRates(hbm=hbm, host=upper - hbm, miss=max(0.0, 1.0 - upper))
