"""Gossip learning over a BLE mesh versus local-only learning.

Gossip learning (Ormandi, Hegedus, Jelasity 2013; compared with federated
learning by Hegedus, Danner, Jelasity, DAIS 2019 / JPDC 2021) has no server:
every device trains on its own data and, each sync, exchanges its model with
one neighbour; both keep the average.  Local-only learning never talks.

The simulated cohort (50-100 devices) stands for the mesh: per-device figures
(accuracy, bytes, airtime, radio energy and power) do not depend on how many
devices the real mesh has.

Mesh: devices are scattered uniformly over a square and each links to its
``neighbours`` nearest devices (a symmetrised k-nearest-neighbour geometric
graph: radio range adapts to the local density, and no device is isolated).

One round = ``local_steps`` minibatch SGD steps on every device at once (the
same softmax-regression model and batched step as :mod:`fedavg`), then, in
'gossip' mode, one sync: a random matching of the mesh is drawn (devices in
random order each pick a random free neighbour) and every matched pair
averages its models, push-pull.  Pairwise averaging keeps the mesh-wide mean
model unchanged (Boyd, Ghosh, Prabhakar, Shah, "Randomized gossip
algorithms", 2006).  With ``compression`` < 1 a pair exchanges only a random
share of the parameters (subsampling, one of the compressions Hegedus et al.
study) and averages those; the pair agrees on the subset through a shared
seed, so no indices are sent.

Radio: airtime = bits on air / throughput; energy = bits x ``nj_per_bit``
(nRF52840: TX 6.4 mA, RX 6.3 mA at 3 V, ~19 nJ/bit); average radio power =
energy per sync / sync interval, compared with a ~1 mW budget.  Both sending
and receiving count: a device in an exchange sends one model and receives one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from edgequest.engine.federated_data import FederatedDataset, check_generator, check_int, check_number
from edgequest.engine.softmax_model import MODEL_DTYPE, column_blocks, local_sgd, with_bias

__all__ = ["GossipResult", "MODES", "mesh_graph", "random_matching", "run_gossip", "radio_cost", "ble_nj_per_bit"]

MODES = ("gossip", "local")


@dataclass(frozen=True)
class GossipResult:
    """Outcome of a gossip or local-only run.

    Attributes:
        mode: 'gossip' or 'local'.
        own_accuracy: (devices,) final accuracy on each device's own held-out data.
        global_accuracy: (devices,) final accuracy of each device's model on
            the global test set.
        own_accuracy_mean / own_accuracy_std, global_accuracy_mean /
            global_accuracy_std: mean and spread (standard deviation) over devices.
        own_accuracy_per_round: (rounds,) mean over devices after each round.
        mean_degree: average number of mesh neighbours.
        exchange_share: share of devices that found a partner, averaged over syncs.
        bytes_per_exchange: bytes one device sends in one exchange.
        bytes_sent_per_sync: bytes a device sends per sync, on average.
        airtime_per_sync_s: seconds a device's radio is busy per sync, on average.
        radio_energy_per_sync_j: a device's radio energy per sync, on average.
        radio_power_mw: average radio power, energy per sync / sync interval.
        radio_budget_mw / radio_budget_share: the power budget and the share of
            it the radio uses.
    """

    mode: str
    own_accuracy: np.ndarray
    global_accuracy: np.ndarray
    own_accuracy_mean: float
    own_accuracy_std: float
    global_accuracy_mean: float
    global_accuracy_std: float
    own_accuracy_per_round: np.ndarray
    mean_degree: float
    exchange_share: float
    bytes_per_exchange: float
    bytes_sent_per_sync: float
    airtime_per_sync_s: float
    radio_energy_per_sync_j: float
    radio_power_mw: float
    radio_budget_mw: float
    radio_budget_share: float

    def __post_init__(self) -> None:
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False


# --------------------------------------------------------------------------
# mesh and matching
# --------------------------------------------------------------------------


def mesh_graph(n_devices: int, neighbours: int, rng: np.random.Generator) -> np.ndarray:
    """(devices, devices) bool adjacency of a symmetrised k-nearest-neighbour mesh.

    Devices are placed uniformly in the unit square; each links to its
    ``neighbours`` nearest, and links are made two-way.
    """
    n_devices = check_int("n_devices", n_devices, 2, 100_000)
    neighbours = check_int("neighbours", neighbours, 1, n_devices - 1)
    position = rng.random((n_devices, 2))
    gap = position[:, None, :] - position[None, :, :]
    distance = np.einsum("ijk,ijk->ij", gap, gap)
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :neighbours]
    adjacency = np.zeros((n_devices, n_devices), dtype=bool)
    adjacency[np.arange(n_devices)[:, None], nearest] = True
    return adjacency | adjacency.T


def random_matching(neighbour_lists: list[list[int]], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random maximal matching: devices in random order pick a random free neighbour.

    Returns the two ends (a, b) of every matched pair; each device is in at
    most one pair, so the pairwise averages of one sync never collide.
    """
    n = len(neighbour_lists)
    order = rng.permutation(n).tolist()
    pick = rng.random(n).tolist()
    partner = [-1] * n
    first: list[int] = []
    second: list[int] = []
    for i in order:
        if partner[i] >= 0:
            continue
        free = [j for j in neighbour_lists[i] if partner[j] < 0]
        if free:
            j = free[int(pick[i] * len(free))]
            partner[i], partner[j] = j, i
            first.append(i)
            second.append(j)
    return np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)


