"""Part 2, Non-IID Convergence: FedAvg (or gossip) on a fleet whose data differ by place.

A run really trains: a cohort of simulated clients, drawn once per mission from the
track's world (``world_seed``), learns with FedAvg (``engine.fedavg``) or with gossip
averaging over a BLE mesh (``engine.gossip``). The cohort stands for the fleet's
diversity; the ``clients`` chosen each round are real devices, so bytes are counted per
participating device, with the track's payload (the whole model or an adapter).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Mapping, cast

import numpy as np

from edgequest.engine import compression, fedavg, gossip
from edgequest.engine.federated_data import FederatedDataset, city_fleet, synthetic_fleet
from edgequest.engine.softmax_model import MODEL_BYTES_PER_PARAMETER
from edgequest.numbers import number
from edgequest.simulators.base import Model, Peek, Requirement
from edgequest.simulators.metrics import FLEET
from edgequest.simulators.registry import register

if TYPE_CHECKING:  # the mission's types, for annotations only: the loader imports this package
    from edgequest.campaign.schema import Part, Scalar

DATA_KINDS = ("cities", "synthetic", "iid")


@lru_cache(maxsize=32)
def _world(kind: str, alpha: float, beta: float, cities: int, rare_prior: float, cohort: int, seed: int,
           feature_skew: float = 0.0, concept_skew: float = 0.0) -> FederatedDataset:
    """The track's federated data: a pure function of the mission's numbers (memoised)."""
    rng = np.random.default_rng(seed)
    if kind == "cities":
        return city_fleet(alpha=alpha, n_cities=cities, rare_prior=rare_prior, n_clients=cohort,
                          feature_skew=feature_skew, concept_skew=concept_skew, rng=rng)
    return synthetic_fleet(alpha=alpha, beta=beta, iid=kind == "iid", n_clients=cohort, rng=rng)


def skew(part: Part, controls: Mapping[str, Scalar]) -> float:
    """The Dirichlet alpha of a run: the player's skew control, else the fleet's own."""
    return float(controls["alpha"]) if "alpha" in controls else float(part.param("heterogeneity"))


def world(part: Part, *, alpha: float | None = None) -> FederatedDataset:
    """The cohort's data for a part; ``alpha`` overrides the heterogeneity (skew control, the Lock)."""
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
        float(p["feature_skew"].value) if "feature_skew" in p else 0.0,
        float(p["concept_skew"].value) if "concept_skew" in p else 0.0,
    )


def run_rounds(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator, **dp: Any) -> fedavg.FedAvgResult:
    """FedAvg with the part's data and controls (``dp``: clip_norm, noise_multiplier, aggregation)."""
    return fedavg.run_fedavg(
        world(part, alpha=skew(part, controls)),
        rounds=int(controls["rounds"]), clients=int(controls["clients"]),
        local_epochs=int(controls["local_epochs"]), reliability=float(controls.get("reliability", 1.0)),
        # The mission check held the control to the model's choices (Requirement below).
        selection=cast(Literal["random", "reliable", "overselect"], str(controls.get("selection", "random"))),
        lr=float(part.param("lr")),
        batch_size=int(part.param("batch_size")), update_format=str(controls.get("update_format", "fp32")),
        rng=rng, **dp,
    )


#: Dirichlet alpha from which a fleet's data count as IID (the skew control's top).
IID_ALPHA = 100.0
#: Participants per round of the IID reference at most: on IID data every cohort is
#: representative, so a few devices trace the same curve at a fraction of the cost.
REFERENCE_CLIENTS = 10


_REFERENCES: dict[tuple[Any, ...], tuple[tuple[float, float], ...]] = {}


def iid_reference(part: Part, controls: Mapping[str, Scalar]) -> list[dict[str, float]] | None:
    """The same design's curve on IID data, for the convergence instrument (None at IID skew).

    Its randomness comes from the mission's world seed, not from the player's run, so the
    reference depends on the part and the design alone, and is memoised: changing only
    alpha reuses it. It runs at most ``REFERENCE_CLIENTS`` participants a round, which
    keeps a run with its reference within the game's per-run time budget.
    """
    if "alpha" not in controls or float(controls["alpha"]) >= IID_ALPHA:
        return None
    reference = {**controls, "alpha": IID_ALPHA, "clients": min(int(controls["clients"]), REFERENCE_CLIENTS)}
    key = (_params_key(part), tuple(sorted(reference.items())))  # the design actually run
    if key not in _REFERENCES:
        # A stream of its own, a child of the world's seed (the world itself draws from the
        # seed's root): the same for every student who runs this design.
        draws = np.random.default_rng(np.random.SeedSequence(int(part.param("world_seed")), spawn_key=(1,)))
        result = run_rounds(part, reference, draws)
        if len(_REFERENCES) >= 64:
            _REFERENCES.pop(next(iter(_REFERENCES)))
        _REFERENCES[key] = tuple((round(float(a), 4), round(float(n), 4)) for a, n in zip(result.accuracy, result.loss))
    return [{"round": i + 1, "accuracy": a, "loss": n} for i, (a, n) in enumerate(_REFERENCES[key])]


