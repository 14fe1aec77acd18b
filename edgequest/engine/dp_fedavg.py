"""DP-FedAvg at the fleet's scale, learned on a small proxy model.

The learning runs on softmax regression over a cohort of simulated clients
(``engine.fedavg``), a model of a few hundred parameters; the update a real device
sends has millions. Three things make the proxy pay the real update's privacy price.

**Noise that sees the real dimension.** Gaussian noise of standard deviation
``z C / n`` per coordinate is added to the mean of ``n`` clipped updates. A clipped
update spreads its norm (at most ``C``) over its ``d`` coordinates, about ``C / sqrt(d)``
each, so a round's signal-to-noise ratio per coordinate is about ``n / (z sqrt(d))``
(McMahan, Ramage, Talwar, Zhang, ICLR 2018, "Learning Differentially Private Recurrent
Language Models"). The proxy keeps the real update's ratio by drawing its noise with
standard deviation ``sqrt(d_real / d_proxy)`` times larger: its whole noise vector then has
the norm the real one would have, next to an update of the same norm ``C``. The premise,
which the project takes as its own assumption, is that a real network's output is as
sensitive to noise along any of its ``d_real`` directions as along the update's own.

**Cohorts the size of the fleet.** Central noise: each round every one of the fleet's
``W`` devices joins independently with probability ``q = n / W`` (Poisson sampling, the
sampling McMahan et al. 2018 assume and the RDP accountant of ``engine.privacy``
bounds: Mironov, Talwar, Zhang 2019). ``n_r``, the number who join in round ``r``, is drawn
as Binomial(W, q); the server divides their clipped sum by the fixed ``n = qW`` (McMahan
et al.'s fixed-denominator estimator, whose sensitivity is ``C / n`` whatever ``n_r`` turns
out to be). Up to :data:`SAMPLE_CAP` clients are simulated; their clipped mean estimates
the mean over the ``n_r`` participants, so the model moves by
``(n_r / n) * mean + N(0, (z C s / n)^2)`` with ``s = sqrt(d_real / d_proxy)``.
Local noise: every participant noises its own update, so the mean carries noise of
standard deviation ``z C s sqrt(n_r) / n``; sampling buys no amplification there (the server
sees who reports), so cohorts are fixed at ``n`` and the devices take turns, each one
reporting at most ``ceil(R n / W)`` times in ``R`` rounds (:func:`local_reports_per_device`).

**Counting every participant.** Client-epochs, training FLOPs and traffic count the
``n_r`` real participants of each round, not the simulated sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edgequest.engine import fedavg
from edgequest.engine.federated_data import FederatedDataset, check_int, check_number

__all__ = [
    "SAMPLE_CAP",
    "DPRun",
    "noise_scale",
    "participants_per_round",
    "local_reports_per_device",
    "mean_noise_sd",
    "snr_per_coordinate",
    "run_dp_fedavg",
]

#: Most clients simulated in one round. Above it, the clipped mean of a sample this size
#: stands for the mean of the round's participants. 16 keeps the largest part-3 run (100
#: rounds, private and baseline) within a quarter of a second on one core; 32 gave the same
#: accuracies within about 2 points on every track.
SAMPLE_CAP = 16


def noise_scale(d_real: int, d_proxy: int) -> float:
    """sqrt(d_real / d_proxy): how much larger the proxy's per-coordinate noise is drawn."""
    d_real = check_int("d_real", d_real, 1, 10**13)
    d_proxy = check_int("d_proxy", d_proxy, 1, 10**13)
    return math.sqrt(d_real / d_proxy)


def participants_per_round(cohort: int, fleet_size: int, rounds: int, aggregation: str,
                           rng: np.random.Generator) -> np.ndarray:
    """Devices taking part in each round: Binomial(W, n / W) (Poisson sampling) for
    central noise, exactly ``n`` for local noise."""
    fleet_size = check_int("fleet_size", fleet_size, 1, 10**12)
    cohort = check_int("cohort", cohort, 1, fleet_size)
    rounds = check_int("rounds", rounds, 1, 100_000)
    if aggregation == "central":
        return rng.binomial(fleet_size, cohort / fleet_size, size=rounds).astype(np.int64)
    return np.full(rounds, cohort, dtype=np.int64)


