"""Time the part-1 memory and energy engine (edgequest.engine.memory / energy).

Run from the repository root:  python benchmarks/bench_memory.py

Budgets: part 1 of a run has 50 ms in all (DESIGN.md section 7), shared with the
personalization model, so one waterfall (``training_memory``) gets 5 ms, one energy session
5 ms, and a whole part-1 sweep of one track (every method plus its energy) 50 ms. A cold
build of the Llama-3-70B table (first use in a process, cached after) also gets 50 ms.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: put the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgequest.engine import architectures  # noqa: E402
from edgequest.engine.architectures import ARCHITECTURE_NAMES, get_architecture  # noqa: E402
from edgequest.engine.energy import adaptation_energy  # noqa: E402
from edgequest.engine.memory import mcu_training_memory, supported_methods, training_memory  # noqa: E402

from _timing import median_seconds, print_budget_table  # noqa: E402

WATERFALL_BUDGET_S = 0.005
ENERGY_BUDGET_S = 0.005
SWEEP_BUDGET_S = 0.050
COLD_BUILD_BUDGET_S = 0.050

# Largest settings a track offers: batch 8 images, a 2048-token Llama sequence, rank 64.
_BATCH = 8
_RANK = 64


def _waterfall(name: str, method: str) -> Callable[[], object]:
    arch = get_architecture(name)
    precision = arch.default_precision
    return lambda: training_memory(arch, method=method, batch=_BATCH, precision=precision, layers=3, rank=_RANK)


def _energy(name: str) -> Callable[[], object]:
    arch = get_architecture(name)
    method = "lora" if arch.family == "transformer" else "tinytl"
    precision = arch.default_precision
    return lambda: adaptation_energy(
        arch, method=method, samples=10_000, batch=_BATCH, precision=precision,
        compute_flops_per_s=1e12, memory_bandwidth_bytes_per_s=51.2e9, power_w=4.5,
    )


def _sweep(name: str) -> Callable[[], object]:
    arch = get_architecture(name)
    precision = arch.default_precision

    def run() -> object:
        results = [
            training_memory(arch, method=m, batch=_BATCH, precision=precision, layers=3, rank=_RANK)
            for m in supported_methods(arch)
        ]
        results.append(_energy(name)())
        return results

    return run


def _cold_llama_build() -> object:
    # The uncached builder: what the first Cloud Titan run in a process pays.
    arch = architectures._build.__wrapped__("llama3-70b", None, None, None)
    return arch.arrays


def cases() -> list[tuple[str, Callable[[], object], float]]:
    """(name, zero-argument callable, budget in seconds) for the project-wide benchmark."""
    out: list[tuple[str, Callable[[], object], float]] = []
    for name in ARCHITECTURE_NAMES:
        for method in supported_methods(get_architecture(name)):
            out.append((f"memory.training_memory {name} {method}", _waterfall(name, method), WATERFALL_BUDGET_S))
    for name in ARCHITECTURE_NAMES:
        out.append((f"energy.adaptation_energy {name}", _energy(name), ENERGY_BUDGET_S))
    ds_cnn = get_architecture("ds-cnn")
    out.append(("memory.mcu_training_memory ds-cnn bias", lambda: mcu_training_memory(ds_cnn, method="bias"), WATERFALL_BUDGET_S))
    for name in ARCHITECTURE_NAMES:
        out.append((f"part-1 sweep {name} (all methods + energy)", _sweep(name), SWEEP_BUDGET_S))
    out.append(("architectures cold build llama3-70b", _cold_llama_build, COLD_BUILD_BUDGET_S))
    return out


def main(repeats: int = 21) -> int:
    rows = [(name, median_seconds(fn, repeats), budget) for name, fn, budget in cases()]
    return 1 if print_budget_table(rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
