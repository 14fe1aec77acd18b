"""Part 2, Non-IID Convergence: FedAvg (or gossip) on a fleet whose data differ by place.

A run really trains: a cohort of simulated clients, drawn once per mission from the
track's world (``world_seed``), learns with FedAvg (``engine.fedavg``) or with gossip
averaging over a BLE mesh (``engine.gossip``). The cohort stands for the fleet's
diversity; the ``clients`` chosen each round are real devices, so bytes are counted per
participating device, with the track's payload (the whole model or an adapter).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from edgequest.campaign.schema import Part, Scalar
from edgequest.engine import fedavg, gossip
from edgequest.engine.federated_data import FederatedDataset, city_fleet, synthetic_fleet
from edgequest.numbers import number
from edgequest.simulators.base import Model, Peek, Requirement
from edgequest.simulators.registry import register

DATA_KINDS = ("cities", "synthetic", "iid")


@lru_cache(maxsize=32)
def _world(kind: str, alpha: float, beta: float, cities: int, rare_prior: float, cohort: int, seed: int) -> FederatedDataset:
    """The track's federated data: a pure function of the mission's numbers (memoised)."""
    rng = np.random.default_rng(seed)
    if kind == "cities":
        return city_fleet(alpha=alpha, n_cities=cities, rare_prior=rare_prior, n_clients=cohort, rng=rng)
    return synthetic_fleet(alpha=alpha, beta=beta, iid=kind == "iid", n_clients=cohort, rng=rng)


def world(part: Part, *, alpha: float | None = None) -> FederatedDataset:
    """The cohort's data for a part; ``alpha`` overrides the heterogeneity (the Lock's extreme)."""
    p = part.params
    kind = str(p["data"].value)
    return _world(
        kind,
        float(alpha if alpha is not None else p["heterogeneity"].value),
        float(p["beta"].value) if "beta" in p else 1.0,
        int(p["cities"].value) if "cities" in p else 1,
        float(p["rare_prior"].value) if "rare_prior" in p else 0.0,
        int(p["cohort_size"].value),
        int(p["world_seed"].value),
    )


def run_rounds(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator, **dp: Any) -> fedavg.FedAvgResult:
    """FedAvg with the part's data and controls (``dp``: clip_norm, noise_multiplier, aggregation)."""
    return fedavg.run_fedavg(
        world(part),
        rounds=int(controls["rounds"]), clients=int(controls["clients"]),
        local_epochs=int(controls["local_epochs"]), reliability=float(controls.get("reliability", 1.0)),
        selection=str(controls.get("selection", "random")), lr=float(part.param("lr")),
        batch_size=int(part.param("batch_size")), rng=rng, **dp,
    )


def payload(part: Part, earlier: Mapping[int, Mapping[str, Any]] | None) -> tuple[float, str]:
    """MB one device sends per sync, and where the figure comes from.

    When part 1's design is committed, a device sends what that design trains (a LoRA
    adapter is far smaller than the whole model); otherwise the mission's figure, the
    track's model or adapter, stands in. The learning itself is simulated on the same proxy
    model either way: only the bytes follow the design.
    """
    first = (earlier or {}).get(1, {})
    if isinstance(first.get("update_mb"), (int, float)) and first["update_mb"] > 0:
        return float(first["update_mb"]), "part 1 design"
    return float(part.param("payload_mb")), "mission figure"


def traffic(part: Part, result: fedavg.FedAvgResult, payload_mb: float) -> fedavg.FleetTraffic:
    cohort = int(part.param("cohort_size"))
    # Every simulated participant is one real device: bytes are not scaled up.
    return fedavg.communication_gb(
        payload_mb * 1e6, result.uploads_attempted, result.rounds, cohort, cohort,
        aggregated_per_round=result.updates_aggregated, energy_mj_per_mb=float(part.param("energy_mj_per_mb")),
    )


def curve(result: fedavg.FedAvgResult, cost: fedavg.FleetTraffic) -> list[dict[str, float]]:
    return [
        {"round": i + 1, "gb": round(float(gb), 4), "accuracy": round(float(acc), 4)}
        for i, (gb, acc) in enumerate(zip(cost.cumulative_gb, result.accuracy))
    ]


