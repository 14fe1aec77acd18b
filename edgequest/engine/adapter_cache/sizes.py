"""Cloud Titan's adapter sizes, hardware constants, argument checks and Zipf popularity."""

from __future__ import annotations

from collections.abc import Mapping
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
