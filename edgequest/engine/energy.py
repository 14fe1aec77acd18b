"""Energy of an on-device adaptation session, and what it costs the battery.

Compute. Forward FLOPs = 2 x multiply-accumulates (MACs) of every layer. Backward, per layer
on the gradient path (from the loss down to the earliest trainable layer):
- the gradient with respect to the layer's input costs one forward's MACs, needed only for
  layers above the earliest trainable one (attention: two forwards, for dQ, dK, dV and dP);
- the gradient with respect to its weights costs another forward's MACs, only if its weights
  train;
- adapters (LoRA, lite residuals) cost twice their forward MACs (weight and input gradients);
- a bias gradient is a sum over the output: one add per output element.
So full fine-tuning costs ~2x the forward in backward, the familiar 6 FLOPs per parameter per
token of Kaplan et al. (2020); fine-tuning only the last layers skips the backward of
everything below them; bias-only still runs input gradients through the whole network but no
weight gradients (~1x forward). Optimizer update FLOPs per trainable parameter are counted
from the update rules: SGD 2 (w -= lr*g), momentum 4, Adam 12 (Kingma & Ba 2015, Alg. 1).

Memory traffic (a first-order roofline count: every tensor crosses DRAM once per use, no
reuse between layers): forward reads all weights and each layer's input and writes its
output; backward reads the stored activations, each on-path layer's output gradient and
writes its input gradient, re-reads the weights it multiplies by; the optimizer reads weights,
gradients and states and writes weights and states.

Time per step = max(FLOPs / compute rate, bytes / bandwidth) (Williams et al., "Roofline",
CACM 2009); energy = processor power x time + DRAM traffic x energy per bit. The processor's
power does not include its DRAM: every byte that crosses the DRAM interface costs
``dram_pj_per_bit`` x 8 pJ on top (about 4 pJ/bit for LPDDR5-class or HBM2 DRAM, O'Connor et
al., "Fine-Grained DRAM", MICRO 2017), whichever processor streams it. Battery share = session Wh x sessions per day /
battery Wh (book, Edge Intelligence chapter: a 4.5 W, 30-minute job is 15% of a 15 Wh
battery; the policy keeps adaptation under 5% per day).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgequest.engine.architectures import Architecture
from edgequest.engine.checks import check_number
from edgequest.engine.memory import (
    _check_arch,
    _check_choice as _choice,
    _check_int,
    OPTIMIZER_STATES,
    OPTIMIZERS,
    PRECISIONS,
    INFERENCE_PRECISIONS,
    TRAINING_PRECISIONS,
    TrainingPlan,
    activation_account,
    training_plan,
)

BOOK_BATTERY_POLICY_PERCENT_PER_DAY = 5.0  # book: adaptation should stay under 5% a day
SECONDS_PER_HOUR = 3600.0
JOULES_PER_WH = 3600.0

# FLOPs of one optimizer update per trainable parameter, counted from the update equations.
OPTIMIZER_UPDATE_FLOPS: dict[str, int] = {"sgd": 2, "sgd_momentum": 4, "adam": 12, "adamw": 12}

_MAX_SAMPLES = 10**12


@dataclass(frozen=True)
class FlopCount:
    """FLOPs per sample of one training step (optimizer update excluded)."""

    forward_flops: int
    backward_flops: int

    @property
    def total_flops(self) -> int:
        return self.forward_flops + self.backward_flops


@dataclass(frozen=True)
class StepCost:
    """Work of one step at a given batch: FLOPs and bytes moved."""

    batch: int
    flops: int
    bytes_moved: int


@dataclass(frozen=True)
class SessionEnergy:
    """Energy of a session of ``samples`` samples on one device (roofline time x power)."""

    samples: int
    steps: int
    flops: int
    bytes_moved: int
    compute_time_s: float
    memory_time_s: float
    time_s: float
    energy_j: float
    energy_wh: float
    bound: str  # 'compute' or 'memory': which roofline limit set most of the time
    dram_energy_j: float = 0.0  # the DRAM-traffic share of energy_j

    @property
    def energy_per_sample_j(self) -> float:
        return self.energy_j / self.samples


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _positive_float(name: str, value: object) -> float:
    return check_number(name, value, 0.0, low_open=True, accepted="a positive finite number")


def _nonnegative_float(name: str, value: object) -> float:
    return check_number(name, value, 0.0, accepted="a finite number >= 0")


# --------------------------------------------------------------------------------------------
# FLOPs and traffic
# --------------------------------------------------------------------------------------------


def _flops_for_plan(arch: Architecture, plan: TrainingPlan) -> FlopCount:
    a = arch.arrays
    idx = np.arange(len(arch.layers))
    through = idx > plan.first_layer
    matmul = np.isin(a.kind, ("linear", "conv", "dwconv"))
    attention = a.kind == "attention"
    forward_macs = int(a.macs.sum()) + plan.added_macs
    input_grad_macs = int(a.macs[through & matmul].sum()) + 2 * int(a.macs[through & attention].sum())
    weight_grad_macs = int(a.macs[plan.train_weight & matmul].sum())
    adapter_macs = 2 * plan.added_macs
    has_shift = (a.bias_params + a.norm_shift_params) > 0
    bias_adds = int(a.output_elems[(plan.train_bias | plan.train_norm) & has_shift].sum())
    return FlopCount(
        forward_flops=2 * forward_macs,
        backward_flops=2 * (input_grad_macs + weight_grad_macs + adapter_macs) + bias_adds,
    )


def training_flops_per_sample(
    arch: Architecture,
    *,
    method: str,
    layers: int = 3,
    rank: int = 16,
    targets: tuple[str, ...] | list[str] | None = None,
) -> FlopCount:
    """Forward and backward FLOPs per sample of a fine-tuning method (rules in the module
    docstring)."""
    arch = _check_arch(arch)
    return _flops_for_plan(arch, training_plan(arch, method=method, layers=layers, rank=rank, targets=targets))


def inference_flops_per_sample(arch: Architecture) -> int:
    """Forward FLOPs per sample: 2 x MACs."""
    return 2 * _check_arch(arch).forward_macs


def _training_step_cost(arch: Architecture, plan: TrainingPlan, batch: int, precision: str, optimizer: str) -> StepCost:
    spec = PRECISIONS[precision]
    a = arch.arrays
    idx = np.arange(len(arch.layers))
    on_path = idx >= plan.first_layer
    through = idx > plan.first_layer
    flops = _flops_for_plan(arch, plan)
    trainable = plan.trainable_params
    per_param_state = spec.master_bytes + OPTIMIZER_STATES[optimizer] * spec.state_bytes

    act = spec.activation_bytes
    params = a.weight_params + a.bias_params + a.norm_scale_params + a.norm_shift_params
    forward_bytes = (arch.total_params + plan.added_params) * spec.weight_bytes
    forward_bytes += int((a.input_elems + a.output_elems).sum()) * batch * act
    stored = activation_account(arch, plan, batch=batch, activation_bytes=act).stored_bytes
    backward_bytes = stored
    backward_bytes += (int(a.output_elems[on_path].sum()) + int(a.input_elems[through].sum())) * batch * act
    backward_bytes += (int(params[through].sum()) + plan.added_params) * spec.weight_bytes
    update_bytes = 2 * trainable * (spec.grad_bytes + spec.weight_bytes + per_param_state)
    return StepCost(
        batch=batch,
        flops=flops.total_flops * batch + OPTIMIZER_UPDATE_FLOPS[optimizer] * trainable,
        bytes_moved=forward_bytes + backward_bytes + update_bytes,
    )


def training_step_cost(
    arch: Architecture,
    *,
    method: str,
    batch: int,
    precision: str = "fp32",
    optimizer: str = "adam",
    layers: int = 3,
    rank: int = 16,
    targets: tuple[str, ...] | list[str] | None = None,
) -> StepCost:
    """FLOPs and DRAM bytes of one training step (forward, backward, optimizer update).

    Update traffic per trainable parameter: write its gradient, then read weight, gradient and
    optimizer state and write weight and state back.
    """
    arch = _check_arch(arch)
    batch = _check_int("batch", batch, 1, 1_000_000, "an integer from 1 to 1000000")
    precision = _choice("precision", precision, TRAINING_PRECISIONS)
    optimizer = _choice("optimizer", optimizer, OPTIMIZERS)
    plan = training_plan(arch, method=method, layers=layers, rank=rank, targets=targets)
    return _training_step_cost(arch, plan, batch, precision, optimizer)


def _inference_step_cost(arch: Architecture, batch: int, precision: str) -> StepCost:
    spec = PRECISIONS[precision]
    a = arch.arrays
    traffic = arch.total_params * spec.weight_bytes + int((a.input_elems + a.output_elems).sum()) * batch * spec.activation_bytes
    return StepCost(batch=batch, flops=2 * arch.forward_macs * batch, bytes_moved=traffic)


# --------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------


def _session(
    samples: int,
    cost_full: StepCost,
    cost_rest: StepCost | None,
    full_steps: int,
    compute_flops_per_s: float,
    memory_bandwidth_bytes_per_s: float | None,
    power_w: float,
    dram_pj_per_bit: float = 0.0,
) -> SessionEnergy:
    def times(cost: StepCost) -> tuple[float, float]:
        compute = cost.flops / compute_flops_per_s
        memory = 0.0 if memory_bandwidth_bytes_per_s is None else cost.bytes_moved / memory_bandwidth_bytes_per_s
        return compute, memory

    steps = full_steps + (1 if cost_rest is not None else 0)
    flops = cost_full.flops * full_steps
    moved = cost_full.bytes_moved * full_steps
    c_full, m_full = times(cost_full)
    compute_t, memory_t = c_full * full_steps, m_full * full_steps
    time_s = max(c_full, m_full) * full_steps
    if cost_rest is not None:
        c_rest, m_rest = times(cost_rest)
        flops += cost_rest.flops
        moved += cost_rest.bytes_moved
        compute_t += c_rest
        memory_t += m_rest
        time_s += max(c_rest, m_rest)
    dram_j = moved * 8 * dram_pj_per_bit * 1e-12
    energy_j = power_w * time_s + dram_j
    return SessionEnergy(
        samples=samples,
        steps=steps,
        flops=flops,
        bytes_moved=moved,
        compute_time_s=compute_t,
        memory_time_s=memory_t,
        time_s=time_s,
        energy_j=energy_j,
        energy_wh=energy_j / JOULES_PER_WH,
        bound="compute" if compute_t >= memory_t else "memory",
        dram_energy_j=dram_j,
    )


def adaptation_energy(
    arch: Architecture,
    *,
    method: str,
    samples: int,
    compute_flops_per_s: float,
    power_w: float,
    memory_bandwidth_bytes_per_s: float | None = None,
    epochs: int = 1,
    batch: int = 8,
    precision: str = "fp32",
    optimizer: str = "adam",
    layers: int = 3,
    rank: int = 16,
    targets: tuple[str, ...] | list[str] | None = None,
    dram_pj_per_bit: float = 0.0,
) -> SessionEnergy:
    """Energy of one adaptation session: ``epochs`` passes over ``samples`` samples.

    ``compute_flops_per_s`` is the rate the device sustains on this work (derate peak TOPS
    yourself); ``memory_bandwidth_bytes_per_s`` may be None where memory runs at core speed
    (an MCU's SRAM), leaving compute as the only limit; ``power_w`` is the device's draw while
    it trains, without its DRAM; ``dram_pj_per_bit`` charges every byte moved (0 where memory
    is on chip). The last step takes the leftover samples as a smaller batch.
    """
    arch = _check_arch(arch)
    samples = _check_int("samples", samples, 1, _MAX_SAMPLES, f"an integer from 1 to {_MAX_SAMPLES}")
    epochs = _check_int("epochs", epochs, 1, 100_000, "an integer from 1 to 100000")
    batch = _check_int("batch", batch, 1, 1_000_000, "an integer from 1 to 1000000")
    precision = _choice("precision", precision, TRAINING_PRECISIONS)
    optimizer = _choice("optimizer", optimizer, OPTIMIZERS)
    rate = _positive_float("compute_flops_per_s", compute_flops_per_s)
    bandwidth = None if memory_bandwidth_bytes_per_s is None else _positive_float(
        "memory_bandwidth_bytes_per_s", memory_bandwidth_bytes_per_s
    )
    power = _positive_float("power_w", power_w)
    plan = training_plan(arch, method=method, layers=layers, rank=rank, targets=targets)
    total = samples * epochs
    full_steps, rest = divmod(total, batch)
    cost_full = _training_step_cost(arch, plan, batch, precision, optimizer)
    cost_rest = _training_step_cost(arch, plan, rest, precision, optimizer) if rest else None
    dram = _nonnegative_float("dram_pj_per_bit", dram_pj_per_bit)
    return _session(total, cost_full, cost_rest, full_steps, rate, bandwidth, power, dram)


def inference_energy(
    arch: Architecture,
    *,
    samples: int,
    compute_flops_per_s: float,
    power_w: float,
    memory_bandwidth_bytes_per_s: float | None = None,
    batch: int = 1,
    precision: str = "fp32",
    dram_pj_per_bit: float = 0.0,
) -> SessionEnergy:
    """Energy of running inference on ``samples`` samples, by the same roofline model."""
    arch = _check_arch(arch)
    samples = _check_int("samples", samples, 1, _MAX_SAMPLES, f"an integer from 1 to {_MAX_SAMPLES}")
    batch = _check_int("batch", batch, 1, 1_000_000, "an integer from 1 to 1000000")
    precision = _choice("precision", precision, INFERENCE_PRECISIONS)
    rate = _positive_float("compute_flops_per_s", compute_flops_per_s)
    bandwidth = None if memory_bandwidth_bytes_per_s is None else _positive_float(
        "memory_bandwidth_bytes_per_s", memory_bandwidth_bytes_per_s
    )
    power = _positive_float("power_w", power_w)
    full_steps, rest = divmod(samples, batch)
    cost_rest = _inference_step_cost(arch, rest, precision) if rest else None
    dram = _nonnegative_float("dram_pj_per_bit", dram_pj_per_bit)
    return _session(samples, _inference_step_cost(arch, batch, precision), cost_rest, full_steps, rate, bandwidth, power, dram)


def training_to_inference_energy_ratio(training: SessionEnergy, inference: SessionEnergy) -> float:
    """How many times more energy a training sample costs than an inference sample.

    At equal device power this is also how much faster adaptation drains the battery than
    serving the same number of samples.
    """
    if not isinstance(training, SessionEnergy) or not isinstance(inference, SessionEnergy):
        raise ValueError("training, inference: accepted: SessionEnergy results of adaptation_energy and inference_energy")
    return training.energy_per_sample_j / inference.energy_per_sample_j


def session_energy_wh(power_w: float, duration_s: float) -> float:
    """Energy in Wh of drawing ``power_w`` watts for ``duration_s`` seconds."""
    return _positive_float("power_w", power_w) * _nonnegative_float("duration_s", duration_s) / SECONDS_PER_HOUR


def battery_percent_per_day(session_wh: float, sessions_per_day: float, battery_wh: float) -> float:
    """Share of the battery, in percent, that ``sessions_per_day`` sessions use each day.

    Book anchor: 4.5 W for 30 minutes is 2.25 Wh, 15% of a 15 Wh phone battery.
    """
    wh = _nonnegative_float("session_wh", session_wh)
    per_day = _nonnegative_float("sessions_per_day", sessions_per_day)
    battery = _positive_float("battery_wh", battery_wh)
    return 100.0 * wh * per_day / battery


def within_battery_policy(percent_per_day: float, limit_percent: float = BOOK_BATTERY_POLICY_PERCENT_PER_DAY) -> bool:
    """True if a daily battery share stays under the limit (book policy: < 5% per day)."""
    return _nonnegative_float("percent_per_day", percent_per_day) < _positive_float("limit_percent", limit_percent)