def simulate(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator, *,
             earlier: Mapping[int, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    payload_mb, payload_source = payload(part, earlier)
    if str(part.param("protocol")) == "gossip":
        return _simulate_gossip(part, controls, rng, payload_mb, payload_source)
    result = run_rounds(part, controls, rng)
    cost = traffic(part, result, payload_mb)
    target = float(part.param("target_accuracy"))
    cap = float(part.param("data_cap_gb"))
    metrics: dict[str, Any] = {
        "accuracy": round(result.final_accuracy, 4),
        "target_accuracy": target,
        "reliability": float(controls["reliability"]),
        "payload_mb": round(payload_mb, 6),
        "payload_source": payload_source,
        "rounds_to_target": fedavg.rounds_to_target(result.accuracy, target),
        "gb_transferred": round(cost.total_gb, 4),
        "data_cap_gb": cap,
        "within_cap": bool(cost.total_gb <= cap),
        "wasted_gb": round(cost.wasted_gb, 4),
        "wasted_energy_share": round(cost.wasted_energy_share, 4),
        "energy_kj": round(cost.energy_j / 1e3, 4),
        "uploads_failed": int(result.uploads_attempted.sum() - result.uploads_succeeded.sum()),
        "client_epochs": int(result.client_epochs),
        "curve": curve(result, cost),
    }
    if result.final_rare_recall is not None:
        metrics["rare_recall"] = round(result.final_rare_recall, 4)
    return metrics


def _simulate_gossip(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator, payload_mb: float,
                     payload_source: str) -> dict[str, Any]:
    result = gossip.run_gossip(
        world(part), rounds=int(controls["rounds"]), mode=str(controls["mode"]),
        local_steps=int(controls["local_steps"]), lr=float(part.param("lr")),
        model_bytes=payload_mb * 1e6, ble_mbps=float(part.param("ble_mbps")),
        nj_per_bit=float(part.param("nj_per_bit")), sync_interval_s=float(controls["sync_interval_s"]),
        batch_size=int(part.param("batch_size")), neighbours=int(part.param("neighbours")),
        compression=float(controls["compression"]), radio_budget_mw=float(part.param("power_budget_mw")),
        rng=rng,
    )
    target = float(part.param("target_accuracy"))
    devices = int(part.param("cohort_size"))
    sent_gb = result.bytes_sent_per_sync * int(controls["rounds"]) * devices / 1e9
    return {
        "accuracy": round(result.global_accuracy_mean, 4),
        "own_accuracy": round(result.own_accuracy_mean, 4),
        "payload_mb": round(payload_mb, 6),
        "payload_source": payload_source,
        "accuracy_spread": round(result.global_accuracy_std, 4),
        "target_accuracy": target,
        "rounds_to_target": fedavg.rounds_to_target(result.own_accuracy_per_round, target),
        "airtime_s_per_sync": round(result.airtime_per_sync_s, 4),
        "radio_mw": round(result.radio_power_mw, 5),
        "power_budget_mw": float(part.param("power_budget_mw")),
        "within_power": bool(result.radio_power_mw <= float(part.param("power_budget_mw"))),
        "learning_hours": round(int(controls["rounds"]) * float(controls["sync_interval_s"]) / 3600, 3),
        "gb_transferred": round(sent_gb, 6),
        "curve": [
            {"round": i + 1, "gb": round(sent_gb * (i + 1) / len(result.own_accuracy_per_round), 6),
             "accuracy": round(float(a), 4)}
            for i, a in enumerate(result.own_accuracy_per_round)
        ],
    }


# ----------------------------------------------------------------------------- the Lock


def truth_rounds_always_help(part: Part, rng: np.random.Generator) -> str:
    """Run FedAvg at the track's extreme non-IID setting and judge its accuracy curve."""
    extreme = world(part, alpha=float(part.param("lock_alpha")))
    result = fedavg.run_fedavg(
        extreme, rounds=int(part.param("lock_rounds")), clients=int(part.param("lock_clients")),
        local_epochs=int(part.param("lock_epochs")), reliability=1.0, lr=float(part.param("lr")),
        batch_size=int(part.param("batch_size")), rng=rng,
    )
    return "yes" if fedavg.rounds_always_help(result.accuracy) else "no"


def lock_context(part: Part) -> dict[str, Any]:
    return {"alpha": part.param("lock_alpha"), "epochs": part.param("lock_epochs"), "rounds": part.param("lock_rounds")}


# ----------------------------------------------------------------------------- Math Peek


def peek(part: Part, controls: Mapping[str, Scalar], metrics: Mapping[str, Any]) -> list[Peek]:
    if str(part.param("protocol")) == "gossip":
        return [
            Peek(
                title="Gossip over BLE",
                formula="w_i, w_j <- (w_i + w_j) / 2 for matched neighbours;  airtime = bits / BLE rate;  "
                "P = bits x 19 nJ / interval",
                substituted=(
                    f"{metrics.get('airtime_s_per_sync', 0):.2f} s on air per sync, "
                    f"{number(metrics.get('radio_mw', 0), 'mW')} of {number(metrics.get('power_budget_mw', 0), 'mW')}; "
                    f"accuracy {metrics.get('accuracy', 0):.1%} (own data {metrics.get('own_accuracy', 0):.1%})"
                ),
                source="Hegedus, Danner, Jelasity, DAIS 2019; BLE throughput by PHY (Memfault); nRF52840 radio currents",
            )
        ]
    return [
        Peek(
            title="FedAvg",
            formula="w <- sum_k (n_k / n) w_k over the clients whose uploads arrived;  "
            "GB = rounds x clients x (download + upload)",
            substituted=(
                f"{controls.get('rounds')} rounds x {controls.get('clients')} clients x 2 x "
                f"{metrics.get('payload_mb', 0):.3g} MB ({metrics.get('payload_source', 'mission')}) "
                f"= {metrics.get('gb_transferred', 0):.1f} GB (cap {metrics.get('data_cap_gb', 0):.0f});  "
                f"{metrics.get('wasted_energy_share', 0):.0%} of radio energy on failed syncs"
            ),
            source="McMahan et al., AISTATS 2017; Bonawitz et al., SysML 2019. The cohort of simulated clients "
            "stands for the fleet's diversity; each participant's bytes are counted exactly.",
        ),
        Peek(
            title="Rounds under non-IID data",
            formula="IID: R = sigma^2 / (C E eps^2);  non-IID: R = max((1 + beta)^2 / (C E eps^2), beta^2 E^2 / eps)",
            substituted=(
                f"E = {controls.get('local_epochs')}: more local work helps IID data but the beta^2 E^2 term "
                f"grows with E; target {metrics.get('target_accuracy', 0):.0%} reached at round "
                f"{metrics.get('rounds_to_target') or 'never'}"
            ),
            source="Book, Edge Intelligence (rounds formula); McMahan et al. 2017",
        ),
    ]


_COMMON_PARAMS = (
    Requirement("protocol", "text", choices=("fedavg", "gossip")),
    Requirement("data", "text", choices=DATA_KINDS),
    Requirement("heterogeneity", low=0.001, high=1e6),
    Requirement("cohort_size", low=10, high=200),
    Requirement("world_seed", low=0),
    Requirement("lr", low=1e-4, high=10),
    Requirement("batch_size", low=1, high=64),
    Requirement("target_accuracy", low=0, high=1),
    Requirement("payload_mb", low=0),
    Requirement("lock_alpha", low=0.001),
    Requirement("lock_rounds", low=2, high=200),
    Requirement("lock_clients", low=1, high=50),
    Requirement("lock_epochs", low=1, high=20),
)

MODEL = register(Model(
    name="fleet",
    simulate=simulate,
    params=_COMMON_PARAMS,
    controls=(Requirement("rounds", low=1, high=150),),
    metrics=frozenset({"accuracy", "target_accuracy", "rounds_to_target", "gb_transferred", "payload_mb"}),
    truths={"rounds_always_help": truth_rounds_always_help},
    variants={
        ("data", "cities"): ((Requirement("cities", low=1, high=50), Requirement("rare_prior", low=0, high=0.5)), (),
                             frozenset({"rare_recall"})),
        ("data", "synthetic"): ((Requirement("beta", low=0, high=100),), (), frozenset()),
        ("protocol", "fedavg"): (
            (Requirement("data_cap_gb", low=0), Requirement("energy_mj_per_mb", low=0)),
            (Requirement("clients", low=1, high=50), Requirement("local_epochs", low=1, high=20),
             Requirement("reliability", low=0.05, high=1), Requirement("selection", choices=("random", "reliable", "overselect"))),
            frozenset({"reliability", "data_cap_gb", "within_cap", "wasted_gb", "wasted_energy_share", "energy_kj", "uploads_failed",
                       "client_epochs"}),
        ),
        ("protocol", "gossip"): (
            (Requirement("ble_mbps", low=0.001), Requirement("nj_per_bit", low=0),
             Requirement("power_budget_mw", low=0), Requirement("neighbours", low=1, high=20)),
            (Requirement("mode", choices=("gossip", "local")), Requirement("local_steps", low=1, high=50),
             Requirement("sync_interval_s", low=1), Requirement("compression", low=0.01, high=1)),
            frozenset({"own_accuracy", "accuracy_spread", "airtime_s_per_sync", "radio_mw", "power_budget_mw",
                       "within_power", "learning_hours"}),
        ),
    },
    peek=peek,
    reads_earlier=True,
    lock_context=lock_context,
))
