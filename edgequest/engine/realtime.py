"""North Stars as guardrails: does a training job sharing the device leave the real-time loop
its time, and (on a microcontroller) its power?

The loop. Once per ``period`` the loop must finish its own work: a fixed share the rest of the
pipeline takes (sensors, planning, rendering; the mission's figure) plus one forward pass of
the network, timed by the roofline (Williams et al., CACM 2009): max(FLOPs / rate, bytes /
bandwidth).

The intrusion. A training job on the same processor is a sequence of kernels, one per layer and
pass (forward, input gradient, weight gradient). An accelerator runs a launched kernel to
completion before the loop's next kernel gets the engine, so the loop can wait for at most
one training kernel: worst-case latency = loop work + the longest training kernel. Every layer
runs forward in a training step whatever trains, so that kernel is set by the batch and the
processor, not by the method: a large batch makes long kernels. (Finer preemption would only
shorten the wait; this is the bound a safety case has to use.)

Power. A microcontroller draws its active power while it computes and its sleep power
otherwise; the mean power over a day = sleep + (active - sleep) x busy share, where busy time
counts the loop's inferences and the day's training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgequest.engine.architectures import Architecture
from edgequest.engine.energy import _nonnegative_float, _positive_float
from edgequest.engine.memory import _check_arch, _check_int

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class LoopBudget:
    """One period of a real-time loop with a training job beside it (times in seconds)."""

    period_s: float
    loop_s: float  # the loop's own work in a period
    blocking_s: float  # the longest training kernel the loop may wait for
    worst_s: float  # loop_s + blocking_s

    @property
    def slack_s(self) -> float:
        return self.period_s - self.worst_s

    @property
    def met(self) -> bool:
        return self.worst_s <= self.period_s


def _kernel_times(arch: Architecture, batch: int, act_bytes: float, weight_bytes: float,
                  rate: float, bandwidth: float) -> np.ndarray:
    """Roofline time of each layer's forward kernel at ``batch``."""
    a = arch.arrays
    params = a.weight_params + a.bias_params + a.norm_scale_params + a.norm_shift_params
    flops = 2.0 * a.macs * batch
    moved = (a.input_elems + a.output_elems) * batch * act_bytes + params * weight_bytes
    return np.maximum(flops / rate, moved / bandwidth)


def forward_time_s(arch: Architecture, *, batch: int = 1, bytes_per_value: float = 1.0,
                   compute_flops_per_s: float, memory_bandwidth_bytes_per_s: float) -> float:
    """One forward pass, layer by layer on the roofline (int8 by default, as deployed)."""
    return float(_checked_kernel_times(arch, batch, bytes_per_value, compute_flops_per_s,
                                       memory_bandwidth_bytes_per_s).sum())


def longest_training_kernel_s(arch: Architecture, *, batch: int, bytes_per_value: float = 4.0,
                              compute_flops_per_s: float, memory_bandwidth_bytes_per_s: float) -> float:
    """The longest kernel of a training step at ``batch``: the slowest layer's forward pass
    (its input- and weight-gradient kernels do the same multiply-accumulates over the same
    sizes of tensor)."""
    return float(_checked_kernel_times(arch, batch, bytes_per_value, compute_flops_per_s,
                                       memory_bandwidth_bytes_per_s).max())


def _checked_kernel_times(arch: object, batch: object, bytes_per_value: object, compute_flops_per_s: object,
                          memory_bandwidth_bytes_per_s: object) -> np.ndarray:
    """Each layer's kernel time on the roofline, the arguments checked first."""
    checked = _check_arch(arch)
    n = _check_int("batch", batch, 1, 1_000_000, "an integer from 1 to 1000000")
    size = _positive_float("bytes_per_value", bytes_per_value)
    rate = _positive_float("compute_flops_per_s", compute_flops_per_s)
    bandwidth = _positive_float("memory_bandwidth_bytes_per_s", memory_bandwidth_bytes_per_s)
    return _kernel_times(checked, n, size, size, rate, bandwidth)


def loop_budget(*, period_s: float, loop_s: float, blocking_s: float) -> LoopBudget:
    """The loop's worst case in one period when a training kernel may be running as it starts."""
    period = _positive_float("period_s", period_s)
    loop = _nonnegative_float("loop_s", loop_s)
    blocking = _nonnegative_float("blocking_s", blocking_s)
    return LoopBudget(period_s=period, loop_s=loop, blocking_s=blocking, worst_s=loop + blocking)


def mean_power_w(*, active_w: float, sleep_w: float, busy_s_per_day: float) -> float:
    """Mean power over a day of a device busy ``busy_s_per_day`` seconds and asleep otherwise.
    Busy time beyond a whole day is a day's work that does not fit: the device never sleeps."""
    active = _positive_float("active_w", active_w)
    sleep = _nonnegative_float("sleep_w", sleep_w)
    busy = min(_nonnegative_float("busy_s_per_day", busy_s_per_day), SECONDS_PER_DAY)
    return sleep + (active - sleep) * busy / SECONDS_PER_DAY
