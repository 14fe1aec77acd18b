"""Benchmark of the fleet engine: FedAvg, DP-FedAvg, gossip and the data generator.

Run from the repository root:  python benchmarks/bench_fleet.py [--sweep]

Prints one row per case (median wall time of several repeats after a warm-up,
the budget and their ratio), then the FLOP rate of the largest FedAvg run next
to numpy's own batched-matmul rate measured here, on the same shapes the
engine multiplies.  ``--sweep`` also times a grid of (rounds, clients,
local_epochs) to show which settings fit the 200 ms budget.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgequest.engine.federated_data import FederatedDataset, city_fleet  # noqa: E402
from edgequest.engine.fedavg import communication_gb, run_fedavg  # noqa: E402
from edgequest.engine.gossip import run_gossip  # noqa: E402

from _timing import median_seconds, print_budget_table  # noqa: E402

#: The largest settings we propose the game allows for part 2 and 3.
LARGEST = dict(rounds=100, clients=50, local_epochs=10)
BATCH_SIZE = 16
LR = 1.0
RUN_BUDGET_S = 0.200
LARGEST_CASE = "fleet.fedavg R100 C50 E10"


def _fleet(seed: int = 0) -> FederatedDataset:
    return city_fleet(alpha=0.1, rng=np.random.default_rng(seed))


def _fedavg(data: FederatedDataset, **controls: object) -> Callable[[], object]:
    settings = dict(LARGEST, reliability=1.0, lr=LR, batch_size=BATCH_SIZE)
    settings.update(controls)
    return lambda: run_fedavg(data, rng=np.random.default_rng(1), **settings)


def _whole_run() -> object:
    """What one part-2 run costs the game: draw the cohort, then train it."""
    return run_fedavg(_fleet(7), rng=np.random.default_rng(7), reliability=0.9, lr=LR,
                      batch_size=BATCH_SIZE, **LARGEST)


def _gossip() -> object:
    data = city_fleet(alpha=1.0, n_clients=64, rng=np.random.default_rng(3))
    return run_gossip(data, rounds=100, mode="gossip", local_steps=5, lr=0.5, model_bytes=20_000,
                      ble_mbps=0.1, sync_interval_s=60.0, rng=np.random.default_rng(3))


def _part2_with_reference() -> Callable[[], object]:
    """Part 2's largest design on skewed data through the game core, its IID reference not yet cached."""
    from edgequest.campaign import load_campaign
    from edgequest.game.play import resolve_controls, simulate_design
    from edgequest.simulators import fleet

    part = load_campaign()["edge-guardian"].part(2)
    design: dict[str, object] = {c.name: (int(c.max) if c.kind == "int" else c.max)
                                 for c in part.controls if c.kind != "choice" and c.max is not None}
    design.update(alpha=0.05, reliability=1.0)
    controls = resolve_controls(part, design)

    def run() -> object:
        fleet._REFERENCES.clear()
        return simulate_design(part, controls, 0)
    return run


def cases() -> list[tuple[str, Callable[[], object], float]]:
    """(name, zero-argument callable, budget in seconds) for the project-wide benchmark."""
    data = _fleet()
    return [
        ("fleet.part2 largest, skewed, + IID reference", _part2_with_reference(), 0.250),
        ("fleet.city_fleet 100 clients", lambda: _fleet(5), 0.020),
        (LARGEST_CASE, _fedavg(data), RUN_BUDGET_S),
        ("fleet.data+fedavg R100 C50 E10", _whole_run, RUN_BUDGET_S),
        ("fleet.fedavg overselect rel.5", _fedavg(data, selection="overselect", reliability=0.5), RUN_BUDGET_S),
        ("fleet.dp central z1 C2",
         _fedavg(data, clip_norm=2.0, noise_multiplier=1.0, aggregation="central"), RUN_BUDGET_S),
        ("fleet.dp local z1 C2",
         _fedavg(data, clip_norm=2.0, noise_multiplier=1.0, aggregation="local"), RUN_BUDGET_S),
        ("fleet.gossip 64 dev R100 s5", _gossip, RUN_BUDGET_S),
        ("fleet.communication_gb", lambda: communication_gb(50e6, 50, 100, 500_000, 100), 0.001),
    ]


def numpy_batched_matmul_gflops(batch: int, m: int, k: int, n: int, repeats: int = 200) -> float:
    """numpy's rate on (batch, m, k) @ (batch, k, n) float32 products, GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((batch, m, k)).astype(np.float32)
    b = rng.standard_normal((batch, k, n)).astype(np.float32)
    out = np.empty((batch, m, n), dtype=np.float32)
    np.matmul(a, b, out=out)
    best = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            np.matmul(a, b, out=out)
        best.append((time.perf_counter() - start) / repeats)
    return 2.0 * batch * m * k * n / statistics.median(best) / 1e9


def main(argv: list[str]) -> int:
    rows = [(name, median_seconds(fn), budget) for name, fn, budget in cases()]
    print_budget_table(rows)

    data = _fleet()
    result = _fedavg(data)()
    seconds = dict((name, s) for name, s, _ in rows)[LARGEST_CASE]
    d1 = data.n_features + 1
    print()
    print(f"fedavg R100 C50 E10: {result.simulated_flops / 1e9:.2f} GFLOP simulated "
          f"-> {result.simulated_flops / seconds / 1e9:.1f} GFLOP/s (FLOP counter / median time; "
          "real samples only, padding not counted)")
    print(f"numpy batched matmul, engine shapes (50,{data.n_classes},{d1})@(50,{d1},{BATCH_SIZE}): "
          f"{numpy_batched_matmul_gflops(50, data.n_classes, d1, BATCH_SIZE):.1f} GFLOP/s")
    print(f"numpy batched matmul, (64,64,64)@(64,64,64): {numpy_batched_matmul_gflops(64, 64, 64, 64, 50):.1f} GFLOP/s")
    print(f"final accuracy {result.final_accuracy:.3f}, rare-class recall {result.final_rare_recall:.3f}")

    if "--sweep" in argv:
        print()
        print(f"{'rounds':>6s} {'clients':>7s} {'epochs':>6s} {'median ms':>10s} {'fits':>5s}")
        for rounds in (50, 100, 150):
            for clients in (20, 50):
                for epochs in (5, 10, 20):
                    run = _fedavg(data, rounds=rounds, clients=clients, local_epochs=epochs)
                    s = median_seconds(run, 5)
                    fits = "yes" if s <= RUN_BUDGET_S else "no"
                    print(f"{rounds:6d} {clients:7d} {epochs:6d} {s * 1e3:10.1f} {fits:>5s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
