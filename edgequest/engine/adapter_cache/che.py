"""Che's approximation of an LRU cache's hit rates (Che, Tung, Wang, IEEE JSAC 2002)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgequest.engine.adapter_cache.sizes import (
    _check_real,
    _check_int,
    _check_popularity,
)

# --------------------------------------------------------------------------- Che


@dataclass(frozen=True)
class CheHitRates:
    """Che's approximation for an LRU cache of ``capacity_items`` items.

    ``characteristic_time`` is T in units of requests when the popularity sums to one (the
    time an item survives in the cache without being requested); ``item_hit_rates[i] =
    1 - exp(-p_i T)``; ``hit_rate`` is their popularity-weighted mean.
    """

    characteristic_time: float
    item_hit_rates: np.ndarray
    hit_rate: float


# Coarse stage: the first _CHE_HEAD items exactly, then the mean of each run of
# _CHE_STRIDE consecutive items standing for the run.
_CHE_HEAD = 2048
_CHE_STRIDE = 32
_CHE_MAX_ITERATIONS = 60
_CHE_ABS_TOL_ITEMS = 1e-9
_CHE_REL_TOL = 1e-12
_CHE_STEP_TOL = 1e-12  # a Newton step this small (relative to T) means T is settled
# When only the overall hit rate is wanted, a last Newton step at most this large (relative
# to T) is taken without another pass over the items (see _newton_characteristic_time).
_CHE_POLISH_STEP = 1e-5


def _coarse_sample(p: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A small weighted stand-in for ``p`` whose Che equation has almost the same root.

    For popularity sorted by rank (Zipf), neighbouring items have nearly equal rates, so a
    run's mean rate represents it to second order (the root moves by ~1e-7 relative; a
    run's middle item is cheaper but ~100x worse, which costs an extra exact step). For
    any other order the stand-in is worse, which only costs the exact solve that follows
    an iteration or two more.
    """
    n = p.size
    if n <= _CHE_HEAD + 8 * _CHE_STRIDE:
        return p, None
    runs = (n - _CHE_HEAD) // _CHE_STRIDE
    run_end = _CHE_HEAD + runs * _CHE_STRIDE
    # A matrix-vector product is several times faster than .mean(axis=1) here.
    run_means = p[_CHE_HEAD:run_end].reshape(runs, _CHE_STRIDE) @ np.full(
        _CHE_STRIDE, 1.0 / _CHE_STRIDE
    )
    coarse = np.concatenate([p[:_CHE_HEAD], run_means, p[run_end:]])
    weights = np.ones(coarse.size)
    weights[_CHE_HEAD : _CHE_HEAD + runs] = _CHE_STRIDE
    return coarse, weights


def _newton_characteristic_time(
    p: np.ndarray,
    weights: np.ndarray | None,
    capacity: float,
    t_start: float,
    t_floor: float,
    out: np.ndarray | None = None,
    polish: bool = False,
) -> tuple[float, float, np.ndarray]:
    """Solve ``sum_i w_i (1 - exp(-p_i T)) = capacity`` for T by Newton's method.

    The left side is increasing and concave in T, so Newton from a point left of the root
    climbs monotonically onto it, and from a point right of the root lands left of it
    (clamped at ``t_floor``, a proven lower bound) and then climbs: no bracketing needed.
    Returns T, the miss mass ``sum_i w_i p_i exp(-p_i T)`` (the derivative of the left
    side, and one minus the hit rate when p sums to one) and ``exp(-p_i T)`` (unweighted
    case only), all at the returned T. ``out`` (same shape as p) avoids a fresh buffer.

    ``polish``: if the next step is tiny, take it and move the miss mass M(T) along its
    derivative, dM/dT = -sum_i p_i^2 exp(-p_i T), instead of re-evaluating every item.
    Newton's error after that step is of order step^2, and so is the first-order update's,
    so M is still exact to ~1e-10 relative. The returned array is then scratch.
    """
    total = float(p.size) if weights is None else float(weights.sum())
    work = np.empty_like(p) if out is None else out
    t = t_start
    iteration = 0
    while True:
        np.multiply(p, -t, out=work)
        np.exp(work, out=work)  # exp(-p T): each item's probability of being absent
        if weights is None:
            occupancy = total - float(work.sum())
            miss_mass = float(p @ work)
        else:
            occupancy = total - float(weights @ work)
            miss_mass = float(p @ (work * weights))
        residual = capacity - occupancy
        iteration += 1
        if (
            abs(residual) <= _CHE_ABS_TOL_ITEMS + _CHE_REL_TOL * capacity
            or miss_mass <= 0.0
            or iteration >= _CHE_MAX_ITERATIONS
        ):
            return t, miss_mass, work
        t_next = max(t + residual / miss_mass, t_floor)
        if polish and abs(t_next - t) <= _CHE_POLISH_STEP * t:
            np.multiply(work, p, out=work)
            slope = float(p @ work) if weights is None else float(p @ (work * weights))
            return t_next, miss_mass - (t_next - t) * slope, work
        if abs(t_next - t) <= _CHE_STEP_TOL * t:
            # What is left of the residual is round-off in the sum over all items.
            return t, miss_mass, work
        t = t_next