def local_reports_per_device(cohort: int, fleet_size: int, rounds: int) -> int:
    """The most reports any device sends under local noise: ceil(R n / W), at least 1.

    The devices take turns (each refuses to report once it has reached this count), and
    R n reports spread over W devices always fit; so every device's local noise composes
    over at most this many releases, a worst case rather than an expectation.
    """
    fleet_size = check_int("fleet_size", fleet_size, 1, 10**12)
    cohort = check_int("cohort", cohort, 1, fleet_size)
    rounds = check_int("rounds", rounds, 1, 100_000)
    return max(1, -(-rounds * cohort // fleet_size))


def mean_noise_sd(noise_multiplier: float, clip_norm: float, cohort: int, scale: float,
                  aggregation: str, participants: float | None = None) -> float:
    """Per-coordinate noise std on the proxy's averaged update, in model units.

    central: z C s / n; local: z C s sqrt(n_r) / n (n_r participants, default n).
    """
    base = noise_multiplier * clip_norm * scale / cohort
    if aggregation == "central":
        return base
    return base * math.sqrt(cohort if participants is None else participants)


def snr_per_coordinate(noise_multiplier: float, cohort: int, d_real: int, aggregation: str) -> float:
    """One round's signal-to-noise ratio per coordinate of a full-norm clipped update:
    (C / sqrt(d)) / (z C / n) = n / (z sqrt(d)) central, sqrt(n) / (z sqrt(d)) local."""
    if noise_multiplier <= 0.0:
        return math.inf
    n = cohort if aggregation == "central" else math.sqrt(cohort)
    return n / (noise_multiplier * math.sqrt(d_real))


@dataclass(frozen=True)
class DPRun:
    """A DP-FedAvg run at fleet scale.

    Attributes:
        result: the proxy's run (its counts are those of the simulated sample).
        participants: real participants per round (n_r).
        simulated: clients simulated per round.
        local_epochs: local passes per participant per round.
        client_epochs: local epochs run by every participant.
        flops_per_round: proxy training FLOPs of every participant, per round.
        scale: sqrt(d_real / d_proxy); d_real, d_proxy: the two dimensions.
        noise_sd: per-coordinate noise std on the averaged update (at n_r = n).
    """

    result: fedavg.FedAvgResult
    participants: np.ndarray
    simulated: int
    local_epochs: int
    client_epochs: int
    flops_per_round: np.ndarray
    scale: float
    d_real: int
    d_proxy: int
    noise_sd: float

    @property
    def accuracy(self) -> np.ndarray:
        return self.result.accuracy


def run_dp_fedavg(
    data: FederatedDataset,
    *,
    cohort: int,
    fleet_size: int,
    rounds: int,
    local_epochs: int,
    lr: float,
    batch_size: int,
    clip_norm: float | None,
    noise_multiplier: float,
    aggregation: Literal["central", "local"],
    d_real: int,
    rng: np.random.Generator,
    participants: np.ndarray | None = None,
    sample_cap: int = SAMPLE_CAP,
) -> DPRun:
    """DP-FedAvg with ``cohort`` participants per round out of ``fleet_size`` devices.

    ``clip_norm=None`` runs the same design without clipping or noise (plain FedAvg on the
    same sample: the no-privacy baseline). ``participants`` (one count per round) replays a
    given draw, so a baseline can share the private run's cohorts; by default they are
    drawn from ``rng`` (:func:`participants_per_round`).
    """
    if aggregation not in fedavg.AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {', '.join(fedavg.AGGREGATIONS)}; got {aggregation!r}")
    fleet_size = check_int("fleet_size", fleet_size, 1, 10**12)
    cohort = check_int("cohort", cohort, 1, fleet_size)
    rounds = check_int("rounds", rounds, 1, 100_000)
    sample_cap = check_int("sample_cap", sample_cap, 1, 1_000_000)
    noise_multiplier = check_number("noise_multiplier", noise_multiplier, 0.0, 1e9)
    d_proxy = fedavg.model_parameter_count(data.n_features, data.n_classes)
    scale = noise_scale(d_real, d_proxy)
    if participants is None:
        participants = participants_per_round(cohort, fleet_size, rounds, aggregation, rng)
    participants = np.asarray(participants, dtype=np.int64)
    if participants.shape != (rounds,) or np.any(participants < 0) or np.any(participants > fleet_size):
        raise ValueError(f"participants must hold one count in [0, {fleet_size}] per round ({rounds})")
    simulated = min(cohort, sample_cap, data.n_clients)

    def server_step(clipped: np.ndarray, r: int, generator: np.random.Generator) -> np.ndarray:
        assert clip_norm is not None
        n_r = int(participants[r])
        mean = clipped.mean(axis=0, dtype=np.float64)
        sd = mean_noise_sd(noise_multiplier, clip_norm, cohort, scale, aggregation, n_r)
        noise = generator.normal(0.0, sd, mean.shape) if sd > 0.0 else 0.0
        return (n_r / cohort) * mean + noise

    result = fedavg.run_fedavg(
        data, rounds=rounds, clients=simulated, local_epochs=local_epochs, reliability=1.0, lr=lr,
        batch_size=batch_size, clip_norm=clip_norm, rng=rng,
        dp_update=server_step if clip_norm is not None else None,
    )
    per_client_flops = np.asarray(result.flops_per_round) / simulated
    flops_per_round = per_client_flops * participants
    return DPRun(
        result=result, participants=participants, simulated=simulated, local_epochs=local_epochs,
        client_epochs=int(participants.sum()) * local_epochs, flops_per_round=flops_per_round,
        scale=scale, d_real=int(d_real), d_proxy=d_proxy,
        noise_sd=mean_noise_sd(noise_multiplier, clip_norm or 0.0, cohort, scale, aggregation),
    )
