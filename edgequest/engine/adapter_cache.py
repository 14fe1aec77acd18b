"""Cloud Titan's adapter cache: serving a million per-user LoRA adapters from one H100.

Every user of the Llama-3-70B service has a LoRA adapter. Adapters live on NVMe; the most
requested ones are cached in host DRAM and in the GPU's HBM, next to the base weights and
the KV cache, as S-LoRA does (Sheng et al., MLSys 2024: adapters in host memory, paged into
GPU memory on demand). A request whose adapter is not in HBM stalls while it is copied in.

The model, piece by piece:

* popularity: Zipf over ``n_adapters`` users, ``p_i`` proportional to ``i^-s`` (S-LoRA and
  Punica both describe adapter popularity as a power law);
* adapter size: ``r (d_in + d_out)`` parameters per adapted matrix per layer (Hu et al.,
  ICLR 2022), with Llama-3-70B's shapes (grouped-query attention makes K and V narrow);
* hit rates: for LRU, Che's approximation (Che, Tung and Wang, IEEE JSAC 2002; justified by
  Fricker, Robert and Roberts, ITC 2012) under the independent reference model; for LFU,
  the ``C`` most popular adapters (the steady state of perfect LFU under that model);
* two tiers stacked as one LRU stack (Mattson et al., IBM Systems Journal 1970): HBM holds
  the ``C_hbm`` most recently used adapters, host DRAM the next ``C_host``. LRU is a stack
  algorithm (a cache of size C always holds a subset of a cache of size C + 1: the
  inclusion property), so P(hit in HBM) = LRU(C_hbm) and P(hit in host) =
  LRU(C_hbm + C_host) - LRU(C_hbm). Same construction for LFU. Tiers are exclusive: an
  adapter promoted to HBM leaves host DRAM, and the one it displaces moves down;
* swap time = adapter bytes / link bandwidth: host -> HBM over PCIe Gen5, NVMe -> host ->
  HBM staged through host memory (read, then copy; the two are not overlapped);
* throughput: decode is memory-bound, so a decode step takes the bytes it reads (base
  weights plus the batch's adapters) over HBM bandwidth; each adapter load stalls the whole
  batch (no prefetch), once per new request.

The trace-driven LRU simulation and Belady's offline optimum are here to check Che's
approximation and to show how far LRU is from the best possible eviction.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from functools import lru_cache
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from edgequest.engine.architectures import LLAMA3_70B
from edgequest.engine.checks import check_int as _check_int
from edgequest.engine.checks import check_number as _check_real

# --------------------------------------------------------------------------- hardware

GB = 1e9  # controls in GB are decimal gigabytes
GIB = 2**30
HBM_BYTES = 80 * GIB  # H100 SXM, HBM3
HBM_BANDWIDTH_BYTES_PER_S = 3.35e12
PCIE_BANDWIDTH_BYTES_PER_S = 64e9  # PCIe Gen5 x16, each direction
NVME_BANDWIDTH_BYTES_PER_S = 7.45e9  # PCIe 4 NVMe SSD, sequential read

# --------------------------------------------------------------------------- Llama-3-70B

LLAMA3_70B_LAYERS = LLAMA3_70B.layers
LLAMA3_70B_HIDDEN = LLAMA3_70B.hidden
LLAMA3_70B_KV_WIDTH = LLAMA3_70B.kv_width  # 8 KV heads x 128 (grouped-query attention)
LLAMA3_70B_MLP = LLAMA3_70B.ffn
LLAMA3_70B_VOCAB = LLAMA3_70B.vocab

# (d_in, d_out) of each linear map in one decoder layer.
ROLE_SHAPES: Mapping[str, tuple[int, int]] = MappingProxyType(LLAMA3_70B.role_shapes())
ROLES: tuple[str, ...] = tuple(ROLE_SHAPES)

# Bytes per parameter.
PRECISION_BYTES: Mapping[str, float] = MappingProxyType({
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
})

POLICIES: tuple[str, ...] = ("lru", "lfu")

MAX_ADAPTERS = 5_000_000
MAX_RANK = 1024
MAX_ZIPF_S = 3.0
MAX_CACHE_GB = 100_000.0


def llama3_70b_params() -> int:
    """Parameters of Llama-3-70B from its shapes: embeddings, untied output head, 80
    decoder layers (seven linear maps and two RMSNorm vectors each), final norm.
    About 70.6 billion (Meta's model card: 70B)."""
    per_layer = sum(d_in * d_out for d_in, d_out in ROLE_SHAPES.values())
    per_layer += 2 * LLAMA3_70B_HIDDEN
    embeddings = 2 * LLAMA3_70B_VOCAB * LLAMA3_70B_HIDDEN
    return LLAMA3_70B_LAYERS * per_layer + embeddings + LLAMA3_70B_HIDDEN


# --------------------------------------------------------------------------- validation


def _check_targets(targets: object) -> tuple[str, ...]:
    if (
        not isinstance(targets, (tuple, list))
        or not targets
        or any(t not in ROLE_SHAPES for t in targets)
        or len(set(targets)) != len(targets)
    ):
        raise ValueError(
            f"targets: got {targets!r}; accepted: a non-empty tuple of distinct roles "
            f"from {', '.join(ROLES)}"
        )
    return tuple(targets)


def _check_precision(name: str, precision: object) -> float:
    if precision not in PRECISION_BYTES:
        raise ValueError(
            f"{name}: got {precision!r}; accepted: {', '.join(PRECISION_BYTES)}"
        )
    return PRECISION_BYTES[str(precision)]


def _check_popularity(popularity: object) -> tuple[np.ndarray, float, bool]:
    """The popularity as float64, its sum, and whether every entry is positive.

    Two reductions, no temporary arrays: a NaN or an infinity makes the sum non-finite, a
    negative entry makes the minimum negative.
    """
    p = np.asarray(popularity, dtype=np.float64)
    total = float(p.sum()) if p.ndim == 1 and p.size else float("nan")
    smallest = float(p.min()) if np.isfinite(total) else float("nan")
    if not np.isfinite(total) or total <= 0.0 or not smallest >= 0.0:
        raise ValueError(
            "popularity: accepted: a non-empty 1-D array of finite, non-negative request "
            "rates with a positive sum"
        )
    return p, total, smallest > 0.0


# --------------------------------------------------------------------------- sizes


def adapter_params(rank: int, targets: tuple[str, ...]) -> int:
    """LoRA parameters of one adapter: ``r (d_in + d_out)`` per adapted matrix per layer,
    over Llama-3-70B's 80 layers (Hu et al. 2022, section 4.2). Rank 16 on q and v:
    32,768,000."""
    rank = _check_int("rank", rank, 1, MAX_RANK)
    targets = _check_targets(targets)
    per_layer = sum(rank * (ROLE_SHAPES[t][0] + ROLE_SHAPES[t][1]) for t in targets)
    return LLAMA3_70B_LAYERS * per_layer


def adapter_bytes(rank: int, targets: tuple[str, ...], precision: str = "bf16") -> int:
    """Bytes of one adapter at ``precision`` (rank 16, q and v, bf16: 65,536,000 B)."""
    bytes_per_param = _check_precision("precision", precision)
    return int(round(adapter_params(rank, targets) * bytes_per_param))


# --------------------------------------------------------------------------- popularity


def zipf_popularity(n_items: int, s: float) -> np.ndarray:
    """Request probabilities ``p_i = i^-s / H(n, s)`` for ranks ``i = 1..n`` (sorted, most
    popular first; ``s = 0`` is uniform)."""
    n_items = _check_int("n_items", n_items, 1, MAX_ADAPTERS)
    s = _check_real("s", s, 0.0, MAX_ZIPF_S)
    # exp(-s log i) is faster than a float power over a million ranks.
    p = np.arange(1, n_items + 1, dtype=np.float64)
    np.log(p, out=p)
    p *= -s
    np.exp(p, out=p)
    p *= 1.0 / p.sum()
    return p


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


# --------------------------------------------------------------------------- serving


@dataclass(frozen=True)
class AdapterCacheResult:
    """One serving configuration of the adapter cache, measured.

    Sizes in bytes, times in milliseconds, rates as fractions of requests.
    """

    adapter_params: int
    adapter_bytes: int
    catalog_bytes: int  # all adapters, which NVMe must hold
    base_weight_bytes: int
    kv_reserve_bytes: int
    hbm_free_bytes: int  # HBM left after base weights and KV reserve (may be negative)
    hbm_cache_bytes: int  # granted, after clamping
    host_cache_bytes: int
    fits: bool  # weights + KV reserve + requested HBM cache fit in 80 GiB
    hbm_items: int
    host_items: int
    nvme_items: int
    policy: str
    hbm_hit_rate: float
    host_hit_rate: float
    miss_rate: float
    pcie_swap_ms: float  # one adapter, host -> HBM
    nvme_swap_ms: float  # one adapter, NVMe -> host -> HBM
    added_latency_ms: float  # mean over requests
    decode_step_ms: float  # one decode step of the batch, without stalls
    tokens_per_s_no_swaps: float
    tokens_per_s: float
    swap_stall_fraction: float  # share of serving time spent stalled on adapter loads

    @property
    def adapter_mb(self) -> float:
        return self.adapter_bytes / 1e6


def adapter_cache(
    *,
    rank: int = 16,
    targets: tuple[str, ...] = ("q", "v"),
    precision: str = "bf16",
    base_precision: str = "fp8",
    hbm_cache_gb: float = 4.0,
    host_cache_gb: float = 512.0,
    policy: str = "lru",
    zipf_s: float = 1.0,
    n_adapters: int = 1_000_000,
    kv_reserve_gb: float = 10.0,
    batch_size: int = 32,
    tokens_per_request: int = 256,
) -> AdapterCacheResult:
    """Hit rates, swap latency and decode throughput of the adapter cache.

    Args:
        rank, targets, precision: the adapters (LoRA rank, adapted roles among ``ROLES``,
            adapter precision among ``PRECISION_BYTES``).
        base_precision: precision of Llama-3-70B's weights in HBM.
        hbm_cache_gb, host_cache_gb: cache sizes in GB (1e9 bytes). The HBM cache is
            clamped to what the weights and KV reserve leave; ``fits`` reports whether the
            request fitted.
        policy: ``lru`` (Che's approximation) or ``lfu`` (top-C under the IRM).
        zipf_s: Zipf exponent of adapter popularity.
        n_adapters: users, one adapter each.
        kv_reserve_gb: HBM kept for the KV cache, GB.
        batch_size: concurrent sequences per decode step, each with its own adapter.
        tokens_per_request: decode steps per request; each request loads its adapter once.

    Serving model (documented assumptions, not measurements):
        step_s = (base weight bytes + batch_size x adapter bytes) / HBM bandwidth
        (memory-bound decode; KV-cache reads are not counted);
        stall per request = P(host) t_pcie + P(miss) (t_nvme + t_pcie), mean added latency;
        a step serves batch_size tokens and admits batch_size / tokens_per_request new
        requests, whose loads stall the batch, so
        tokens_per_s = batch_size / (step_s + batch_size / tokens_per_request x stall).
    """
    a_params = adapter_params(rank, targets)
    a_bytes = int(round(a_params * _check_precision("precision", precision)))
    base_bytes_per_param = _check_precision("base_precision", base_precision)
    hbm_cache_gb = _check_real("hbm_cache_gb", hbm_cache_gb, 0.0, MAX_CACHE_GB)
    host_cache_gb = _check_real("host_cache_gb", host_cache_gb, 0.0, MAX_CACHE_GB)
    if policy not in POLICIES:
        raise ValueError(f"policy: got {policy!r}; accepted: {', '.join(POLICIES)}")
    zipf_s = _check_real("zipf_s", zipf_s, 0.0, MAX_ZIPF_S)
    n_adapters = _check_int("n_adapters", n_adapters, 1, MAX_ADAPTERS)
    kv_reserve_gb = _check_real("kv_reserve_gb", kv_reserve_gb, 0.0, MAX_CACHE_GB)
    batch_size = _check_int("batch_size", batch_size, 1, 4096)
    tokens_per_request = _check_int("tokens_per_request", tokens_per_request, 1, 1_000_000)

    base_bytes = int(round(llama3_70b_params() * base_bytes_per_param))
    kv_bytes = int(round(kv_reserve_gb * GB))
    hbm_free = HBM_BYTES - base_bytes - kv_bytes
    asked_hbm = int(round(hbm_cache_gb * GB))
    granted_hbm = min(asked_hbm, max(hbm_free, 0))
    fits = hbm_free >= 0 and asked_hbm <= hbm_free
    host_bytes = int(round(host_cache_gb * GB))

    hbm_items = min(granted_hbm // a_bytes, n_adapters)
    host_items = min(host_bytes // a_bytes, n_adapters - hbm_items)
    table = _zipf_table(n_adapters, float(zipf_s))
    tiers = _catalogue_tier_hit_rates(table, hbm_items, host_items, policy)

    pcie_s = a_bytes / PCIE_BANDWIDTH_BYTES_PER_S
    nvme_s = a_bytes / NVME_BANDWIDTH_BYTES_PER_S
    stall_s = tiers.host * pcie_s + tiers.miss * (nvme_s + pcie_s)
    step_s = (base_bytes + batch_size * a_bytes) / HBM_BANDWIDTH_BYTES_PER_S
    stall_per_step_s = batch_size / tokens_per_request * stall_s
    return AdapterCacheResult(
        adapter_params=a_params,
        adapter_bytes=a_bytes,
        catalog_bytes=a_bytes * n_adapters,
        base_weight_bytes=base_bytes,
        kv_reserve_bytes=kv_bytes,
        hbm_free_bytes=hbm_free,
        hbm_cache_bytes=granted_hbm,
        host_cache_bytes=host_bytes,
        fits=fits,
        hbm_items=hbm_items,
        host_items=host_items,
        nvme_items=n_adapters - hbm_items - host_items,
        policy=policy,
        hbm_hit_rate=tiers.hbm,
        host_hit_rate=tiers.host,
        miss_rate=tiers.miss,
        pcie_swap_ms=pcie_s * 1e3,
        nvme_swap_ms=(nvme_s + pcie_s) * 1e3,
        added_latency_ms=stall_s * 1e3,
        decode_step_ms=step_s * 1e3,
        tokens_per_s_no_swaps=batch_size / step_s,
        tokens_per_s=batch_size / (step_s + stall_per_step_s),
        swap_stall_fraction=stall_per_step_s / (step_s + stall_per_step_s),
    )