def payload(part: Part, earlier: Mapping[int, Mapping[str, Any]] | None,
            update_format: str | None = None) -> tuple[float, str]:
    """MB one device sends per sync in ``update_format``, and where the size comes from.

    When part 1's design is committed, its trainable parameters set the update's size (a
    LoRA adapter is far smaller than the whole model); otherwise the mission's figure (MB
    of the track's model or adapter at 32 bits a parameter) stands in. The format sets the
    bits per parameter; without one (part 3, missions without the control) a device sends
    part 1's update as that design stores it, or the mission's figure. The learning itself
    is simulated on the same proxy model either way: only the bytes follow the design.
    """
    first = (earlier or {}).get(1, {})
    if update_format is None:
        if isinstance(first.get("update_mb"), (int, float)) and first["update_mb"] > 0:
            return float(first["update_mb"]), "part 1 design"
        return float(part.param("payload_mb")), "mission figure"
    parameters, where = update_parameters(part, earlier)
    return compression.payload_bytes(parameters, update_format) / 1e6, where


def update_parameters(part: Part, earlier: Mapping[int, Mapping[str, Any]] | None) -> tuple[int, str]:
    """Trainable parameters of the update a device sends, and where the figure comes from:
    the committed part-1 design when there is one, else the mission's ``update_params``,
    else its ``payload_mb`` read at 32 bits a parameter (mission versions without the figure)."""
    trainable = (earlier or {}).get(1, {}).get("trainable_params")
    if isinstance(trainable, (int, float)) and not isinstance(trainable, bool) and trainable >= 1:
        return int(trainable), "part 1 design"
    if "update_params" in part.params:
        return int(part.param("update_params")), "mission figure"
    return max(1, round(float(part.param("payload_mb")) * 1e6 / MODEL_BYTES_PER_PARAMETER)), "mission figure"


def traffic(part: Part, result: fedavg.FedAvgResult, payload_mb: float) -> fedavg.FleetTraffic:
    cohort = int(part.param("cohort_size"))
    # Every simulated participant is one real device: bytes are not scaled up.
    return fedavg.communication_gb(
        payload_mb * 1e6, result.uploads_attempted, result.rounds, cohort, cohort,
        aggregated_per_round=result.updates_aggregated, energy_mj_per_mb=float(part.param("energy_mj_per_mb")),
    )


def curve(result: fedavg.FedAvgResult, cost: fedavg.FleetTraffic) -> list[dict[str, float]]:
    return [
        {"round": i + 1, "gb": round(float(gb), 4), "accuracy": round(float(acc), 4), "loss": round(float(nats), 4)}
        for i, (gb, acc, nats) in enumerate(zip(cost.cumulative_gb, result.accuracy, result.loss))
    ]


