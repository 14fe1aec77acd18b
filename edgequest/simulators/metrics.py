"""The metrics each part model publishes: one contract per model, read by every layer.

A run's metrics are a JSON-ready mapping. The names below are the contract between the
model that writes them (``simulators/frontier.py``, ``fleet.py``, ``privacy.py``), the
mission files whose SPEC lines and optimise goals name them (checked when a mission
loads), the grader that scores them, the instruments that draw them
(``tui/instruments.py``, each declaring the names it reads) and the test stand-ins.
``tests/test_metrics_contract.py`` runs every real model on the real missions and checks
that what it writes is exactly what is declared here, so renaming or dropping a metric
fails a test instead of silently dropping a chart.

A name is a path: ``memory_mb.total`` is the ``total`` inside ``memory_mb``. Adding a
metric is one line in the right set below (and the code that computes it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class Contract:
    """What one part model publishes.

    ``scalars`` are in every run: numbers, flags and counts that a SPEC line or the
    optimise goal may name. ``variants`` adds scalars when one of the part's text params
    has a value (``("crisis", "battery")``). ``series`` are in every run but are not
    for a SPEC: curves and text. ``optional`` names scalars a run leaves out when they
    mean nothing for it (no rare class, no recall of it).
    """

    model: str
    scalars: frozenset[str]
    variants: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    series: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()

    def variant(self, param: str, value: str) -> frozenset[str]:
        """The scalars a part adds when its text param ``param`` is ``value``."""
        return self.variants[(param, value)]

    def names(self) -> frozenset[str]:
        """Every name this model may write, in any variant."""
        return self.scalars | self.series | frozenset().union(*self.variants.values())


# What the two fleet models share: part 3 runs part 2's fleet with differential privacy.
_FLEET_DATA = {
    ("data", "cities"): frozenset({
        "rare_recall",
    }),
    ("data", "synthetic"): frozenset(),
}
_FLEET_SERIES = frozenset({
    "curve",  # [{"round", "gb", "accuracy"}, ...], one point per round
    "payload_source",  # text: where the payload's size came from
    "iid_curve",  # the same design on IID data, [{"round", "accuracy"}, ...] (FedAvg fleets with skew)
})
_FLEET_OPTIONAL = frozenset({
    "rare_recall",  # only where the part's fleet has a rare class (rare_prior > 0)
    "iid_curve",  # only where the fleet is skewed and learns by FedAvg
})

FRONTIER = Contract(
    "frontier",
    scalars=frozenset({
        "memory_mb.weights",
        "memory_mb.gradients",
        "memory_mb.optimizer",
        "memory_mb.activations",
        "memory_mb.total",
        "inference_mb",
        "budget_mb",
        "fits",
        "trainable_params",
        "update_mb",
        "amplification",
        "accuracy",
        "accuracy_before",
        "accuracy_low",  # the spread of the same design's accuracy over fixed other fine-tunes
        "accuracy_high",
        "memory_mb.stored_activations",
        "memory_mb.transient",
        "peak_phase",
        "loop_worst_ms",
        "loop_kernel_ms",
        "loop_slack_ms",
        "mean_power_mw",
        "training_s_per_day",
    }),
    variants=MappingProxyType({
        ("crisis", "none"): frozenset(),
        ("crisis", "adapter_cache"): frozenset({
            "cache.hbm_hit_rate",
            "cache.host_hit_rate",
            "cache.miss_rate",
            "adapter_mb",
            "cache_fits",
            "added_latency_ms",
            "tokens_per_s",
            "base_fits_hbm",
        }),
        ("crisis", "battery"): frozenset({
            "battery_pct_per_day",
            "session_wh",
            "session_s",
            "session_dram_wh",
            "drain_ratio",
        }),
        ("crisis", "sram"): frozenset({
            "sram_kb",
            "sram_budget_kb",
            "flash_kb",
            "flash_budget_kb",
            "fits_sram",
        }),
    }),
    optional=frozenset({
        # The North Stars: a real-time loop sharing the device (where the mission gives
        # its figures), a microcontroller's mean power (where it gives those).
        "loop_worst_ms",
        "loop_kernel_ms",
        "loop_slack_ms",
        "mean_power_mw",
        "training_s_per_day",
    }),
)

FLEET = Contract(
    "fleet",
    scalars=frozenset({
        "accuracy",
        "target_accuracy",
        "rounds_to_target",
        "gb_transferred",
        "payload_mb",
    }),
    variants=MappingProxyType({
        **_FLEET_DATA,
        ("protocol", "fedavg"): frozenset({
            "reliability",
            "data_cap_gb",
            "within_cap",
            "wasted_gb",
            "wasted_energy_share",
            "energy_kj",
            "uploads_failed",
            "client_epochs",
            "alpha",
            "update_format",
            "loss",
            "uploads_delivered_share",
            "mb_per_epoch",
        }),
        ("protocol", "gossip"): frozenset({
            "own_accuracy",
            "accuracy_spread",
            "airtime_s_per_sync",
            "radio_mw",
            "power_budget_mw",
            "within_power",
            "learning_hours",
            "nj_per_bit",
            "scan_mj_per_sync",
            "local_steps_per_mj",
        }),
    }),
    series=_FLEET_SERIES,
    optional=_FLEET_OPTIONAL,
)

PRIVACY = Contract(
    "privacy",
    scalars=frozenset({
        "epsilon",
        "epsilon_target",
        "delta",
        "noise_multiplier",
        "sampling_rate",
        "accuracy",
        "target_accuracy",
        "rounds_to_target",
        "compute_to_target.client_epochs",
        "compute_to_target.gflops",
        "compute_to_target.rounds",
        "clipped_fraction",
        "gb_transferred",
        "payload_mb",
        "compositions",
        "baseline_accuracy",  # the same design without clipping or noise
        "baseline_rounds_to_target",
        "baseline_compute_to_target.client_epochs",
        "baseline_compute_to_target.gflops",
        "baseline_compute_to_target.rounds",
        "participants_per_round",
        "simulated_clients",
        "client_epochs",
        "energy_kj",
        "d_real",  # trainable parameters of the real update the noise is sized for
        "d_proxy",
        "noise_scale",
        "noise_sd",
        "snr",
    }),
    variants=MappingProxyType(_FLEET_DATA),
    series=_FLEET_SERIES | frozenset({
        "d_source",  # text: where d_real came from (the committed part-1 design, or the mission)
    }),
    optional=_FLEET_OPTIONAL,
)

CONTRACTS: Mapping[str, Contract] = MappingProxyType({c.model: c for c in (FRONTIER, FLEET, PRIVACY)})
