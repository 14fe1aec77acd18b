"""Benchmark the personalization and adapter-cache models.

Run from the repository root:  python benchmarks/bench_personal.py [--repeats N]

Budgets: a part-1 run has 50 ms in all (DESIGN.md section 7), so one ``personalize`` call
(pre-train + fine-tune + evaluate) gets 20 ms; ``adapter_cache`` over a million adapters
gets 15 ms, and Che's approximation alone over a million adapters 10 ms.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from edgequest.engine.adapter_cache import (  # noqa: E402
    adapter_cache,
    che_hit_rates,
    zipf_popularity,
)
from edgequest.engine.personalization import personalize  # noqa: E402

from _timing import median_seconds, print_budget_table  # noqa: E402

PERSONALIZE_BUDGET_S = 0.020
ADAPTER_CACHE_BUDGET_S = 0.015
CHE_BUDGET_S = 0.010

_METHOD_SETTINGS: list[tuple[str, dict]] = [
    ("none", {}),
    ("bias", {}),
    ("last_k", {"layers": 2}),
    ("lora", {"rank": 16}),
    ("tinytl", {"rank": 8}),
    ("full", {}),
]


def _personalize_case(method: str, settings: dict) -> Callable[[], object]:
    # A fresh generator per call, as a game run would make from its seed.
    return lambda: personalize(method=method, rng=np.random.default_rng(0), **settings)


def cases() -> list[tuple[str, Callable[[], object], float]]:
    """(name, zero-argument callable, budget in seconds) for the project-wide benchmark."""
    popularity = zipf_popularity(1_000_000, 1.0)
    out: list[tuple[str, Callable[[], object], float]] = [
        (
            f"personalize {method} {' '.join(f'{k}={v}' for k, v in settings.items())}".strip(),
            _personalize_case(method, settings),
            PERSONALIZE_BUDGET_S,
        )
        for method, settings in _METHOD_SETTINGS
    ]
    out += [
        ("che_hit_rates N=1e6 s=1.0 C=61", lambda: che_hit_rates(popularity, 61), CHE_BUDGET_S),
        ("che_hit_rates N=1e6 s=1.0 C=7873", lambda: che_hit_rates(popularity, 7873), CHE_BUDGET_S),
        ("adapter_cache N=1e6 lru (defaults)", lambda: adapter_cache(), ADAPTER_CACHE_BUDGET_S),
        (
            "adapter_cache N=1e6 lru s=1.2 r=64 all roles int4",
            lambda: adapter_cache(
                rank=64, targets=("q", "k", "v", "o", "gate", "up", "down"),
                base_precision="int4", hbm_cache_gb=30.0, host_cache_gb=1000.0, zipf_s=1.2,
            ),
            ADAPTER_CACHE_BUDGET_S,
        ),
        ("adapter_cache N=1e6 lfu", lambda: adapter_cache(policy="lfu"), ADAPTER_CACHE_BUDGET_S),
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="timed calls per case")
    args = parser.parse_args(argv)
    rows = [(name, median_seconds(fn, args.repeats), budget) for name, fn, budget in cases()]
    print_budget_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