def simulate(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator, *,
             earlier: Mapping[int, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    update_format = str(controls["update_format"]) if "update_format" in controls else None
    payload_mb, payload_source = payload(part, earlier, update_format)
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
        "alpha": skew(part, controls),
        "update_format": update_format or "as stored",
        "loss": round(float(result.loss[-1]), 4),
        "uploads_delivered_share": round(float(result.uploads_succeeded.sum() / max(1, result.uploads_attempted.sum())), 4),
        "mb_per_epoch": round(2 * payload_mb / int(controls["local_epochs"]), 6),
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
    reference = iid_reference(part, controls)
    if reference is not None:
        metrics["iid_curve"] = reference
    if result.final_rare_recall is not None:
        metrics["rare_recall"] = round(result.final_rare_recall, 4)
    return metrics


def ble_energy(part: Part) -> tuple[float, float]:
    """(nJ per application bit, joules of scanning per exchange) of the track's radio.

    From the radio's transmit and receive power and the link's application throughput
    (:func:`gossip.ble_nj_per_bit`), plus the energy of listening for the partner's
    advertisement before each exchange; missions released before these figures give
    ``nj_per_bit`` alone.
    """
    if "radio_tx_mw" not in part.params:
        return float(part.param("nj_per_bit")), 0.0
    tx, rx = float(part.param("radio_tx_mw")), float(part.param("radio_rx_mw"))
    return gossip.ble_nj_per_bit(tx, rx, float(part.param("ble_mbps"))), float(part.param("scan_ms")) * 1e-3 * rx * 1e-3


def _simulate_gossip(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator, payload_mb: float,
                     payload_source: str) -> dict[str, Any]:
    nj_per_bit, overhead_j = ble_energy(part)
    result = gossip.run_gossip(
        world(part), rounds=int(controls["rounds"]),
        mode=cast(Literal["gossip", "local"], str(controls["mode"])),  # held to the model's choices, as above
        local_steps=int(controls["local_steps"]), lr=float(part.param("lr")),
        model_bytes=payload_mb * 1e6, ble_mbps=float(part.param("ble_mbps")),
        nj_per_bit=nj_per_bit, sync_interval_s=float(controls["sync_interval_s"]),
        overhead_j_per_exchange=overhead_j,
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
        "nj_per_bit": round(nj_per_bit, 3),
        "scan_mj_per_sync": round(overhead_j * 1e3, 4),
        "local_steps_per_mj": round(int(controls["local_steps"]) / max(result.radio_energy_per_sync_j * 1e3, 1e-12), 4)
        if result.radio_energy_per_sync_j > 0 else None,
        "gb_transferred": round(sent_gb, 6),
        "curve": [
            {"round": i + 1, "gb": round(sent_gb * (i + 1) / len(result.own_accuracy_per_round), 6),
             "accuracy": round(float(a), 4)}
            for i, a in enumerate(result.own_accuracy_per_round)
        ],
    }


# ----------------------------------------------------------------------------- the Lock


_LOCK_CURVES: dict[tuple[Any, ...], np.ndarray] = {}
_SPARKS = "▁▂▃▄▅▆▇█"


def _params_key(part: Part) -> tuple[Any, ...]:
    return tuple(sorted((k, f.value) for k, f in part.params.items()))


def truth_rounds_always_help(part: Part, rng: np.random.Generator) -> str:
    """Run FedAvg at the track's extreme non-IID setting and judge its accuracy curve."""
    extreme = world(part, alpha=float(part.param("lock_alpha")))
    result = fedavg.run_fedavg(
        extreme, rounds=int(part.param("lock_rounds")), clients=int(part.param("lock_clients")),
        local_epochs=int(part.param("lock_epochs")), reliability=1.0, lr=float(part.param("lr")),
        batch_size=int(part.param("batch_size")), rng=rng,
    )
    _LOCK_CURVES[_params_key(part)] = result.accuracy  # drawn at the reveal
    return "yes" if fedavg.rounds_always_help(result.accuracy) else "no"


def sparkline(values: Any, width: int = 60) -> str:
    """A curve as one line of block characters, ``width`` wide at most (each the bucket's mean)."""
    curve = np.asarray(values, dtype=np.float64)
    buckets = np.array_split(curve, min(width, curve.size))
    means = np.array([b.mean() for b in buckets])
    low, high = float(means.min()), float(means.max())
    span = high - low if high > low else 1.0
    return "".join(_SPARKS[int(round((m - low) / span * (len(_SPARKS) - 1)))] for m in means)


def reveal_notes(part: Part) -> list[str]:
    """The accuracy curve behind the Lock's truth, for the reveal (empty before the truth is run)."""
    curve = _LOCK_CURVES.get(_params_key(part))
    if curve is None or str(part.param("protocol")) != "fedavg":
        return []
    judged = fedavg.round_returns(curve)
    return [
        f"The run behind the truth: alpha {part.param('lock_alpha')}, {part.param('lock_epochs')} local epochs, "
        f"{part.param('lock_clients')} devices a round, {curve.size} rounds.",
        f"  accuracy round by round, {curve.min():.0%} (lowest) to {curve.max():.0%} (highest):",
        f"  {sparkline(curve, 56)}",
        f"  best at round {judged.best_round}; largest fall below the best so far: {judged.max_drop:.1%} "
        f"(rounds more than 3 points below it: {judged.drop_rounds})",
    ]


def lock_context(part: Part) -> dict[str, Any]:
    return {"alpha": part.param("lock_alpha"), "epochs": part.param("lock_epochs"), "rounds": part.param("lock_rounds")}


# ----------------------------------------------------------------------------- Math Peek


def peek(part: Part, controls: Mapping[str, Scalar], metrics: Mapping[str, Any]) -> list[Peek]:
    if str(part.param("protocol")) == "gossip":
        return [
            Peek(
                title="Gossip over BLE",
                formula="w_i, w_j <- (w_i + w_j) / 2 for matched neighbours;  airtime = bits / BLE rate;  "
                "E/bit = (P_tx + P_rx) / 2 / rate;  P = (bits x E/bit + scan) / interval",
                substituted=(
                    f"{metrics.get('airtime_s_per_sync', 0):.2f} s on air per sync at "
                    f"{number(metrics.get('nj_per_bit', 0), 'nJ/bit')} + "
                    f"{number(metrics.get('scan_mj_per_sync', 0), 'mJ')} scanning, "
                    f"{number(metrics.get('radio_mw', 0), 'mW')} of {number(metrics.get('power_budget_mw', 0), 'mW')}; "
                    f"accuracy {metrics.get('accuracy', 0):.1%} (own data {metrics.get('own_accuracy', 0):.1%})"
                ),
                source="Hegedus, Danner, Jelasity, DAIS 2019; BLE throughput by PHY (Memfault); nRF52840 product "
                "specification (radio currents)",
            ),
            Peek(
                title="Communication-to-compute ratio",
                formula="radio energy per sync / local steps per sync",
                substituted=(
                    f"{controls.get('local_steps')} local steps per sync; "
                    + (f"{1 / metrics['local_steps_per_mj']:.3g} mJ of radio per local step"
                       if metrics.get("local_steps_per_mj") else "learning alone: no radio energy at all")
                ),
                source="McMahan et al., AISTATS 2017 (local computation per round)",
            ),
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
                f"alpha = {metrics.get('alpha', 0):g}, E = {controls.get('local_epochs')}: more local work helps "
                f"near-IID data, but the beta^2 E^2 term (client drift) grows with E as alpha falls; target "
                f"{metrics.get('target_accuracy', 0):.0%} reached at round {metrics.get('rounds_to_target') or 'never'}, "
                f"final training loss {metrics.get('loss', 0):.3f} nats"
            ),
            source="Book, Edge Intelligence (rounds formula); McMahan et al. 2017; Karimireddy et al. (SCAFFOLD), "
            "ICML 2020; Li et al. (FedProx), MLSys 2020",
        ),
        Peek(
            title="Communication-to-compute ratio",
            formula="MB synced per device per round / local epochs = 2 x payload(format) / E",
            substituted=(
                f"2 x {metrics.get('payload_mb', 0):.3g} MB ({metrics.get('update_format', 'fp32')}) / "
                f"{controls.get('local_epochs')} epochs = {metrics.get('mb_per_epoch', 0):.3g} MB per epoch of "
                "local training: raising E or shrinking the format lowers it, until drift or quantisation costs accuracy"
            ),
            source="McMahan et al., AISTATS 2017 (local computation per round); Stich et al., NeurIPS 2018 "
            "(top-k with error feedback)",
        ),
    ]