# --------------------------------------------------------------------------
# radio
# --------------------------------------------------------------------------


def ble_nj_per_bit(tx_mw: float, rx_mw: float, app_mbps: float) -> float:
    """Radio energy per application bit of an exchange that sends and receives alike, nJ.

    The radio is on for the airtime the application throughput implies (headers, empty
    packets and inter-frame gaps included), at the mean of its transmit and receive
    power: mW / Mbps = nJ per bit.  nRF52840 (3 V, 1 Mbps PHY, 0 dBm): 6.4 mA TX and
    6.3 mA RX give 19.05 mW, so 23.8 nJ per bit at ~0.8 Mbps of application throughput.
    """
    tx_mw = check_number("tx_mw", tx_mw, 0.0, 1e6)
    rx_mw = check_number("rx_mw", rx_mw, 0.0, 1e6)
    app_mbps = check_number("app_mbps", app_mbps, 0.0, 1e4, low_open=True)
    return (tx_mw + rx_mw) / 2.0 / app_mbps


def radio_cost(
    bytes_on_air: float, *, ble_mbps: float, nj_per_bit: float, sync_interval_s: float,
    overhead_j: float = 0.0,
) -> tuple[float, float, float]:
    """(airtime_s, energy_j, average_power_mw) of moving ``bytes_on_air`` once per sync.

    Airtime = bits / application throughput (BLE 0.23 / ~0.80 / ~1.43 Mbps by
    PHY and data length, ~0.1 Mbps from a phone in practice); energy = bits x
    nJ/bit (:func:`ble_nj_per_bit`) plus ``overhead_j``, the fixed cost of one
    sync (scanning for the partner and setting up the connection);
    power = energy / interval.
    """
    bits = 8.0 * bytes_on_air
    airtime_s = bits / (ble_mbps * 1e6)
    energy_j = bits * nj_per_bit * 1e-9 + overhead_j
    return airtime_s, energy_j, energy_j / sync_interval_s * 1e3


# --------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------


