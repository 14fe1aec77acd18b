"""Training-memory waterfall: weights, gradients, optimizer state and activations per method.

The model walks an architecture's layer table (``architectures.py``) and decides, layer by
layer, which tensors the backward pass must keep. The rules, with their sources:

- A weight gradient dW = x^T dy needs the layer's input x; a bias gradient db = sum(dy) needs
  nothing stored (Cai et al., TinyTL, NeurIPS 2020, Sec. 3.1).
- ReLU/ReLU6 backward needs only a 1-bit mask of where the unit was active; smooth
  nonlinearities (SiLU, h-swish, GELU) need their full input (TinyTL, Sec. 3.1).
- Batch norm with trainable scale/shift runs on batch statistics and its backward needs its
  input; a frozen batch norm is a fixed affine map and needs nothing. RMSNorm needs its input
  to pass any gradient through (its 1/rms factor depends on the input).
- Attention needs Q, K, V and the softmax output to pass a gradient; the SwiGLU product needs
  the gate and up projections; the loss needs the class probabilities (Korthikanti et al.,
  "Reducing Activation Recomputation in Large Transformer Models", MLSys 2023, Sec. 4.1).
- Gradients only flow from the loss down to the earliest trainable layer. Layers before it
  store nothing; layers after it store what carrying the gradient needs, and layers whose
  weights train also store their inputs. (The network is treated as a chain in forward
  order: exact for plain stacks, and for residual nets it counts the parallel shortcut of the
  very first trainable block as on the path.)
- Each tensor is stored once, at the highest precision any rule asks for it (a ReLU mask is
  free when the same tensor is already kept in full for the next layer's weight gradient).

Peak activation memory follows TinyTL's memory profiler (mit-han-lab tinyML,
``profile_memory_cost``): the maximum over layers of (tensors stored so far + the layer's live
working set: its input, output and any residual held for a skip connection).

Two phases set the activation peak, and the waterfall reports both: the tensors *stored for
backward* (all of them are held when the backward pass starts) and the forward pass's
*transient working set* (a layer's input, output and held skip, freed as soon as the next
layer has run) on top of what was stored before it. The peak is the larger phase. This is
TinyTL's accounting: ReLU keeps a 1-bit mask, a frozen batch norm keeps nothing. A PyTorch
eager run keeps more (measured with saved-tensor hooks, fp32, 224 px: MobileNetV2 full
fine-tuning saves 626 MB at batch 8 where this accounting gives about 432 MB, because eager
ReLU6 and batch norm keep full tensors); ResNet-50's figures agree within 5%.

Bytes per parameter (Rajbhandari et al., ZeRO, SC 2020, Sec. 3.1): mixed-precision Adam keeps
16-bit weights (2) + 16-bit gradients (2) + fp32 master weights, momentum and variance (12) =
16 B; fp32 Adam keeps 4 + 4 + 8 = 16 B. Adam keeps two states per trainable parameter, SGD with
momentum one, plain SGD none. A bf16 model trains in mixed precision by default
(``training_precision_for``); keeping the master copy and moments in bf16 ('bf16') is an
explicit choice.

1 MB = 1e6 bytes throughout (``to_mb``); 1 KiB = 1024 bytes for the MCU SRAM wall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgequest.engine.architectures import Architecture, lite_residual_kernel
from edgequest.engine.checks import check_choice as _check_choice
from edgequest.engine.checks import check_int as _check_int

METHODS: tuple[str, ...] = ("full", "last_k", "lora", "tinytl", "bias", "norm_last")
OPTIMIZERS: tuple[str, ...] = ("sgd", "sgd_momentum", "adam", "adamw")
TRAINING_PRECISIONS: tuple[str, ...] = ("fp32", "mixed", "bf16")
INFERENCE_PRECISIONS: tuple[str, ...] = ("fp32", "mixed", "bf16", "fp16", "int8")

# Optimizer states per trainable parameter (Kingma & Ba 2015 for Adam: first and second moments).
OPTIMIZER_STATES: dict[str, int] = {"sgd": 0, "sgd_momentum": 1, "adam": 2, "adamw": 2}

# Roles LoRA may adapt: linear maps of a transformer, and for CNNs the 1x1 (pointwise) convs,
# dense kxk convs and the classifier. Depthwise convs have no low-rank structure to exploit.
LORA_ROLES = frozenset({"q", "k", "v", "o", "gate", "up", "down", "lm_head", "pw", "conv", "classifier"})

NRF52840_SRAM_BYTES = 256 * 1024
NRF52840_FLASH_BYTES = 1024 * 1024

# TinyTL's published lite residual (mit-han-lab tinyML, tinytl_fgvc_train.py defaults):
# 2x2 average pool, group conv with 2 groups and kernel <= 5, middle width = expand x the
# block's input channels rounded to a multiple of 8, expand = 1.
# The game's width control for TinyTL is ``rank``: expand = rank / 16, so rank 16 is the
# published module, rank 64 four times as wide, rank 1 the narrowest (8 channels).
LITE_GROUPS = 2
LITE_DIVISOR = 8
LITE_PAPER_RANK = 16

_BYTES_PER_MB = 1_000_000
_MAX_BATCH = 1_000_000
_MAX_RANK = 65_536


@dataclass(frozen=True)
class PrecisionSpec:
    """Bytes per element for one training or inference precision.

    ``master_bytes`` is the extra full-precision copy mixed precision keeps for each trainable
    parameter; ``state_bytes`` is the size of one optimizer state per trainable parameter.
    """

    name: str
    weight_bytes: int
    grad_bytes: int
    activation_bytes: int
    master_bytes: int
    state_bytes: int


PRECISIONS: dict[str, PrecisionSpec] = {
    "fp32": PrecisionSpec("fp32", 4, 4, 4, 0, 4),
    # fp16/bf16 weights, gradients and activations; fp32 master copy and Adam moments (ZeRO).
    "mixed": PrecisionSpec("mixed", 2, 2, 2, 4, 4),
    # Pure 16-bit training, an explicit choice: weights, gradients and optimizer states all
    # in bf16, no master copy (8 B/param with Adam instead of 16).
    "bf16": PrecisionSpec("bf16", 2, 2, 2, 0, 2),
    # Inference-only precisions.
    "fp16": PrecisionSpec("fp16", 2, 2, 2, 0, 2),
    "int8": PrecisionSpec("int8", 1, 1, 1, 0, 1),
}


@dataclass(frozen=True)
class LiteResidual:
    """One TinyTL lite residual module (Cai et al., NeurIPS 2020, Sec. 3.2).

    Design from the authors' code (``LiteResidualModule``): 2x2 average pool of the block
    input, a group conv (2 groups, kernel <= 5, the block's stride), batch norm, ReLU, a 1x1
    conv to the block's output channels, batch norm, bilinear upsample, added to the block
    output. Every tensor inside is stored (all its parameters train); the pooling and upsample
    are linear and store nothing.
    """

    block: int
    first_layer: int
    params: int
    stored_elems: int  # per sample
    macs: int  # per sample


@dataclass(frozen=True)
class TrainingPlan:
    """Which parameters train under a method, layer by layer.

    Boolean arrays are indexed like ``arch.layers``. ``lora_rank`` is the adapter rank on each
    layer (0 = none). ``first_layer`` is the earliest layer holding anything trainable: the
    backward pass stops there.
    """

    method: str
    train_weight: np.ndarray
    train_bias: np.ndarray
    train_norm: np.ndarray
    lora_rank: np.ndarray
    lite_residuals: tuple[LiteResidual, ...]
    first_layer: int
    trainable_base_params: int
    added_params: int
    added_macs: int  # per sample, forward MACs of the adapters

    @property
    def trainable_params(self) -> int:
        return self.trainable_base_params + self.added_params


@dataclass(frozen=True)
class ActivationAccount:
    """Activation bytes for one step at a given batch and activation precision."""

    stored_bytes: int  # kept for backward: all held when the backward pass starts
    peak_bytes: int  # TinyTL-style peak: the larger of the two phases
    per_layer_stored_bytes: np.ndarray  # bytes first stored at each layer
    forward_peak_bytes: int = 0  # stored so far + the transient working set, at its worst layer
    transient_bytes: int = 0  # the transient working set at that layer

    @property
    def peak_phase(self) -> str:
        """'forward' when the forward pass's working set sets the peak, else 'backward'."""
        return "forward" if self.forward_peak_bytes > self.stored_bytes else "backward"


@dataclass(frozen=True)
class MemoryWaterfall:
    """Training memory by category, in bytes, with the inference baseline for comparison.

    ``activations_bytes`` is the peak activation memory of a training step, the larger of two
    phases: the tensors stored for backward (``stored_activations_bytes``, all held when
    backward starts) and the forward pass at its worst layer (what was stored before it plus
    ``transient_bytes``, that layer's working set); ``peak_phase`` names the larger. ``inference_bytes`` is the same network's inference
    memory at the same batch and precision (weights + peak live activations); ``amplification`` = total / inference.
    """

    architecture: str
    method: str
    batch: int
    precision: str
    optimizer: str
    weights_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    activations_bytes: int
    stored_activations_bytes: int
    total_bytes: int
    inference_bytes: int
    trainable_params: int
    total_params: int
    amplification: float
    transient_bytes: int = 0  # forward working set at the forward peak
    peak_phase: str = "backward"  # which phase sets activations_bytes

    def to_mb(self) -> dict[str, float]:
        """The byte fields in MB (1 MB = 1e6 bytes)."""
        return {
            "weights_mb": self.weights_bytes / _BYTES_PER_MB,
            "gradients_mb": self.gradients_bytes / _BYTES_PER_MB,
            "optimizer_mb": self.optimizer_bytes / _BYTES_PER_MB,
            "activations_mb": self.activations_bytes / _BYTES_PER_MB,
            "stored_activations_mb": self.stored_activations_bytes / _BYTES_PER_MB,
            "transient_mb": self.transient_bytes / _BYTES_PER_MB,
            "total_mb": self.total_bytes / _BYTES_PER_MB,
            "inference_mb": self.inference_bytes / _BYTES_PER_MB,
        }


@dataclass(frozen=True)
class McuMemory:
    """On-device training memory on a microcontroller, split by where it must live.

    Frozen weights are executed in place from flash (read-only, ``frozen_weight_bytes`` each,
    int8 by default). SRAM holds the trainable copies, their gradients and optimizer state, and
    the activations (stored tensors plus the working buffer the forward pass runs in).
    """

    architecture: str
    method: str
    batch: int
    optimizer: str
    sram_bytes: int
    flash_bytes: int
    trainable_weights_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    activations_bytes: int
    trainable_params: int
    total_params: int
    stored_activations_bytes: int = 0
    transient_bytes: int = 0
    peak_phase: str = "backward"

    def fits(self, sram_budget_bytes: int = NRF52840_SRAM_BYTES, flash_budget_bytes: int = NRF52840_FLASH_BYTES) -> bool:
        """True if both SRAM and flash stay within budget (nRF52840: 256 KiB, 1 MiB)."""
        return self.sram_bytes <= sram_budget_bytes and self.flash_bytes <= flash_budget_bytes


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def supported_methods(arch: Architecture) -> tuple[str, ...]:
    """Methods that apply to an architecture.

    'bias' and 'tinytl' need bias terms and residual blocks to attach to: Llama-3 has no
    biases at all, so transformers get full, last_k, lora and norm_last.
    """
    if arch.family == "transformer":
        return ("full", "last_k", "lora", "norm_last")
    return METHODS


def _check_weight_bytes(value: object) -> float:
    # 0.5 B is a 4-bit base, as QLoRA stores it (Dettmers et al., 2023: NF4 frozen weights).
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or value not in (0.5, 1, 2, 4):
        raise ValueError(
            f"frozen_weight_bytes: got {value!r}; accepted: 0.5 (4-bit), 1 (int8), 2 (16-bit) or 4 (fp32)"
        )
    return float(value)


def _check_arch(arch: object) -> Architecture:
    if not isinstance(arch, Architecture):
        raise ValueError(f"arch: got {type(arch).__name__}; accepted: an Architecture from get_architecture()")
    return arch


def _lora_targets(arch: Architecture, targets: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if targets is None:
        return arch.default_lora_targets
    if isinstance(targets, str) or not isinstance(targets, (tuple, list)) or not targets:
        raise ValueError(f"targets: got {targets!r}; accepted: a non-empty tuple of layer roles")
    available = sorted(LORA_ROLES & arch.roles)
    for role in targets:
        if role not in available:
            raise ValueError(f"targets: role {role!r} is not adaptable in {arch.name}; accepted: {', '.join(available)}")
    return tuple(dict.fromkeys(targets))


# --------------------------------------------------------------------------------------------
# Which parameters train
# --------------------------------------------------------------------------------------------


def _make_divisible(value: float, divisor: int = LITE_DIVISOR) -> int:
    """Round a channel count to a multiple of ``divisor`` (at least ``divisor``), never more
    than 10% below ``value``: the rounding MobileNet-family code uses for widths."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def lite_residual_width(in_channels: int, rank: int) -> int:
    """Middle channels of a lite residual at width control ``rank`` (expand = rank / 16)."""
    return _make_divisible(in_channels * rank / LITE_PAPER_RANK)


def _lite_residuals(arch: Architecture, rank: int) -> tuple[LiteResidual, ...]:
    modules = []
    for site in arch.lite_residual_sites:
        ph, pw = site.in_height // 2, site.in_width // 2
        if min(ph, pw) <= 1:
            # Feature map too small to pool 2x: TinyTL falls back to a global pool and 1x1 conv.
            ph = pw = 1
            kernel, stride = 1, 1
        else:
            kernel, stride = lite_residual_kernel(min(ph, pw)), site.stride
        ho, wo = -(-ph // stride), -(-pw // stride)
        c_in, c_out = site.in_channels, site.out_channels
        mid = lite_residual_width(c_in, rank)
        groups = LITE_GROUPS
        params = mid * (c_in // groups) * kernel * kernel + 2 * mid + mid * c_out + 2 * c_out
        stored = c_in * ph * pw + 2 * mid * ho * wo + c_out * ho * wo  # conv1 in, bn1 in, conv2 in, bn2 in
        macs = ho * wo * mid * (c_in // groups) * kernel * kernel + ho * wo * mid * c_out
        modules.append(LiteResidual(site.block, site.first_layer, params, stored, macs))
    return tuple(modules)


def training_plan(
    arch: Architecture,
    *,
    method: str,
    layers: int = 3,
    rank: int = 16,
    targets: tuple[str, ...] | list[str] | None = None,
) -> TrainingPlan:
    """Per-layer trainable flags for a fine-tuning method.

    - 'full': every parameter; norms run on batch statistics.
    - 'last_k': every parameter of the last ``layers`` blocks (the head counts as a block).
    - 'lora': rank-``rank`` adapters B@A on layers whose role is in ``targets`` (default: q and
      v for transformers, as in Hu et al., ICLR 2022; pointwise convs and the classifier for
      CNNs, a LoRA-style low-rank update of each 1x1 conv). A adds r*d_in*k_area params, B adds
      r*d_out. Base weights frozen.
    - 'bias': every bias and norm shift (frozen statistics) plus the task head (a new task
      needs its classifier; TinyTL trains it in every setting).
    - 'tinytl': 'bias' plus a lite residual module on each block (Cai et al., NeurIPS 2020),
      ``rank`` setting its width: expand = rank / 16 (16 is the published module).
    - 'norm_last': every norm scale and shift plus the head block (TinyTL's "Norm+Last").
    """
    arch = _check_arch(arch)
    method = _check_choice("method", method, METHODS)
    allowed = supported_methods(arch)
    if method not in allowed:
        raise ValueError(f"method: {method!r} does not apply to {arch.name}; accepted: {', '.join(allowed)}")
    a = arch.arrays
    n = len(arch.layers)
    is_norm = a.is_batch_norm | a.is_rms_norm
    has_shift = (a.bias_params + a.norm_shift_params) > 0
    head = a.block == arch.num_blocks - 1
    none = np.zeros(n, dtype=bool)
    lora_rank = np.zeros(n, dtype=np.int64)
    lite: tuple[LiteResidual, ...] = ()

    if method == "full":
        train_w, train_b, train_norm = a.weight_params > 0, has_shift, is_norm.copy()
    elif method == "last_k":
        k = _check_int("layers", layers, 1, arch.num_blocks, f"an integer from 1 to {arch.num_blocks} blocks")
        in_range = a.block >= arch.num_blocks - k
        train_w, train_b, train_norm = in_range & (a.weight_params > 0), in_range & has_shift, in_range & is_norm
    elif method == "lora":
        r = _check_int("rank", rank, 1, _MAX_RANK, f"an integer from 1 to {_MAX_RANK}")
        roles = _lora_targets(arch, targets)
        adapted = np.isin(a.role, roles) & (a.weight_params > 0)
        lora_rank[adapted] = r
        train_w, train_b, train_norm = none, none.copy(), none.copy()
    elif method in ("bias", "tinytl"):
        train_w, train_b, train_norm = head & (a.weight_params > 0), has_shift.copy(), head & is_norm
        if method == "tinytl":
            width = _check_int("rank", rank, 1, _MAX_RANK, f"an integer from 1 to {_MAX_RANK}")
            lite = _lite_residuals(arch, width)
    else:  # norm_last
        train_w, train_b, train_norm = head & (a.weight_params > 0), head & has_shift, is_norm.copy()

    shift_trained = train_b | train_norm
    trainable_base = int(
        np.sum(a.weight_params * train_w)
        + np.sum(a.bias_params * train_b)
        + np.sum(a.norm_shift_params * shift_trained)
        + np.sum(a.norm_scale_params * train_norm)
    )
    lora_params = int(np.sum(lora_rank * (a.d_in * a.kernel_area + a.d_out)))
    lora_macs = int(np.sum(lora_rank * a.positions * (a.d_in * a.kernel_area + a.d_out)))
    added_params = lora_params + sum(m.params for m in lite)
    added_macs = lora_macs + sum(m.macs for m in lite)

    trains_something = train_w | (train_b & has_shift) | (train_norm & ((a.norm_scale_params + a.norm_shift_params) > 0))
    trains_something = trains_something | (lora_rank > 0)
    candidates = list(np.flatnonzero(trains_something)) + [m.first_layer for m in lite]
    if not candidates:
        raise ValueError(f"method: {method!r} leaves nothing trainable in {arch.name}")
    return TrainingPlan(
        method=method,
        train_weight=train_w,
        train_bias=train_b,
        train_norm=train_norm,
        lora_rank=lora_rank,
        lite_residuals=lite,
        first_layer=int(min(candidates)),
        trainable_base_params=trainable_base,
        added_params=added_params,
        added_macs=added_macs,
    )


# --------------------------------------------------------------------------------------------
# Activation accounting
# --------------------------------------------------------------------------------------------


def activation_account(arch: Architecture, plan: TrainingPlan, *, batch: int, activation_bytes: int) -> ActivationAccount:
    """Bytes of activations a training step stores for backward, and its peak.

    Implements the rules in the module docstring, vectorised over layers. Every stored tensor
    is registered at the first layer that needs it, at the highest bit width any rule asks.
    """
    arch = _check_arch(arch)
    if not isinstance(plan, TrainingPlan) or len(plan.train_weight) != len(arch.layers):
        raise ValueError("plan: accepted: a TrainingPlan made by training_plan() for this architecture")
    batch = _check_int("batch", batch, 1, _MAX_BATCH, f"an integer from 1 to {_MAX_BATCH}")
    activation_bytes = _check_int("activation_bytes", activation_bytes, 1, 4, "1, 2 or 4 bytes per element")
    a = arch.arrays
    n = len(arch.layers)
    idx = np.arange(n, dtype=np.int64)
    full_bits = 8 * activation_bytes
    on_path = idx >= plan.first_layer  # gradient reaches this layer's output
    through = idx > plan.first_layer  # gradient must also pass to this layer's input

    ids: list[np.ndarray] = []
    where: list[np.ndarray] = []
    bits: list[np.ndarray] = []

    def need(mask: np.ndarray, tensor: np.ndarray, b: np.ndarray | int) -> None:
        sel = mask & (tensor >= 0)
        ids.append(tensor[sel])
        where.append(idx[sel])
        bits.append(np.broadcast_to(np.asarray(b, dtype=np.int64), (n,))[sel])

    # dW = x^T dy: a trainable weight keeps its input; so does a LoRA adapter (for dA).
    need((plan.train_weight & a.has_weight_grad_input) | (plan.lora_rank > 0), a.input_tensor, full_bits)
    # Batch norm on batch statistics keeps its input; RMSNorm with a trainable scale too.
    need(plan.train_norm & a.is_batch_norm, a.preact_tensor, full_bits)
    need(plan.train_norm & a.is_rms_norm, a.input_tensor, full_bits)
    # Nonlinearities on the gradient path: ReLU a 1-bit mask, smooth ones the full input.
    need(on_path & a.mask_act, a.output_tensor, 1)
    need(on_path & a.smooth_act, a.act_input_tensor, full_bits)
    # Parameter-free operators (attention, SwiGLU, max pool, loss, RMSNorm) passing a gradient.
    saved_bits = np.where(a.saved_bits > 0, a.saved_bits, full_bits)
    need(through, a.saved_tensor, saved_bits)

    n_tensors = len(a.tensor_elems)
    extra_elems: list[int] = []
    extra_where: list[int] = []
    # LoRA's low-rank intermediate x@A (r per output position) is kept for dB.
    for layer_index in np.flatnonzero(plan.lora_rank > 0):
        extra_elems.append(int(plan.lora_rank[layer_index] * a.positions[layer_index]))
        extra_where.append(int(layer_index))
    for module in plan.lite_residuals:
        extra_elems.append(module.stored_elems)
        extra_where.append(module.first_layer)

    tensor_ids = np.concatenate(ids + [np.arange(n_tensors, n_tensors + len(extra_elems), dtype=np.int64)])
    tensor_where = np.concatenate(where + [np.array(extra_where, dtype=np.int64)])
    tensor_bits = np.concatenate(bits + [np.full(len(extra_elems), full_bits, dtype=np.int64)])
    elems = np.concatenate([a.tensor_elems, np.array(extra_elems, dtype=np.int64)])

    total_tensors = len(elems)
    width = np.zeros(total_tensors, dtype=np.int64)
    np.maximum.at(width, tensor_ids, tensor_bits)
    first_use = np.full(total_tensors, n, dtype=np.int64)
    np.minimum.at(first_use, tensor_ids, tensor_where)

    stored = (elems * batch * width + 7) // 8
    per_layer = np.zeros(n + 1, dtype=np.int64)
    np.add.at(per_layer, first_use, stored)
    stored_total = int(stored.sum())
    stored_before = np.concatenate(([0], np.cumsum(per_layer[:n])[:-1]))
    live = a.live_elems * batch * activation_bytes
    during = stored_before + live
    worst = int(np.argmax(during))
    forward_peak = int(during[worst])
    return ActivationAccount(
        stored_bytes=stored_total,
        peak_bytes=max(forward_peak, stored_total),
        per_layer_stored_bytes=per_layer[:n],
        forward_peak_bytes=forward_peak,
        transient_bytes=int(live[worst]),
    )


def inference_activation_bytes(arch: Architecture, *, batch: int, activation_bytes: int) -> int:
    """Peak live activations of a forward pass: the largest layer working set plus what is held
    for the whole pass (a transformer's KV cache)."""
    a = arch.arrays
    return int((int(np.max(a.live_elems)) + int(np.sum(a.persistent_elems))) * batch * activation_bytes)


# --------------------------------------------------------------------------------------------
# Public memory functions
# --------------------------------------------------------------------------------------------


def inference_memory(arch: Architecture, *, batch: int, precision: str) -> int:
    """Inference memory in bytes: all weights + the peak live activation working set.

    ``precision``: 'fp32', 'mixed'/'bf16'/'fp16' (16-bit), or 'int8'.
    """
    arch = _check_arch(arch)
    batch = _check_int("batch", batch, 1, _MAX_BATCH, f"an integer from 1 to {_MAX_BATCH}")
    spec = PRECISIONS[_check_choice("precision", precision, INFERENCE_PRECISIONS)]
    weights = arch.total_params * spec.weight_bytes
    return weights + inference_activation_bytes(arch, batch=batch, activation_bytes=spec.activation_bytes)


def training_memory(
    arch: Architecture,
    *,
    method: str,
    batch: int,
    precision: str = "fp32",
    optimizer: str = "adam",
    layers: int = 3,
    rank: int = 16,
    targets: tuple[str, ...] | list[str] | None = None,
    frozen_weight_bytes: float | None = None,
) -> MemoryWaterfall:
    """The memory waterfall of one fine-tuning step.

    weights = trainable params x weight bytes + frozen params x ``frozen_weight_bytes``
    (default: the precision's weight bytes; TinyTL's profiler uses 1, int8 frozen weights);
    gradients = trainable x grad bytes; optimizer = trainable x (master copy + states x state
    bytes); activations = peak of stored tensors + live working set (see module docstring).
    ``layers`` is k for 'last_k'; ``rank`` and ``targets`` apply to 'lora' (``targets=None``
    means the architecture's default: q and v, or pointwise convs and the classifier).
    """
    arch = _check_arch(arch)
    batch = _check_int("batch", batch, 1, _MAX_BATCH, f"an integer from 1 to {_MAX_BATCH}")
    spec = PRECISIONS[_check_choice("precision", precision, TRAINING_PRECISIONS)]
    optimizer = _check_choice("optimizer", optimizer, OPTIMIZERS)
    frozen_bytes = spec.weight_bytes if frozen_weight_bytes is None else _check_weight_bytes(frozen_weight_bytes)
    plan = training_plan(arch, method=method, layers=layers, rank=rank, targets=targets)
    acts = activation_account(arch, plan, batch=batch, activation_bytes=spec.activation_bytes)

    trainable = plan.trainable_params
    total_params = arch.total_params + plan.added_params
    frozen = arch.total_params - plan.trainable_base_params
    weights = int(round(trainable * spec.weight_bytes + frozen * frozen_bytes))
    gradients = trainable * spec.grad_bytes
    optimizer_bytes = trainable * (spec.master_bytes + OPTIMIZER_STATES[optimizer] * spec.state_bytes)
    total = weights + gradients + optimizer_bytes + acts.peak_bytes
    inference = inference_memory(arch, batch=batch, precision=precision)
    return MemoryWaterfall(
        architecture=arch.name,
        method=method,
        batch=batch,
        precision=precision,
        optimizer=optimizer,
        weights_bytes=weights,
        gradients_bytes=gradients,
        optimizer_bytes=optimizer_bytes,
        activations_bytes=acts.peak_bytes,
        stored_activations_bytes=acts.stored_bytes,
        total_bytes=total,
        inference_bytes=inference,
        trainable_params=trainable,
        total_params=total_params,
        amplification=total / inference,
        transient_bytes=acts.transient_bytes,
        peak_phase=acts.peak_phase,
    )


def training_precision_for(model_precision: str, *, optimizer_states: str = "fp32") -> str:
    """The training precision for a model released at ``model_precision``.

    A 16-bit model trains in mixed precision unless the caller explicitly keeps the master
    copy and optimizer states in bf16 (``optimizer_states='bf16'``); fp32 stays fp32.
    """
    _check_choice("model_precision", model_precision, TRAINING_PRECISIONS)
    _check_choice("optimizer_states", optimizer_states, ("fp32", "bf16"))
    if model_precision == "fp32":
        return "fp32"
    return "bf16" if optimizer_states == "bf16" else "mixed"


def min_ram_to_finetune_last_k(
    arch: Architecture, *, k: int, batch: int, precision: str = "fp32", optimizer: str = "adam"
) -> int:
    """Minimum RAM in bytes to fine-tune the last ``k`` blocks (the head counts as one).

    The Lock of part 1: "if inference requires X, what is the minimum RAM to fine-tune the last
    3 layers?" Equal to ``training_memory(method='last_k', layers=k).total_bytes``.
    """
    return training_memory(arch, method="last_k", batch=batch, precision=precision, optimizer=optimizer, layers=k).total_bytes


def mcu_training_memory(
    arch: Architecture,
    *,
    method: str,
    batch: int = 1,
    optimizer: str = "sgd",
    layers: int = 1,
    rank: int = 4,
    targets: tuple[str, ...] | list[str] | None = None,
    precision: str = "fp32",
    frozen_weight_bytes: float = 1,
) -> McuMemory:
    """Training memory on an MCU split into SRAM and flash.

    Flash holds the deployed model image (every base parameter at ``frozen_weight_bytes``,
    int8 by default) and frozen layers execute from it in place. SRAM holds trainable copies
    at the training precision (fp32 on a Cortex-M4F), their gradients and optimizer state, and
    the activation peak (stored tensors + the forward working buffer, at the training
    precision). Code, stack and the audio front end are not counted.
    """
    arch = _check_arch(arch)
    batch = _check_int("batch", batch, 1, _MAX_BATCH, f"an integer from 1 to {_MAX_BATCH}")
    spec = PRECISIONS[_check_choice("precision", precision, TRAINING_PRECISIONS)]
    optimizer = _check_choice("optimizer", optimizer, OPTIMIZERS)
    frozen_bytes = _check_weight_bytes(frozen_weight_bytes)
    plan = training_plan(arch, method=method, layers=layers, rank=rank, targets=targets)
    acts = activation_account(arch, plan, batch=batch, activation_bytes=spec.activation_bytes)
    trainable = plan.trainable_params
    trainable_weights = trainable * spec.weight_bytes
    gradients = trainable * spec.grad_bytes
    optimizer_bytes = trainable * (spec.master_bytes + OPTIMIZER_STATES[optimizer] * spec.state_bytes)
    sram = trainable_weights + gradients + optimizer_bytes + acts.peak_bytes
    return McuMemory(
        architecture=arch.name,
        method=method,
        batch=batch,
        optimizer=optimizer,
        sram_bytes=sram,
        flash_bytes=int(round(arch.total_params * frozen_bytes)),
        trainable_weights_bytes=trainable_weights,
        gradients_bytes=gradients,
        optimizer_bytes=optimizer_bytes,
        activations_bytes=acts.peak_bytes,
        trainable_params=trainable,
        total_params=arch.total_params + plan.added_params,
        stored_activations_bytes=acts.stored_bytes,
        transient_bytes=acts.transient_bytes,
        peak_phase=acts.peak_phase,
    )
