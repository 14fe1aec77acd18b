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

from dataclasses import dataclass

from edgequest.engine.adapter_cache.sizes import (
    GB,
    GIB,
    HBM_BYTES,
    HBM_BANDWIDTH_BYTES_PER_S,
    PCIE_BANDWIDTH_BYTES_PER_S,
    NVME_BANDWIDTH_BYTES_PER_S,
    LLAMA3_70B_LAYERS,
    LLAMA3_70B_HIDDEN,
    LLAMA3_70B_KV_WIDTH,
    LLAMA3_70B_MLP,
    LLAMA3_70B_VOCAB,
    ROLE_SHAPES,
    ROLES,
    PRECISION_BYTES,
    POLICIES,
    MAX_ADAPTERS,
    MAX_RANK,
    MAX_ZIPF_S,
    MAX_CACHE_GB,
    llama3_70b_params,
    _check_real,
    _check_int,
    _check_precision,
    adapter_params,
    adapter_bytes,
    zipf_popularity,
)
from edgequest.engine.adapter_cache.che import (
    CheHitRates,
    che_hit_rates,
    lru_hit_rate,
    lfu_hit_rate,
)
from edgequest.engine.adapter_cache.traces import (
    TraceSimulation,
    draw_irm_trace,
    lru_hit_rate_on_trace,
    simulate_lru_trace,
    belady_hit_rate,
)
from edgequest.engine.adapter_cache.tiers import (
    TierHitRates,
    tier_hit_rates,
    _zipf_table,
    _catalogue_tier_hit_rates,
)


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
    base_fits: bool  # the base weights and the KV reserve fit HBM at all; if not, nothing is served
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
        a GPU whose HBM cannot hold the base weights and the KV reserve serves nothing:
        ``base_fits`` is False and both throughputs are 0 tokens/s;
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
    base_fits = hbm_free >= 0
    serving = 1.0 if base_fits else 0.0
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
        base_fits=base_fits,
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
        tokens_per_s_no_swaps=serving * batch_size / step_s,
        tokens_per_s=serving * batch_size / (step_s + stall_per_step_s),
        swap_stall_fraction=stall_per_step_s / (step_s + stall_per_step_s),
    )


__all__ = [
    "AdapterCacheResult",
    "CheHitRates",
    "GB",
    "GIB",
    "HBM_BANDWIDTH_BYTES_PER_S",
    "HBM_BYTES",
    "LLAMA3_70B_HIDDEN",
    "LLAMA3_70B_KV_WIDTH",
    "LLAMA3_70B_LAYERS",
    "LLAMA3_70B_MLP",
    "LLAMA3_70B_VOCAB",
    "MAX_ADAPTERS",
    "MAX_CACHE_GB",
    "MAX_RANK",
    "MAX_ZIPF_S",
    "NVME_BANDWIDTH_BYTES_PER_S",
    "PCIE_BANDWIDTH_BYTES_PER_S",
    "POLICIES",
    "PRECISION_BYTES",
    "ROLES",
    "ROLE_SHAPES",
    "TierHitRates",
    "TraceSimulation",
    "adapter_bytes",
    "adapter_cache",
    "adapter_params",
    "belady_hit_rate",
    "che_hit_rates",
    "draw_irm_trace",
    "lfu_hit_rate",
    "llama3_70b_params",
    "lru_hit_rate",
    "lru_hit_rate_on_trace",
    "simulate_lru_trace",
    "tier_hit_rates",
    "zipf_popularity",
]
