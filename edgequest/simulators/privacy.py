"""Part 3, the Privacy Frontier: DP-FedAvg with a target epsilon, central or local noise.

The player sets the privacy target (epsilon at the mission's delta), the clip norm, where
the noise is added and how many devices take part in each round. The engine calibrates the
noise multiplier with the RDP accountant (``engine.privacy``), then really runs DP-FedAvg at
the fleet's scale (``engine.dp_fedavg``): the learning happens on a small proxy model, with
noise drawn at the size the real update's would have (``sqrt(d_real / d_proxy)`` larger per
coordinate), cohorts of up to the whole fleet simulated by a sample of clients, and every
participant counted in the bytes, energy and compute. Each run also trains the same design
without clipping or noise, the no-privacy baseline.

Accounting, in the user-level model of McMahan et al. (ICLR 2018):

- central: each round every device joins with probability q = clients / fleet_size
  (Poisson sampling, simulated the same way), composed over ``rounds``;
- local: the server sees who reports, so sampling buys nothing; each device's reports are
  its own releases (q = 1), composed over the most reports any device sends (devices take
  turns, at most ceil(rounds x clients / fleet_size) each).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from edgequest.engine import dp_fedavg, fedavg, privacy
from edgequest.simulators import fleet
from edgequest.simulators.base import Model, Peek, Requirement
from edgequest.simulators.metrics import PRIVACY
from edgequest.simulators.registry import register

if TYPE_CHECKING:  # the mission's types, for annotations only: the loader imports this package
    from edgequest.campaign.schema import Part, Scalar


def accounting(part: Part, controls: Mapping[str, Scalar]) -> tuple[float, int, float]:
    """(sampling rate q, compositions, noise multiplier) for the run's privacy target."""
    rounds, clients = int(controls["rounds"]), _cohort(part, controls)
    fleet_size = int(part.param("fleet_size"))
    delta = float(part.param("delta"))
    target = float(controls["epsilon"])
    if str(controls["aggregation"]) == "central":
        q, steps = clients / fleet_size, rounds
    else:
        q, steps = 1.0, dp_fedavg.local_reports_per_device(clients, fleet_size, rounds)
    return q, steps, privacy.noise_multiplier_for(target, q, steps, delta)


def _cohort(part: Part, controls: Mapping[str, Scalar]) -> int:
    clients, fleet_size = int(controls["clients"]), int(part.param("fleet_size"))
    if clients > fleet_size:
        raise ValueError(
            f"control 'clients' = {clients:,} is more devices than the fleet has "
            f"(params.fleet_size = {fleet_size:,}); accepted: 1 to {fleet_size:,}")
    return clients


def update_dimension(part: Part, earlier: Mapping[int, Mapping[str, Any]] | None) -> tuple[int, str]:
    """Trainable parameters of the real update (d_real), and where the figure comes from."""
    return fleet.update_parameters(part, earlier)


def _run(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator, noise_multiplier: float,
         d_real: int, participants: np.ndarray, *, private: bool = True) -> dp_fedavg.DPRun:
    return dp_fedavg.run_dp_fedavg(
        fleet.world(part), cohort=_cohort(part, controls), fleet_size=int(part.param("fleet_size")),
        rounds=int(controls["rounds"]), local_epochs=int(controls["local_epochs"]),
        lr=float(part.param("lr")), batch_size=int(part.param("batch_size")),
        clip_norm=float(controls["clip"]) if private else None, noise_multiplier=noise_multiplier,
        aggregation="local" if str(controls["aggregation"]) == "local" else "central",
        d_real=d_real, rng=rng, participants=participants,
    )


def _participants(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator) -> np.ndarray:
    return dp_fedavg.participants_per_round(
        _cohort(part, controls), int(part.param("fleet_size")), int(controls["rounds"]),
        str(controls["aggregation"]), rng)


def _paired_runs(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator, d_real: int,
                 noise_multipliers: tuple[float | None, ...]) -> list[dp_fedavg.DPRun]:
    """Runs of one design that differ only in their noise (None: no clipping, no noise):
    the same cohorts and the same generator state, so only the noise differs."""
    participants = _participants(part, controls, rng)
    state = rng.bit_generator.state
    runs = []
    for z in noise_multipliers:
        rng.bit_generator.state = state
        runs.append(_run(part, controls, rng, z or 0.0, d_real, participants, private=z is not None))
    return runs


def compute_to_target(run: dp_fedavg.DPRun, target: float) -> dict[str, Any]:
    """Rounds, client-epochs and FLOPs every participant spent until the fleet first
    reached ``target`` (None if never)."""
    reached = fedavg.rounds_to_target(run.accuracy, target)
    if reached is None:
        return {"rounds": None, "client_epochs": None, "gflops": None}
    return {
        "rounds": reached,
        "client_epochs": int(run.participants[:reached].sum()) * run.local_epochs,
        "gflops": round(float(run.flops_per_round[:reached].sum()) / 1e9, 4),
    }