def _che_solve(
    p: np.ndarray,
    capacity: float,
    coarse: tuple[np.ndarray, np.ndarray | None],
    out: np.ndarray | None = None,
    items_needed: bool = True,
) -> tuple[float, float, np.ndarray]:
    """Characteristic time T, overall LRU hit rate and ``exp(-p T)`` (scratch unless
    ``items_needed``) for ``capacity`` items; ``p`` sums to one and
    ``0 < capacity < count of positive p``."""
    # sum(1 - exp(-p T)) <= T sum(p) = T, so T >= capacity: a lower bound.
    t_floor = capacity
    # A cheap solve on the coarse stand-in puts the exact solve within a step or two of
    # the root (each exact step is one exp over every item).
    t_coarse, _, _ = _newton_characteristic_time(coarse[0], coarse[1], capacity, t_floor, t_floor)
    t, miss_mass, absent = _newton_characteristic_time(
        p, None, capacity, t_coarse, t_floor, out, polish=not items_needed
    )
    return t, 1.0 - miss_mass, absent


def che_hit_rates(popularity: np.ndarray, capacity_items: float) -> CheHitRates:
    """Che's approximation of an LRU cache's hit rates under the independent reference
    model (Che, Tung, Wang 2002; Fricker, Robert, Roberts 2012).

    Solves ``sum_i (1 - exp(-p_i T)) = C`` for the characteristic time T, then
    ``hit_i = 1 - exp(-p_i T)``. ``popularity`` holds request rates (normalised here if
    they do not sum to one). ``capacity_items`` may be fractional. Vectorised: a coarse
    solve on about 33,000 stand-ins, then two or three exact Newton steps over all items.
    """
    p, total, all_positive = _check_popularity(popularity)
    capacity = _check_real("capacity_items", capacity_items, 0.0, float(np.iinfo(np.int64).max))
    if abs(total - 1.0) > 1e-12:
        p = p / total
    positive = p.size if all_positive else int(np.count_nonzero(p))
    if capacity <= 0.0:
        hits, t, hit_rate = np.zeros_like(p), 0.0, 0.0
    elif capacity >= positive:
        hits, t, hit_rate = (p > 0).astype(np.float64), float("inf"), 1.0
    else:
        t, hit_rate, hits = _che_solve(p, capacity, _coarse_sample(p))
        np.subtract(1.0, hits, out=hits)
    hits.flags.writeable = False
    return CheHitRates(characteristic_time=t, item_hit_rates=hits, hit_rate=hit_rate)


def lru_hit_rate(popularity: np.ndarray, capacity_items: float) -> float:
    """Overall LRU hit rate by Che's approximation (fraction of requests)."""
    return che_hit_rates(popularity, capacity_items).hit_rate


def lfu_hit_rate(popularity: np.ndarray, capacity_items: int) -> float:
    """Perfect-LFU hit rate under the independent reference model: in steady state the cache
    holds the ``C`` most popular items, so the hit rate is the sum of their probabilities
    (the best any policy can do without knowing the future order of requests)."""
    p, total, _ = _check_popularity(popularity)
    capacity = _check_int("capacity_items", capacity_items, 0, np.iinfo(np.int64).max)
    if capacity == 0:
        return 0.0
    if capacity >= p.size:
        return 1.0
    top = np.partition(p, p.size - capacity)[p.size - capacity :]
    return float(top.sum() / total)