def _per_device_accuracy(weights: np.ndarray, x_t: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Accuracy of each device's model on its own padded rows: (devices,)."""
    predicted = np.argmax(np.matmul(weights, x_t), axis=1)
    return ((predicted == labels) & mask).sum(axis=1) / mask.sum(axis=1)


def run_gossip(
    data: FederatedDataset,
    *,
    rounds: int,
    mode: Literal["gossip", "local"],
    local_steps: int,
    lr: float,
    model_bytes: float,
    ble_mbps: float,
    nj_per_bit: float = 19.0,
    sync_interval_s: float,
    overhead_j_per_exchange: float = 0.0,
    batch_size: int = 8,
    neighbours: int = 4,
    compression: float = 1.0,
    radio_budget_mw: float = 1.0,
    rng: np.random.Generator,
) -> GossipResult:
    """Train every device of ``data`` with gossip averaging or alone.

    Args:
        data: the cohort; each client is one device of the mesh.
        rounds: syncs (each preceded by local training).
        mode: 'gossip' (pairwise push-pull averaging each sync) or 'local'.
        local_steps: minibatch SGD steps per device per round; each minibatch
            is ``batch_size`` rows drawn with replacement from the device's data.
        lr: SGD learning rate.
        model_bytes: bytes of the full model on the wire (the track's model,
            e.g. a noise-profile network; the simulated model only learns).
        ble_mbps: BLE application throughput, Mbps.
        nj_per_bit: radio energy per application bit, nJ (:func:`ble_nj_per_bit`).
        sync_interval_s: seconds between syncs (for average radio power).
        overhead_j_per_exchange: fixed radio energy of one exchange (scanning
            for the partner, connection set-up), joules.
        neighbours: links per device in the mesh (before symmetrising).
        compression: share of the parameters sent per exchange, (0, 1].
        radio_budget_mw: the power budget to compare with (~1 mW, hearables).
        rng: the only source of randomness.
    """
    if not isinstance(data, FederatedDataset):
        raise ValueError(f"data must be a FederatedDataset, got {type(data).__name__}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    rounds = check_int("rounds", rounds, 1, 100_000)
    local_steps = check_int("local_steps", local_steps, 0, 10_000)
    lr = check_number("lr", lr, 0.0, 100.0, low_open=True)
    model_bytes = check_number("model_bytes", model_bytes, 0.0, 1e12, low_open=True)
    ble_mbps = check_number("ble_mbps", ble_mbps, 0.0, 1e4, low_open=True)
    nj_per_bit = check_number("nj_per_bit", nj_per_bit, 0.0, 1e9)
    sync_interval_s = check_number("sync_interval_s", sync_interval_s, 0.0, 1e9, low_open=True)
    batch_size = check_int("batch_size", batch_size, 1, 100_000)
    neighbours = check_int("neighbours", neighbours, 1, data.n_clients - 1)
    compression = check_number("compression", compression, 0.0, 1.0, low_open=True)
    radio_budget_mw = check_number("radio_budget_mw", radio_budget_mw, 0.0, 1e9, low_open=True)
    check_generator(rng)

    n, k, d1 = data.n_clients, data.n_classes, data.n_features + 1
    adjacency = mesh_graph(n, neighbours, rng)
    neighbour_lists = [np.flatnonzero(row).tolist() for row in adjacency]
    x_aug = with_bias(data.x)
    holdout_t = np.ascontiguousarray(with_bias(data.x_holdout).transpose(0, 2, 1))
    device = np.arange(n)[:, None]
    step_scale = np.full((n, batch_size), lr / batch_size, dtype=MODEL_DTYPE)
    classes = np.arange(k)[:, None, None]
    all_active = np.array([n])

    weights = np.zeros((n, k, d1), dtype=MODEL_DTYPE)
    own_per_round = np.empty(rounds)
    exchanged = 0
    for r in range(rounds):
        for _ in range(local_steps):
            rows = (rng.random((n, batch_size)) * data.n_samples[:, None]).astype(np.int64)
            x = x_aug[device, rows]
            target = ((classes == data.y[device, rows][None]) * step_scale[None]).astype(MODEL_DTYPE)
            local_sgd(weights, x, target, step_scale, all_active, batch_size, 1)
        if mode == "gossip":
            a, b = random_matching(neighbour_lists, rng)
            exchanged += 2 * a.shape[0]
            mean = 0.5 * (weights[a] + weights[b])
            if compression < 1.0:
                shared = rng.random(mean.shape) < compression
                weights[a] = np.where(shared, mean, weights[a])
                weights[b] = np.where(shared, mean, weights[b])
            else:
                weights[a] = mean
                weights[b] = mean
        own = _per_device_accuracy(weights, holdout_t, data.y_holdout, data.holdout_mask)
        own_per_round[r] = own.mean()

    # Each device's model over the global test set, block by block (see column_blocks).
    test_blocks = column_blocks(with_bias(data.x_test))
    scores = np.matmul(weights[:, None], test_blocks[None])  # (devices, blocks, classes, block)
    predicted = np.argmax(scores, axis=2).reshape(n, -1)[:, : data.y_test.shape[0]]
    global_acc = (predicted == data.y_test[None, :]).mean(axis=1)

    exchange_share = exchanged / (n * rounds) if mode == "gossip" else 0.0
    bytes_per_exchange = model_bytes * compression if mode == "gossip" else 0.0
    bytes_sent = exchange_share * bytes_per_exchange
    # A device in an exchange also receives its partner's model.
    airtime_s, energy_j, power_mw = radio_cost(
        2.0 * bytes_sent, ble_mbps=ble_mbps, nj_per_bit=nj_per_bit, sync_interval_s=sync_interval_s,
        overhead_j=exchange_share * overhead_j_per_exchange)
    return GossipResult(
        mode=mode,
        own_accuracy=own, global_accuracy=global_acc,
        own_accuracy_mean=float(own.mean()), own_accuracy_std=float(own.std()),
        global_accuracy_mean=float(global_acc.mean()), global_accuracy_std=float(global_acc.std()),
        own_accuracy_per_round=own_per_round,
        mean_degree=float(adjacency.sum(axis=1).mean()),
        exchange_share=float(exchange_share),
        bytes_per_exchange=float(bytes_per_exchange),
        bytes_sent_per_sync=float(bytes_sent),
        airtime_per_sync_s=airtime_s, radio_energy_per_sync_j=energy_j,
        radio_power_mw=power_mw, radio_budget_mw=radio_budget_mw,
        radio_budget_share=power_mw / radio_budget_mw,
    )