def simulate(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator, *,
             earlier: Mapping[int, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    q, steps, z = accounting(part, controls)
    d_real, d_source = update_dimension(part, earlier)
    private, baseline = _paired_runs(part, controls, rng, d_real, (z, None))
    result = private.result
    delta = float(part.param("delta"))
    achieved = privacy.epsilon(q, z, steps, delta) if z > 0 else math.inf
    target = float(part.param("target_accuracy"))
    payload_mb, payload_source = fleet.payload(part, earlier)
    fleet_size = int(part.param("fleet_size"))
    # Every participant is a real device: its download and upload are counted.
    cost = fedavg.communication_gb(
        payload_mb * 1e6, private.participants, result.rounds, fleet_size, fleet_size,
        energy_mj_per_mb=float(part.param("energy_mj_per_mb")))
    spent = compute_to_target(private, target)
    spent_baseline = compute_to_target(baseline, target)
    aggregation = str(controls["aggregation"])
    metrics: dict[str, Any] = {
        "epsilon": round(achieved, 4),
        "epsilon_target": float(controls["epsilon"]),
        "delta": delta,
        "noise_multiplier": round(z, 4),
        "sampling_rate": q,
        "compositions": steps,
        "accuracy": round(result.final_accuracy, 4),
        "baseline_accuracy": round(baseline.result.final_accuracy, 4),
        "target_accuracy": target,
        "rounds_to_target": spent["rounds"],
        "compute_to_target": spent,
        "baseline_rounds_to_target": spent_baseline["rounds"],
        "baseline_compute_to_target": spent_baseline,
        "participants_per_round": round(float(np.mean(private.participants)), 1),
        "simulated_clients": private.simulated,
        "client_epochs": private.client_epochs,
        "d_real": d_real,
        "d_source": d_source,
        "d_proxy": private.d_proxy,
        "noise_scale": round(private.scale, 3),
        "noise_sd": round(private.noise_sd, 6),
        "snr": round(dp_fedavg.snr_per_coordinate(z, _cohort(part, controls), d_real, aggregation), 4),
        "clipped_fraction": round(float(np.mean(result.clipped_fraction)), 4),
        "gb_transferred": round(cost.total_gb, 4),
        "energy_kj": round(cost.energy_j / 1e3, 4),
        "payload_mb": round(payload_mb, 6),
        "payload_source": payload_source,
        "curve": [
            dict(point, baseline_accuracy=round(float(b), 4))
            for point, b in zip(fleet.curve(result, cost), baseline.accuracy)
        ],
    }
    if result.final_rare_recall is not None:
        metrics["rare_recall"] = round(result.final_rare_recall, 4)
    return metrics


# ----------------------------------------------------------------------------- the Lock


def truth_noise_raises_compute(part: Part, rng: np.random.Generator) -> str:
    """Compare the client-epochs needed to converge without noise and with central noise.

    Both runs use the Lock's settings, the same cohorts and the same generator state, so
    only the noise differs; the noise is the real update's (the mission's figure for
    d_real). "Converged" means reaching the part's accuracy target, or 97% of the best
    accuracy the noiseless run reaches when the target is beyond it; a noisy run that
    never gets there needs more compute than any budget.
    """
    controls: dict[str, Scalar] = {
        "rounds": int(part.param("lock_rounds")), "clients": int(part.param("lock_clients")),
        "local_epochs": int(part.param("lock_epochs")), "clip": float(part.param("lock_clip")),
        "aggregation": "central", "epsilon": float(part.param("lock_epsilon")),
    }
    d_real, _ = update_dimension(part, None)
    quiet, noisy = _paired_runs(part, controls, rng, d_real, (0.0, accounting(part, controls)[2]))
    level = min(float(part.param("target_accuracy")), 0.97 * float(np.max(quiet.accuracy)))
    quiet_rounds = fedavg.rounds_to_target(quiet.accuracy, level)
    noisy_rounds = fedavg.rounds_to_target(noisy.accuracy, level)
    assert quiet_rounds is not None  # the level is below the noiseless run's best
    if noisy_rounds is None or noisy_rounds > quiet_rounds:
        return "increase"
    return "decrease" if noisy_rounds < quiet_rounds else "no change"


def lock_context(part: Part) -> dict[str, Any]:
    return {"epsilon": part.param("lock_epsilon")}


# ----------------------------------------------------------------------------- Math Peek


def peek(part: Part, controls: Mapping[str, Scalar], metrics: Mapping[str, Any]) -> list[Peek]:
    eps, delta = float(controls.get("epsilon", 1.0)), float(part.param("delta"))
    single = privacy.gaussian_single_release_sigma(min(eps, 1.0), delta)
    z = float(metrics.get("noise_multiplier", 0) or 0)
    n = int(controls.get("clients", 1) or 1)
    d_real, d_proxy = int(metrics.get("d_real", 0) or 0), int(metrics.get("d_proxy", 0) or 0)
    central = controls.get("aggregation") == "central"
    return [
        Peek(
            title="DP-FedAvg",
            formula="clip: u_k <- u_k min(1, C / ||u_k||);  central: (sum_k u_k + N(0, (z C)^2)) / n;  "
            "local: every device sends u_k + N(0, (z C)^2)",
            substituted=(
                f"C = {controls.get('clip')}, z = {z:.3f}, {controls.get('aggregation')} noise, "
                f"n = {n:,} of {int(part.param('fleet_size')):,} devices (q = {metrics.get('sampling_rate', 0):.2g}): "
                f"epsilon = {metrics.get('epsilon', 0):.3f} at delta = {delta:g}; accuracy "
                f"{metrics.get('accuracy', 0):.1%} against {metrics.get('baseline_accuracy', 0):.1%} without privacy"
            ),
            source="McMahan et al., ICLR 2018 (DP-FedAvg); Abadi et al., CCS 2016 (clipping and noise)",
        ),
        Peek(
            title="Noise at the real update's size",
            formula="per coordinate: signal ~ C / sqrt(d), noise = z C / n (central) or z C / sqrt(n) (local);  "
            "SNR = n / (z sqrt(d));  the proxy draws its noise sqrt(d_real / d_proxy) larger",
            substituted=(
                f"d = {d_real:,} ({metrics.get('d_source', 'mission figure')}); the proxy learns with "
                f"{d_proxy:,} parameters, noise x{metrics.get('noise_scale', 0):.1f}; SNR = "
                + (f"{n:,} / ({z:.2f} x {math.sqrt(max(d_real, 1)):,.0f})" if central
                   else f"sqrt({n:,}) / ({z:.2f} x {math.sqrt(max(d_real, 1)):,.0f})")
                + f" = {metrics.get('snr', 0):.3g} per round. {metrics.get('simulated_clients', 0)} clients are "
                f"simulated each round and their clipped mean stands for the {metrics.get('participants_per_round', 0):,.0f} "
                "participants; bytes, energy and compute count all of them"
            ),
            source="McMahan, Ramage, Talwar, Zhang, ICLR 2018 (user-level DP needs thousands of users per round); "
            "the sqrt(d) scaling is the project's own assumption: noise on any direction matters as much as on the update's",
        ),
        Peek(
            title="The accountant",
            formula="one release: sigma >= C sqrt(2 ln(1.25 / delta)) / epsilon;  many rounds: RDP of the "
            "Poisson-subsampled Gaussian, composed, then converted to (epsilon, delta)",
            substituted=(
                f"one release at epsilon = {min(eps, 1.0):g} needs sigma/C >= {single:.2f}; the accountant gives "
                f"z = {z:.2f} for {metrics.get('compositions', controls.get('rounds'))} releases at "
                f"q = {metrics.get('sampling_rate', 0):.2g}. Central: each device joins a round with probability q, "
                "as simulated; local: q = 1 over the most reports any device sends. Sampling amplifies privacy, "
                "and composing in RDP is tighter than adding epsilons."
            ),
            source="Dwork and Roth 2014; Mironov, Talwar, Zhang 2019; Balle et al. 2020; as in Google's dp-accounting",
        ),
    ]


MODEL = register(Model(
    name="privacy",
    simulate=simulate,
    params=fleet.WORLD_PARAMS + (
        Requirement("payload_mb", low=0),
        Requirement("update_params", low=1, optional=True),
        Requirement("fleet_size", low=1),
        Requirement("delta", low=1e-15, high=0.1),
        Requirement("energy_mj_per_mb", low=0),
        Requirement("lock_rounds", low=2, high=200),
        Requirement("lock_clients", low=1, high=50),
        Requirement("lock_epochs", low=1, high=20),
        Requirement("lock_clip", low=0.01),
        Requirement("lock_epsilon", low=0.01),
    ),
    controls=(
        Requirement("epsilon", low=0.01, high=100),
        Requirement("clip", low=0.001, high=100),
        Requirement("aggregation", choices=("central", "local")),
        Requirement("clients", low=1, high=1_000_000),
        Requirement("rounds", low=1, high=150),
        Requirement("local_epochs", low=1, high=20),
    ),
    metrics=PRIVACY.scalars,
    truths={"noise_raises_compute": truth_noise_raises_compute},
    variants={
        ("data", "cities"): ((Requirement("cities", low=1, high=50), Requirement("rare_prior", low=0, high=0.5)), (),
                             PRIVACY.variant("data", "cities")),
        ("data", "synthetic"): ((Requirement("beta", low=0, high=100),), (), PRIVACY.variant("data", "synthetic")),
    },
    peek=peek,
    reads_earlier=True,
    lock_context=lock_context,
))