#: What :func:`world` and :func:`run_rounds` read from a part: the cohort's data, its local
#: training and the accuracy target (part 3 trains on the same world).
WORLD_PARAMS = (
    Requirement("data", "text", choices=DATA_KINDS),
    Requirement("heterogeneity", low=0.001, high=1e6),
    Requirement("cohort_size", low=10, high=200),
    Requirement("world_seed", low=0),
    Requirement("lr", low=1e-4, high=10),
    Requirement("batch_size", low=1, high=64),
    Requirement("target_accuracy", low=0, high=1),
)

_COMMON_PARAMS = (Requirement("protocol", "text", choices=("fedavg", "gossip")),) + WORLD_PARAMS + (
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
    metrics=FLEET.scalars,
    truths={"rounds_always_help": truth_rounds_always_help},
    variants={
        ("data", "cities"): ((Requirement("cities", low=1, high=50), Requirement("rare_prior", low=0, high=0.5),
                              Requirement("feature_skew", low=0, high=10, optional=True),
                              Requirement("concept_skew", low=0, high=100, optional=True)), (),
                             FLEET.variant("data", "cities")),
        ("data", "synthetic"): ((Requirement("beta", low=0, high=100),), (), FLEET.variant("data", "synthetic")),
        ("protocol", "fedavg"): (
            (Requirement("data_cap_gb", low=0), Requirement("energy_mj_per_mb", low=0)),
            (Requirement("clients", low=1, high=50), Requirement("local_epochs", low=1, high=20),
             Requirement("reliability", low=0.05, high=1), Requirement("selection", choices=("random", "reliable", "overselect")),
             Requirement("alpha", low=0.001, high=1e6, optional=True),
             Requirement("update_format", choices=compression.UPDATE_FORMATS, optional=True)),
            FLEET.variant("protocol", "fedavg"),
        ),
        ("protocol", "gossip"): (
            (Requirement("ble_mbps", low=0.001), Requirement("nj_per_bit", low=0, optional=True),
             Requirement("radio_tx_mw", low=0, optional=True), Requirement("radio_rx_mw", low=0, optional=True),
             Requirement("scan_ms", low=0, optional=True),
             Requirement("power_budget_mw", low=0), Requirement("neighbours", low=1, high=20)),
            (Requirement("mode", choices=("gossip", "local")), Requirement("local_steps", low=1, high=50),
             Requirement("sync_interval_s", low=1), Requirement("compression", low=0.01, high=1)),
            FLEET.variant("protocol", "gossip"),
        ),
    },
    peek=peek,
    reads_earlier=True,
    lock_context=lock_context,
    reveal_notes=reveal_notes,
))
