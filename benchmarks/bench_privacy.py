"""Benchmark the privacy accountant (edgequest.engine.privacy).

Run from the repository root:  python benchmarks/bench_privacy.py

Budgets (DESIGN.md section 7 leaves the accountant a slice of a run's 250 ms):
epsilon() <= 5 ms a call (median over the fixture grid: q 0.001..1, sigma 0.5..8,
steps 1..100,000, fractional orders included); noise_multiplier_for() <= 100 ms.
When dp-accounting is importable, the same grid is timed with it and the speed-up printed.

The largest part-3 run of each track (every number control at its maximum: 10,000
participants a round, 100 rounds, 3 local epochs; central and local noise), played through
the game core with one BLAS thread, must stay within 250 ms (DESIGN.md section 7): the
calibration, the private run and its no-privacy baseline together. Its median and spread
(min to max) are printed.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# One BLAS thread, as the game runs (edgequest.cli sets the same before numpy loads).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from edgequest.engine.privacy import epsilon, noise_multiplier_for  # noqa: E402

from _timing import format_seconds, median_seconds, print_budget_table, spread, time_calls  # noqa: E402

DELTA = 1e-5
GRID_Q = (0.001, 0.01, 0.1, 0.5, 1.0)
GRID_SIGMA = (0.5, 0.8, 1.0, 2.0, 4.0, 8.0)
GRID_STEPS = (1, 10, 100, 10_000, 100_000)
EPSILON_BUDGET_S = 0.005
CALIBRATION_BUDGET_S = 0.100
PART3_RUN_BUDGET_S = 0.250
PART3_SEED = 1


def largest_part3_design(track: str, aggregation: str) -> tuple[object, dict[str, object]]:
    """(part, design): track's part 3 with every number control at its maximum."""
    from edgequest.campaign import load_campaign

    part = load_campaign()[track].part(3)
    design: dict[str, object] = {
        c.name: (c.default if c.kind == "choice" else (int(c.max) if c.kind == "int" else float(c.max)))
        for c in part.controls
    }
    design["aggregation"] = aggregation
    return part, design


def _part3_run(track: str, aggregation: str) -> Callable[[], object]:
    from edgequest.game.play import simulate_design

    part, design = largest_part3_design(track, aggregation)
    return lambda: simulate_design(part, design, PART3_SEED)


def part3_cases() -> list[tuple[str, Callable[[], object], float]]:
    return [(f"privacy.part 3 {track} {aggregation}, largest", _part3_run(track, aggregation), PART3_RUN_BUDGET_S)
            for track in ("cloud-titan", "edge-guardian", "mobile-nomad", "tiny-pioneer")
            for aggregation in ("central", "local")]


def _grid() -> list[tuple[float, float, int]]:
    return [(q, s, t) for q in GRID_Q for s in GRID_SIGMA for t in GRID_STEPS]


def cases() -> list[tuple[str, Callable[[], object], float]]:
    """(name, zero-argument callable, budget in seconds) for the project-wide benchmark."""
    return [
        ("privacy.epsilon Abadi (q=.01, s=4, 10k steps)",
         lambda: epsilon(0.01, 4.0, 10_000, DELTA), EPSILON_BUDGET_S),
        ("privacy.epsilon q=.1 s=1 (long series)",
         lambda: epsilon(0.1, 1.0, 1000, DELTA), EPSILON_BUDGET_S),
        ("privacy.epsilon q=.5 s=8 (slowest grid row)",
         lambda: epsilon(0.5, 8.0, 100_000, DELTA), EPSILON_BUDGET_S),
        ("privacy.noise_multiplier_for eps=1 q=.01 10k",
         lambda: noise_multiplier_for(1.0, 0.01, 10_000, DELTA), CALIBRATION_BUDGET_S),
        ("privacy.noise_multiplier_for eps=8 q=.5 100",
         lambda: noise_multiplier_for(8.0, 0.5, 100, DELTA), CALIBRATION_BUDGET_S),
    ] + part3_cases()


def _dp_accounting_epsilon() -> Callable[[float, float, int], float] | None:
    try:
        import dp_accounting
        from absl import logging as absl_logging
    except ImportError:
        return None
    absl_logging.set_verbosity(absl_logging.ERROR)

    def reference(q: float, sigma: float, steps: int) -> float:
        accountant = dp_accounting.rdp.RdpAccountant()
        accountant.compose(
            dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps
        )
        return accountant.get_epsilon(DELTA)

    return reference


def main() -> None:
    samples = {name: time_calls(function, 7) for name, function, _ in cases()}
    rows = [(name, statistics.median(samples[name]), budget_s) for name, _, budget_s in cases()]

    grid = _grid()
    per_case_s = [median_seconds(lambda c=c: epsilon(*c, DELTA), repeats=3) for c in grid]
    grid_median_ms = statistics.median(per_case_s) * 1e3
    rows.append((f"privacy.epsilon grid median ({len(grid)} cases)", statistics.median(per_case_s),
                 EPSILON_BUDGET_S))
    rows.append(("privacy.epsilon grid worst case", max(per_case_s), EPSILON_BUDGET_S))
    print_budget_table(rows)
    for name, _, _ in part3_cases():
        low, high = spread(samples[name])
        print(f"{name}: median {format_seconds(statistics.median(samples[name]))}, "
              f"spread {format_seconds(low)} to {format_seconds(high)} over {len(samples[name])} runs")

    reference = _dp_accounting_epsilon()
    if reference is None:
        print("dp-accounting not importable: reference timing skipped")
        return
    reference_s = [median_seconds(lambda c=c: reference(*c), repeats=1) for c in grid]
    reference_median_ms = statistics.median(reference_s) * 1e3
    speedups = [r / o for r, o in zip(reference_s, per_case_s)]
    print(
        f"dp-accounting RdpAccountant on the same grid: median {reference_median_ms:.2f} ms a call; "
        f"ours {grid_median_ms:.3f} ms; speed-up median {statistics.median(speedups):.1f}x "
        f"(range {min(speedups):.1f}x..{max(speedups):.1f}x)"
    )


if __name__ == "__main__":
    main()
