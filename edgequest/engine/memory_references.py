"""Published reference formulas the memory model is checked against.

Neither is used to play the game: they restate a paper's own accounting so tests can compare
the per-layer model (``memory.py``) with it.
"""

from __future__ import annotations

from edgequest.engine.architectures import Architecture
from edgequest.engine.memory import _MAX_BATCH, _check_arch, _check_int, activation_account, training_plan


def korthikanti_activation_bytes(*, seq_len: int, batch: int, hidden: int, heads: int) -> int:
    """Stored activations of one GPT-style transformer layer at 16-bit, no recomputation:
    34*s*b*h + 5*a*s^2*b bytes (Korthikanti et al., MLSys 2023, Eq. 1). Used as a cross-check
    of the per-operator accounting above (which differs by design: Llama has no dropout and a
    SwiGLU MLP)."""
    s = _check_int("seq_len", seq_len, 1, 1 << 20, "a positive integer")
    b = _check_int("batch", batch, 1, _MAX_BATCH, "a positive integer")
    h = _check_int("hidden", hidden, 1, 1 << 20, "a positive integer")
    a = _check_int("heads", heads, 1, 1 << 16, "a positive integer")
    return 34 * s * b * h + 5 * a * s * s * b


def tinytl_reported_memory(
    arch: Architecture,
    *,
    method: str,
    batch: int = 8,
    layers: int = 1,
    rank: int = 16,
    targets: tuple[str, ...] | list[str] | None = None,
) -> int:
    """Training memory in bytes as TinyTL's own profiler counts it, for checking its Table 2.

    The authors' ``profile_memory_cost`` (mit-han-lab tinyML) counts trainable parameters at
    32 bits, frozen parameters at 8 bits and the fp32 activation peak at the batch size, and
    leaves out gradients and optimizer state. ``training_memory`` adds those back; for methods
    with many small trainable modules (TinyTL's lite residuals under Adam) that is what
    separates the two.
    """
    arch = _check_arch(arch)
    batch = _check_int("batch", batch, 1, _MAX_BATCH, f"an integer from 1 to {_MAX_BATCH}")
    plan = training_plan(arch, method=method, layers=layers, rank=rank, targets=targets)
    acts = activation_account(arch, plan, batch=batch, activation_bytes=4)
    frozen = arch.total_params - plan.trainable_base_params
    return plan.trainable_params * 4 + frozen * 1 + acts.peak_bytes
