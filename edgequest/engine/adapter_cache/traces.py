"""Trace-driven checks: an LRU simulation over an IRM trace, and Belady's offline optimum."""

from __future__ import annotations

import heapq
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from edgequest.engine.adapter_cache.sizes import (
    _check_int,
    _check_popularity,
)

# --------------------------------------------------------------------------- traces


@dataclass(frozen=True)
class TraceSimulation:
    """A request trace (item ids) and the hit rate an LRU cache achieved on it, counted
    after ``warmup_requests`` (the cache starts empty)."""

    trace: np.ndarray
    capacity_items: int
    warmup_requests: int
    hit_rate: float


def draw_irm_trace(popularity: np.ndarray, n_requests: int, rng: np.random.Generator) -> np.ndarray:
    """``n_requests`` independent requests, item ``i`` with probability ``p_i / sum(p)``
    (the independent reference model)."""
    p, _, _ = _check_popularity(popularity)
    n_requests = _check_int("n_requests", n_requests, 1, 100_000_000)
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    trace = np.searchsorted(cdf, rng.random(n_requests), side="right")
    return np.minimum(trace, p.size - 1)


def lru_hit_rate_on_trace(
    trace: np.ndarray, capacity_items: int, warmup_requests: int = 0
) -> float:
    """Replay ``trace`` through an LRU cache of ``capacity_items`` items; hit rate after
    the first ``warmup_requests`` requests."""
    trace, capacity, warmup = _check_trace_args(trace, capacity_items, warmup_requests)
    cache: OrderedDict[int, None] = OrderedDict()
    hits = 0
    for t, item in enumerate(trace.tolist()):
        if item in cache:
            cache.move_to_end(item)
            if t >= warmup:
                hits += 1
        elif capacity > 0:
            cache[item] = None
            if len(cache) > capacity:
                cache.popitem(last=False)
    return hits / (trace.size - warmup)


def simulate_lru_trace(
    popularity: np.ndarray,
    capacity_items: int,
    n_requests: int,
    rng: np.random.Generator,
    warmup_requests: int | None = None,
) -> TraceSimulation:
    """Draw an IRM trace and replay it through a real LRU cache. The first
    ``warmup_requests`` (default: a fifth of the trace) fill the cache and are not
    counted."""
    capacity = _check_int("capacity_items", capacity_items, 0, np.iinfo(np.int64).max)
    trace = draw_irm_trace(popularity, n_requests, rng)
    warmup = n_requests // 5 if warmup_requests is None else warmup_requests
    hit_rate = lru_hit_rate_on_trace(trace, capacity, warmup)
    trace.flags.writeable = False
    return TraceSimulation(
        trace=trace, capacity_items=capacity, warmup_requests=warmup, hit_rate=hit_rate
    )


def belady_hit_rate(trace: np.ndarray, capacity_items: int, warmup_requests: int = 0) -> float:
    """Hit rate of Belady's offline optimum MIN on ``trace`` (Belady, IBM Systems Journal
    1966; optimality: Mattson et al. 1970): on a miss with a full cache, evict the cached
    item whose next request lies farthest in the future. Counted after
    ``warmup_requests``, from an empty cache, so it is comparable with
    ``lru_hit_rate_on_trace`` on the same trace."""
    trace, capacity, warmup = _check_trace_args(trace, capacity_items, warmup_requests)
    n = trace.size
    # next_use[t]: index of the next request for trace[t], or n if there is none.
    order = np.lexsort((np.arange(n), trace))
    same_item = trace[order[1:]] == trace[order[:-1]]
    next_use = np.full(n, n, dtype=np.int64)
    next_use[order[:-1][same_item]] = order[1:][same_item]
    cached: dict[int, int] = {}  # item -> position of its next request
    heap: list[tuple[int, int]] = []  # (-next request, item); stale entries skipped
    hits = 0
    for t, (item, upcoming) in enumerate(zip(trace.tolist(), next_use.tolist())):
        if item in cached:
            if t >= warmup:
                hits += 1
        elif capacity == 0:
            continue
        elif len(cached) >= capacity:
            while True:
                neg_next, victim = heapq.heappop(heap)
                if cached.get(victim) == -neg_next:
                    del cached[victim]
                    break
        cached[item] = upcoming
        heapq.heappush(heap, (-upcoming, item))
    return hits / (n - warmup)


def _check_trace_args(
    trace: object, capacity_items: object, warmup_requests: object
) -> tuple[np.ndarray, int, int]:
    arr = np.asarray(trace)
    if (
        arr.ndim != 1
        or arr.size == 0
        or not np.issubdtype(arr.dtype, np.integer)
        or np.any(arr < 0)
    ):
        raise ValueError("trace: accepted: a non-empty 1-D array of non-negative item ids")
    capacity = _check_int("capacity_items", capacity_items, 0, np.iinfo(np.int64).max)
    warmup = _check_int("warmup_requests", warmup_requests, 0, arr.size - 1)
    return arr.astype(np.int64, copy=False), capacity, warmup
