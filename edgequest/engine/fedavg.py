"""Federated Averaging on a simulated cohort, with dropped uploads and DP hooks.

FedAvg (McMahan, Moore, Ramage, Hampson, Aguera y Arcas, "Communication-
Efficient Learning of Deep Networks from Decentralized Data", AISTATS 2017):
each round the server sends the global model to a set of clients, each runs
``local_epochs`` of minibatch SGD on its own data, and the server replaces the
model by the sample-weighted average of the returned models.

The model is multinomial logistic (softmax) regression with a bias, the model
FedProx uses for its Synthetic data (Li et al., MLSys 2020).  It is convex, so
every effect the game shows (client drift under non-IID data, slower progress
with dropped uploads, the price of DP noise) comes from the federated
optimisation, not from a network's quirks.

Vectorisation: all participants of a round train at once.  Their data sit in
dense (clients x samples x features) arrays and every SGD step is two batched
matrix products over the leading client axis (``np.matmul``); Python loops run
only over rounds, epochs and minibatch steps.  Clients are sorted by size so
that, at step ``s``, the clients that still have a real minibatch are a prefix
of the client axis and the others cost nothing.  Logits are kept class-major
(classes x clients x batch) so the softmax reductions run over the leading,
contiguous axis, which numpy does far faster than reductions over a short last
axis.  Each participant's samples are reshuffled once per round; its epochs
then visit the same minibatches in the same order (a fresh permutation per
epoch would cost a gather per epoch and changes none of the effects shown).

DP hooks (DP-FedAvg, McMahan, Ramage, Talwar, Zhang, "Learning Differentially
Private Recurrent Language Models", ICLR 2018): with ``clip_norm`` set, each
client's model delta is clipped to L2 norm ``clip_norm``, updates are weighted
equally, and the server divides the sum by the *expected* number of aggregated
updates rather than the number that arrived (the fixed-denominator estimator).
The denominator is fixed before any upload arrives -- it depends on which
clients were asked and on their link reliabilities (:func:`expected_aggregated`),
never on their data -- so one client moves the sum by at most ``clip_norm``.
Gaussian noise of standard deviation ``noise_multiplier * clip_norm`` per
coordinate is added once to the sum at the server (``aggregation='central'``)
or by every client to its own clipped delta before upload
(``aggregation='local'``).  Calibrating ``noise_multiplier`` to an (epsilon,
delta) target is the privacy accountant's job, not this module's; for it, with
'random' selection a client is asked with probability ``clients / n_clients``
each round (uniform sampling without replacement, not Poisson sampling).

Learning rates: ``city_fleet``'s quiet features need lr ~0.5-1;
FedProx's Synthetic data train well at lr ~0.05 (batch 10).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edgequest.engine.compression import UPDATE_FORMATS, Compressor
from edgequest.engine.checks import check_choice as _check_choice
from edgequest.engine.federated_data import FederatedDataset, check_generator, check_int, check_number
from edgequest.engine.softmax_model import (
    MODEL_BYTES_PER_PARAMETER,
    MODEL_DTYPE,
    accuracy_of,
    class_scores,
    column_blocks,
    cross_entropy_of,
    flops_per_sample,
    local_sgd,
    model_parameter_count,
    with_bias,
)

__all__ = [
    "FedAvgResult",
    "RoundReturns",
    "FleetTraffic",
    "SELECTIONS",
    "AGGREGATIONS",
    "OVERSELECT_PERCENT",
    "run_fedavg",
    "client_reliability",
    "expected_aggregated",
    "clip_deltas",
    "delta_norms",
    "column_blocks",
    "class_scores",
    "local_sgd",
    "with_bias",
    "model_parameter_count",
    "flops_per_sample",
    "rounds_to_target",
    "round_returns",
    "rounds_always_help",
    "communication_gb",
]

SELECTIONS = ("random", "reliable", "overselect")
AGGREGATIONS = ("central", "local")
#: Bonawitz et al. (SysML 2019): the server selects 130% of its target.
OVERSELECT_PERCENT = 130


# --------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FedAvgResult:
    """One FedAvg run, round by round (arrays have one entry per round).

    Attributes:
        accuracy: top-1 accuracy of the global model on the global test set.
        loss: global training loss, the sample-weighted mean cross-entropy over
            every client's training data (FedProx's "training loss"), nats.
        rare_recall: accuracy on rare-class samples, or None without a rare class.
        uploads_attempted: clients selected (each downloads, trains, uploads).
        uploads_succeeded: uploads that reached the server.
        updates_aggregated: updates averaged into the model (overselection
            keeps only the first ``clients`` that arrive).
        clipped_fraction: share of aggregated deltas the clip shortened (0 without DP).
        delta_norm_max: largest L2 norm of an aggregated delta after clipping,
            before any noise.
        flops_per_round: training FLOPs on devices in each round, failed
            clients included (see :func:`flops_per_sample`).
        client_epochs: total local epochs run on devices, failed ones included
            (per round: ``uploads_attempted * local_epochs``).
        flops: total of ``flops_per_round``.
        simulated_flops: training FLOPs this simulation executed: only the
            updates that get aggregated are simulated, since the others
            cannot change the model.
        final_accuracy / final_rare_recall: the last round's values.
        model_parameters / model_bytes: size of the simulated model (float32).
    """

    accuracy: np.ndarray
    loss: np.ndarray
    rare_recall: np.ndarray | None
    uploads_attempted: np.ndarray
    uploads_succeeded: np.ndarray
    updates_aggregated: np.ndarray
    clipped_fraction: np.ndarray
    delta_norm_max: np.ndarray
    flops_per_round: np.ndarray
    client_epochs: int
    flops: float
    simulated_flops: float
    final_accuracy: float
    final_rare_recall: float | None
    model_parameters: int
    model_bytes: int

    def __post_init__(self) -> None:
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    @property
    def rounds(self) -> int:
        return int(self.accuracy.shape[0])


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# clients: reliability, selection, DP clipping
# --------------------------------------------------------------------------


def client_reliability(reliability: float, link_quality: np.ndarray, spread: float = 1.0) -> np.ndarray:
    """Per-client upload success probability whose cohort mean is the control value.

    ``r_k = reliability + spread * min(reliability, 1 - reliability) * q'_k``
    where ``q'`` is the link quality centred on its cohort mean and scaled into
    [-1, 1]: links differ, the player sets the average, and the share of
    uploads delivered under uniform selection matches the control (the
    project's own assumption).  Every r_k stays in [0, 1].
    """
    reliability = check_number("reliability", reliability, 0.0, 1.0)
    spread = check_number("reliability_spread", spread, 0.0, 1.0)
    half_width = spread * min(reliability, 1.0 - reliability)
    quality = np.asarray(link_quality, dtype=np.float64)
    centred = quality - quality.mean() if quality.size else quality
    largest = float(np.abs(centred).max()) if centred.size else 0.0
    if largest > 1.0:
        centred = centred / largest
    return np.clip(reliability + half_width * centred, 0.0, 1.0)


def _select(
    selection: str, clients: int, reliability: np.ndarray, rng: np.random.Generator,
) -> np.ndarray:
    """Indices of the clients asked to train this round, in reporting order."""
    n_clients = reliability.shape[0]
    if selection == "random":
        return rng.choice(n_clients, size=clients, replace=False)
    if selection == "overselect":
        # Bonawitz et al. 2019: select 130% of the target (integer ceiling:
        # 20 * 1.3 in floating point is 26.000000000000004).
        wanted = min(n_clients, -(-clients * OVERSELECT_PERCENT // 100))
        return rng.choice(n_clients, size=wanted, replace=False)
    # 'reliable': power-of-choice selection (Cho, Wang, Joshi, AISTATS 2022)
    # with link reliability as the criterion: draw twice the target at random,
    # keep the most reliable.  Every client still gets picked now and then.
    candidates = rng.choice(n_clients, size=min(n_clients, 2 * clients), replace=False)
    order = np.argsort(-reliability[candidates], kind="stable")[:clients]
    return candidates[order]


def expected_aggregated(reliability: np.ndarray, cap: int) -> float:
    """E[min(S, cap)] for S = number of successes of independent uploads.

    S is Poisson-binomial with the selected clients' success probabilities;
    its distribution is built by convolving one Bernoulli at a time.  This is
    the fixed denominator of DP-FedAvg here: it depends on who was asked, not
    on who answered, so it carries no information about any client's data.
    """
    p = np.asarray(reliability, dtype=np.float64)
    if cap >= p.shape[0]:
        return float(p.sum())
    pmf = np.zeros(p.shape[0] + 1)
    pmf[0] = 1.0
    for i, pi in enumerate(p):
        pmf[1 : i + 2] = pmf[1 : i + 2] * (1.0 - pi) + pmf[: i + 1] * pi
        pmf[0] *= 1.0 - pi
    counts = np.minimum(np.arange(p.shape[0] + 1), cap)
    return float(pmf @ counts)


def delta_norms(deltas: np.ndarray) -> np.ndarray:
    """L2 norm of each client's delta (leading axis = clients), float64."""
    flat = deltas.reshape(deltas.shape[0], -1).astype(np.float64)
    return np.sqrt(np.einsum("ij,ij->i", flat, flat))


def clip_deltas(deltas: np.ndarray, clip_norm: float) -> tuple[np.ndarray, np.ndarray]:
    """Scale each client's delta to L2 norm <= clip_norm (McMahan et al., ICLR 2018).

    Args:
        deltas: (clients, ...) model deltas.
    Returns:
        (clipped deltas, norms before clipping), leading axis = clients.
    """
    norms = delta_norms(deltas)
    factor = np.minimum(1.0, clip_norm / np.maximum(norms, 1e-30))
    return (deltas * factor.reshape((-1,) + (1,) * (deltas.ndim - 1))).astype(deltas.dtype), norms


# --------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Evaluation:
    """Everything a round's evaluation needs, laid out once per run."""

    blocks: np.ndarray  # column_blocks of train, test and rare rows, in that order
    y_train: np.ndarray
    y_test: np.ndarray
    n_train: int
    n_test: int
    n_rare: int
    rare_class: int | None

    def measure(self, weights: np.ndarray) -> tuple[float, float, float]:
        scores = class_scores(weights, self.blocks, self.n_train + self.n_test + self.n_rare)
        a, b = self.n_train, self.n_train + self.n_test
        loss = cross_entropy_of(scores[:, :a], self.y_train)
        accuracy = accuracy_of(scores[:, a:b], self.y_test)
        if self.rare_class is None or self.n_rare == 0:
            return accuracy, loss, float("nan")
        rare = accuracy_of(scores[:, b:], np.full(self.n_rare, self.rare_class))
        return accuracy, loss, rare


def _evaluation_set(data: FederatedDataset) -> _Evaluation:
    x_train, x_test, x_rare = data.x_train, data.x_test, data.x_rare_test
    x_all = with_bias(np.concatenate([x_train, x_test, x_rare], axis=0))
    return _Evaluation(
        blocks=column_blocks(x_all), y_train=data.y_train, y_test=data.y_test,
        n_train=x_train.shape[0], n_test=x_test.shape[0], n_rare=x_rare.shape[0],
        rare_class=data.rare_class,
    )


def _train_participants(
    global_weights: np.ndarray,
    x_aug: np.ndarray,
    labels: np.ndarray,
    n_samples: np.ndarray,
    participants: np.ndarray,
    n_classes: int,
    *,
    local_epochs: int,
    lr: float,
    batch_size: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Local models of ``participants`` (sorted by sample count, descending)."""
    m = participants.shape[0]
    counts = n_samples[participants]
    width = int(counts[0])
    # Reshuffle each client's real rows (padding stays at the end).
    keys = rng.random((m, width)) + (np.arange(width)[None, :] >= counts[:, None])
    rows = np.argsort(keys, axis=1)
    x = x_aug[participants[:, None], rows]
    y = labels[participants[:, None], rows]

    position = np.arange(width)
    batch_start = (position // batch_size) * batch_size
    in_batch = np.clip(counts[:, None] - batch_start[None, :], 0, batch_size)
    real = position[None, :] < counts[:, None]
    step_scale = np.where(real, lr / np.maximum(in_batch, 1), 0.0).astype(MODEL_DTYPE)
    target_scaled = (np.arange(n_classes)[:, None, None] == y[None, :, :]) * step_scale[None, :, :]
    n_steps = -(-width // batch_size)
    active = (counts[None, :] > np.arange(n_steps)[:, None] * batch_size).sum(axis=1)

    weights = np.repeat(global_weights[None, :, :], m, axis=0)
    local_sgd(weights, x, target_scaled, step_scale, active, batch_size, local_epochs)
    return weights


def run_fedavg(
    data: FederatedDataset,
    *,
    rounds: int,
    clients: int,
    local_epochs: int,
    reliability: float,
    selection: Literal["random", "reliable", "overselect"] = "random",
    lr: float,
    batch_size: int,
    clip_norm: float | None = None,
    noise_multiplier: float = 0.0,
    aggregation: Literal["central", "local"] = "central",
    reliability_spread: float = 1.0,
    update_format: str = "fp32",
    rng: np.random.Generator,
    dp_update: Callable[[np.ndarray, int, np.random.Generator], np.ndarray] | None = None,
) -> FedAvgResult:
    """Run FedAvg (or DP-FedAvg) on ``data`` and record every round.

    Args:
        data: the cohort; every simulated client stands for many devices.
        rounds: communication rounds.
        clients: participants per round (the target; 'overselect' asks 130%).
        local_epochs: passes over its own data each participant makes per round.
        reliability: mean probability that an upload reaches the server; each
            client's own value comes from :func:`client_reliability`.
        selection: 'random' (uniform without replacement), 'reliable'
            (power-of-choice on link reliability) or 'overselect' (Bonawitz et
            al. 2019: ask 130%, keep the first ``clients`` that report).
        lr: local SGD learning rate; batch_size: local minibatch size.
        clip_norm: L2 bound on each client's model delta (None: no clipping).
            Setting it switches to DP-FedAvg's equal weights and fixed
            denominator (see the module docstring).
        noise_multiplier: Gaussian noise std in units of clip_norm (needs clip_norm).
        aggregation: 'central' (noise once on the server's sum) or 'local'
            (each client noises its own clipped delta before upload).
        reliability_spread: how far per-client reliabilities spread, 0..1.
        update_format: how the averaged update travels (:mod:`edgequest.engine.compression`):
            'fp32', 'fp16', 'int8', 'int4' or 'topk10' (top-k 10% with error feedback).
        dp_update: with ``clip_norm``, replaces the server step: called with the
            round's clipped deltas (participants x classes x features+1), the
            0-based round and ``rng``, it returns the model update, noise
            included (``engine.dp_fedavg`` uses it to stand a sample of clients
            in for a larger cohort); ``noise_multiplier`` is then unused.
        rng: the only source of randomness; same seed + same inputs give a
            bit-identical result.

    A round in which no update arrives keeps the model.  Clients whose upload
    fails still download, train and upload (they count in the attempts,
    client-epochs and FLOPs) but bring nothing.
    """
    if not isinstance(data, FederatedDataset):
        raise ValueError(f"data must be a FederatedDataset, got {type(data).__name__}")
    rounds = check_int("rounds", rounds, 1, 100_000)
    clients = check_int("clients", clients, 1, data.n_clients)
    local_epochs = check_int("local_epochs", local_epochs, 1, 1_000)
    selection = _check_choice("selection", selection, SELECTIONS)
    aggregation = _check_choice("aggregation", aggregation, AGGREGATIONS)
    lr = check_number("lr", lr, 0.0, 100.0, low_open=True)
    batch_size = check_int("batch_size", batch_size, 1, 1_000_000)
    if clip_norm is not None:
        clip_norm = check_number("clip_norm", clip_norm, 0.0, 1e6, low_open=True)
    noise_multiplier = check_number("noise_multiplier", noise_multiplier, 0.0, 1e6)
    if noise_multiplier > 0.0 and clip_norm is None:
        raise ValueError(
            f"noise_multiplier={noise_multiplier!r} needs clip_norm: the noise std is "
            "noise_multiplier * clip_norm; pass clip_norm > 0 or noise_multiplier = 0")
    per_client_reliability = client_reliability(reliability, data.link_quality, reliability_spread)
    compressor = Compressor(_check_choice("update_format", update_format, UPDATE_FORMATS))
    check_generator(rng)

    n_classes, n_features = data.n_classes, data.n_features
    x_aug = with_bias(data.x)
    evaluation = _evaluation_set(data)
    sample_flops = flops_per_sample(n_features, n_classes)
    noise_sd = noise_multiplier * (clip_norm or 0.0)

    weights = np.zeros((n_classes, n_features + 1), dtype=MODEL_DTYPE)
    accuracy = np.empty(rounds)
    loss = np.empty(rounds)
    rare_recall = np.empty(rounds)
    attempted = np.empty(rounds, dtype=np.int64)
    succeeded = np.empty(rounds, dtype=np.int64)
    aggregated = np.empty(rounds, dtype=np.int64)
    clipped_fraction = np.zeros(rounds)
    delta_norm_max = np.zeros(rounds)
    flops_per_round = np.empty(rounds)
    client_epochs = 0
    simulated_flops = 0.0

    for r in range(rounds):
        selected = _select(selection, clients, per_client_reliability, rng)
        arrived = rng.random(selected.shape[0]) < per_client_reliability[selected]
        kept = arrived & (np.cumsum(arrived) <= clients) if selection == "overselect" else arrived
        attempted[r], succeeded[r], aggregated[r] = selected.shape[0], arrived.sum(), kept.sum()
        client_epochs += selected.shape[0] * local_epochs
        flops_per_round[r] = float(local_epochs * sample_flops * data.n_samples[selected].sum())

        participants = selected[kept]
        # No update arrived: keep the model.  Under DP this adds no noise, which
        # is safe: whether uploads arrive depends on links, not on anyone's data.
        if participants.shape[0] > 0:
            participants = participants[np.argsort(-data.n_samples[participants], kind="stable")]
            local = _train_participants(
                weights, x_aug, data.y, data.n_samples, participants, n_classes,
                local_epochs=local_epochs, lr=lr, batch_size=batch_size, rng=rng)
            simulated_flops += float(local_epochs * sample_flops * data.n_samples[participants].sum())
            deltas = local - weights[None]
            if clip_norm is None:
                # FedAvg: average weighted by sample count (McMahan et al. 2017, Alg. 1).
                share = data.n_samples[participants] / data.n_samples[participants].sum()
                update = np.tensordot(share.astype(MODEL_DTYPE), deltas, axes=1)
                weights = weights + compressor.compress(update)
                delta_norm_max[r] = float(delta_norms(deltas).max())
            else:
                deltas, norms = clip_deltas(deltas, clip_norm)
                clipped_fraction[r] = float(np.mean(norms > clip_norm))
                delta_norm_max[r] = float(delta_norms(deltas).max())  # measured, not assumed
                if dp_update is not None:
                    weights = (weights + dp_update(deltas, r, rng)).astype(MODEL_DTYPE)
                    accuracy[r], loss[r], rare_recall[r] = evaluation.measure(weights)
                    continue
                if aggregation == "local" and noise_sd > 0.0:
                    deltas = deltas + rng.normal(0.0, noise_sd, deltas.shape).astype(MODEL_DTYPE)
                total = deltas.sum(axis=0, dtype=np.float64)
                if aggregation == "central" and noise_sd > 0.0:
                    total += rng.normal(0.0, noise_sd, total.shape)
                cap = clients if selection == "overselect" else selected.shape[0]
                denominator = expected_aggregated(per_client_reliability[selected], cap)
                weights = (weights + compressor.compress(total / denominator)).astype(MODEL_DTYPE)
        accuracy[r], loss[r], rare_recall[r] = evaluation.measure(weights)

    has_rare = data.rare_class is not None and data.x_rare_test.shape[0] > 0
    n_params = model_parameter_count(n_features, n_classes)
    return FedAvgResult(
        accuracy=accuracy, loss=loss, rare_recall=rare_recall if has_rare else None,
        uploads_attempted=attempted, uploads_succeeded=succeeded, updates_aggregated=aggregated,
        clipped_fraction=clipped_fraction, delta_norm_max=delta_norm_max,
        flops_per_round=flops_per_round, client_epochs=client_epochs,
        flops=float(flops_per_round.sum()), simulated_flops=simulated_flops,
        final_accuracy=float(accuracy[-1]),
        final_rare_recall=float(rare_recall[-1]) if has_rare else None,
        model_parameters=n_params, model_bytes=n_params * MODEL_BYTES_PER_PARAMETER,
    )


# --------------------------------------------------------------------------
# reading a run: rounds to target, and whether more rounds keep paying off
# --------------------------------------------------------------------------


def _accuracy_curve(accuracy: object) -> np.ndarray:
    curve = np.asarray(accuracy, dtype=np.float64)
    if curve.ndim != 1 or curve.size == 0:
        raise ValueError(f"accuracy must be a non-empty 1-D sequence, got shape {curve.shape}")
    if not np.all(np.isfinite(curve)):
        raise ValueError("accuracy must hold finite numbers only")
    return curve


def rounds_to_target(accuracy: object, target: float) -> int | None:
    """First round (1-based) whose accuracy reaches ``target``; None if none does."""
    curve = _accuracy_curve(accuracy)
    target = check_number("target", target, 0.0, 1.0)
    hits = np.flatnonzero(curve >= target)
    return int(hits[0]) + 1 if hits.size else None


@dataclass(frozen=True)
class RoundReturns:
    """What extra rounds bought along one accuracy curve (accuracy as a fraction).

    Attributes:
        max_drop: largest fall of accuracy below its best so far: how much a
            later round undid.
        drop_rounds: rounds that ended more than ``tolerance`` below the best so far.
        late_gain: best accuracy of the second half minus that of the first half.
        best_round: 1-based round of the best accuracy.
        reached_target: whether the curve reached ``target`` (None without one).
        always_help: the verdict of :func:`rounds_always_help`.
    """

    max_drop: float
    drop_rounds: int
    late_gain: float
    best_round: int
    reached_target: bool | None
    always_help: bool


def round_returns(
    accuracy: object, *, tolerance: float = 0.03, target: float | None = None,
    min_late_gain: float = 0.01,
) -> RoundReturns:
    """Judge whether more communication rounds kept improving a fleet's accuracy.

    The Lock of part 2 asks whether syncing more often always helps a fleet
    with extremely different local data.  Our criterion, on one run's curve:
    more rounds "always help" unless

    * a later round falls more than ``tolerance`` below the best accuracy seen
      so far (the curve is not monotone beyond noise: client drift makes
      rounds undo each other, McMahan et al. 2017, Li et al. 2020), or
    * a ``target`` is given, the curve never reaches it, and its second half
      gains less than ``min_late_gain`` over its first (a plateau below the
      target, where more rounds buy almost nothing).

    ``tolerance`` defaults to 3 accuracy points: on our IID runs round-to-round
    dips stay below that, on strongly non-IID runs they reach 5-40 points.
    """
    curve = _accuracy_curve(accuracy)
    tolerance = check_number("tolerance", tolerance, 0.0, 1.0)
    min_late_gain = check_number("min_late_gain", min_late_gain, 0.0, 1.0)
    if target is not None:
        target = check_number("target", target, 0.0, 1.0)
    shortfall = np.maximum.accumulate(curve) - curve
    half = max(1, curve.size // 2)
    late_gain = float(curve[half:].max() - curve[:half].max()) if curve.size > 1 else 0.0
    reached = None if target is None else bool(curve.max() >= target)
    plateau_below_target = reached is False and late_gain < min_late_gain
    max_drop = float(shortfall.max())
    return RoundReturns(
        max_drop=max_drop,
        drop_rounds=int(np.sum(shortfall > tolerance)),
        late_gain=late_gain,
        best_round=int(np.argmax(curve)) + 1,
        reached_target=reached,
        always_help=bool(max_drop <= tolerance and not plateau_below_target),
    )


def rounds_always_help(
    accuracy: object, *, tolerance: float = 0.03, target: float | None = None,
    min_late_gain: float = 0.01,
) -> bool:
    """True if, on this curve, more rounds never undid progress nor stalled below target.

    See :func:`round_returns` for the criterion and its thresholds.
    """
    return round_returns(
        accuracy, tolerance=tolerance, target=target, min_late_gain=min_late_gain,
    ).always_help


# --------------------------------------------------------------------------
# fleet-scale traffic and radio energy
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetTraffic:
    """Bytes and radio energy of a federated run, scaled from the cohort to the fleet.

    GB = 1e9 bytes, MB = 1e6 bytes.  Arrays have one entry per round.

    Attributes:
        devices_per_client: fleet devices each simulated client stands for.
        gb_per_round: fleet traffic of each round (downloads + uploads).
        cumulative_gb: traffic up to and including each round (the x-axis of
            the convergence-vs-communication plot).
        total_gb: traffic of the whole run.
        wasted_gb: traffic of syncs whose update was not aggregated.
        energy_j: radio energy of the whole run, fleet-wide, joules.
        wasted_energy_j: radio energy of syncs that brought nothing, joules.
        wasted_energy_share: wasted_energy_j / energy_j (0 when nothing was sent).
    """

    devices_per_client: float
    gb_per_round: np.ndarray
    cumulative_gb: np.ndarray
    total_gb: float
    wasted_gb: float
    energy_j: float
    wasted_energy_j: float
    wasted_energy_share: float

    def __post_init__(self) -> None:
        self.gb_per_round.flags.writeable = False
        self.cumulative_gb.flags.writeable = False


def _per_round_counts(name: str, value: object, rounds: int) -> np.ndarray:
    counts = np.asarray(value)
    if counts.ndim == 0:
        counts = np.full(rounds, counts)
    if counts.shape != (rounds,):
        raise ValueError(f"{name} must be a number or one count per round ({rounds}), got shape {counts.shape}")
    if not np.issubdtype(counts.dtype, np.number) or np.issubdtype(counts.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold numbers, got dtype {counts.dtype}")
    counts = counts.astype(np.float64)
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError(f"{name} must hold finite counts >= 0")
    return counts


def communication_gb(
    payload_bytes: float,
    participants_per_round: object,
    rounds: int,
    fleet_size: int,
    cohort_size: int,
    *,
    aggregated_per_round: object | None = None,
    download_bytes: float | None = None,
    energy_mj_per_mb: float = 100.0,
) -> FleetTraffic:
    """Fleet traffic and radio energy of FedAvg rounds (a pure formula).

    Each round every selected client downloads the model (``download_bytes``,
    default ``payload_bytes``) and uploads its update (``payload_bytes``).  A
    failed upload still spends its bytes and energy but brings nothing, and
    so does an update the server discards (overselection); both count as
    wasted.  The cohort is scaled to the fleet analytically: each simulated
    client stands for ``fleet_size / cohort_size`` devices.

    Args:
        payload_bytes: bytes of one model update (the track's model, not the
            simulated one).
        participants_per_round: clients selected per round (a number, or one
            per round, e.g. ``FedAvgResult.uploads_attempted``).
        rounds: number of rounds.
        fleet_size / cohort_size: devices in the fleet / clients simulated.
        aggregated_per_round: updates that counted per round (e.g.
            ``FedAvgResult.updates_aggregated``); default: all of them.
        energy_mj_per_mb: radio energy per MB moved; 5G ~100 mJ/MB (book).
            Radio only: training energy is not included.
    """
    payload_bytes = check_number("payload_bytes", payload_bytes, 0.0, 1e15)
    download = payload_bytes if download_bytes is None else check_number("download_bytes", download_bytes, 0.0, 1e15)
    rounds = check_int("rounds", rounds, 1, 10_000_000)
    fleet_size = check_int("fleet_size", fleet_size, 1, 10**12)
    cohort_size = check_int("cohort_size", cohort_size, 1, 10**9)
    energy_mj_per_mb = check_number("energy_mj_per_mb", energy_mj_per_mb, 0.0, 1e9)
    participants = _per_round_counts("participants_per_round", participants_per_round, rounds)
    if np.any(participants > cohort_size):
        raise ValueError(f"participants_per_round must not exceed cohort_size ({cohort_size})")
    if aggregated_per_round is None:
        aggregated = participants
    else:
        aggregated = _per_round_counts("aggregated_per_round", aggregated_per_round, rounds)
        if np.any(aggregated > participants):
            raise ValueError("aggregated_per_round must not exceed participants_per_round")

    devices_per_client = fleet_size / cohort_size
    sync_bytes = download + payload_bytes
    bytes_per_round = participants * sync_bytes * devices_per_client
    wasted_bytes = float(np.sum(participants - aggregated) * sync_bytes * devices_per_client)
    total_bytes = float(bytes_per_round.sum())
    joules_per_byte = energy_mj_per_mb * 1e-3 / 1e6
    return FleetTraffic(
        devices_per_client=devices_per_client,
        gb_per_round=bytes_per_round / 1e9,
        cumulative_gb=np.cumsum(bytes_per_round) / 1e9,
        total_gb=total_bytes / 1e9,
        wasted_gb=wasted_bytes / 1e9,
        energy_j=total_bytes * joules_per_byte,
        wasted_energy_j=wasted_bytes * joules_per_byte,
        wasted_energy_share=wasted_bytes / total_bytes if total_bytes > 0 else 0.0,
    )
