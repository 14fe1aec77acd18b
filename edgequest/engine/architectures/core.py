"""Layer-table data types and the builder the per-network modules share."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
import numpy as np

ARCHITECTURE_NAMES: tuple[str, ...] = ("llama3-70b", "resnet50", "mobilenetv2", "proxylessnas-mobile", "ds-cnn")

LAYER_KINDS = ("embedding", "linear", "conv", "dwconv", "norm", "attention", "glu", "pool", "act", "loss")
ACTIVATIONS = ("none", "relu", "relu6", "silu", "hswish", "gelu")
# ReLU-family backward needs only the sign pattern of the output: a 1-bit mask (Cai et al.,
# TinyTL, NeurIPS 2020, Sec. 3.1). Smooth activations need the full input tensor.
MASK_ACTIVATIONS = frozenset({"relu", "relu6"})
SMOOTH_ACTIVATIONS = frozenset({"silu", "hswish", "gelu"})

_IMAGE_NETS = ("resnet50", "mobilenetv2", "proxylessnas-mobile")
_DEFAULT_RESOLUTION = 224
_DEFAULT_SEQ_LEN = 2048
_LLAMA3_MAX_CONTEXT = 8192  # max_position_embeddings in the published config


@dataclass(frozen=True)
class Tensor:
    """A named activation tensor; ``elems`` is its element count per sample."""

    name: str
    elems: int


@dataclass(frozen=True)
class Layer:
    """One layer (or fused conv + norm + activation unit) of a network.

    Parameter counts: ``weight_params`` (matrix, kernel or embedding table), ``bias_params``
    (additive bias of the linear map or conv), ``norm_scale_params`` / ``norm_shift_params``
    (gamma / beta of the layer's normalisation, batch norm fused after a conv or an RMSNorm
    layer). ``role`` names a linear map for LoRA ('q', 'k', 'v', 'o', 'gate', 'up', 'down',
    'lm_head'; for CNNs 'pw' = 1x1 convolution, 'classifier', 'conv', 'dw').

    Tensor fields are indices into ``Architecture.tensors`` (-1 = none):
    ``input_tensor`` is what a weight gradient needs (dW = x^T dy); ``output_tensor`` is the
    layer's result (a ReLU mask is taken from it); ``preact_tensor`` is a fused conv's output
    before batch norm (what batch-statistics backward needs); ``act_input_tensor`` is the input
    of a smooth nonlinearity; ``saved_tensor`` is what the backward pass needs just to carry a
    gradient through a parameter-free operator (attention: Q, K, V and the softmax; SwiGLU: the
    gate and up projections; max pool: the arg-max index; loss: the class probabilities), kept
    at ``saved_bits`` per element (0 = the activation precision).

    ``live_elems`` is the working set, per sample, held while this layer runs at inference
    (its input, output and any residual kept for a skip connection); ``persistent_elems`` is
    held for the whole pass (the KV cache). ``macs`` counts forward multiply-accumulates per
    sample.
    """

    name: str
    kind: str
    block: int
    role: str = ""
    weight_params: int = 0
    bias_params: int = 0
    norm_scale_params: int = 0
    norm_shift_params: int = 0
    norm: str = "none"  # 'batch' (fused after a conv), 'rms' (this layer is an RMSNorm), 'none'
    act: str = "none"
    d_in: int = 0
    d_out: int = 0
    kernel_area: int = 1
    groups: int = 1
    positions: int = 1  # output positions per sample (H*W, or tokens)
    input_elems: int = 0
    output_elems: int = 0
    input_tensor: int = -1
    output_tensor: int = -1
    preact_tensor: int = -1
    act_input_tensor: int = -1
    saved_tensor: int = -1
    saved_bits: int = 0
    live_elems: int = 0
    persistent_elems: int = 0
    macs: int = 0

    @property
    def params(self) -> int:
        return self.weight_params + self.bias_params + self.norm_scale_params + self.norm_shift_params

    @property
    def norm_params(self) -> int:
        return self.norm_scale_params + self.norm_shift_params


@dataclass(frozen=True)
class LiteResidualSite:
    """Where TinyTL's lite residual module attaches: a block's input and output shapes."""

    block: int
    first_layer: int  # index of the block's first layer in ``Architecture.layers``
    in_channels: int
    out_channels: int
    in_height: int
    in_width: int
    stride: int


@dataclass(frozen=True)
class LayerArrays:
    """The layer table as read-only numpy columns, for vectorised accounting."""

    kind: np.ndarray  # object array of kind strings
    block: np.ndarray
    role: np.ndarray
    weight_params: np.ndarray
    bias_params: np.ndarray
    norm_scale_params: np.ndarray
    norm_shift_params: np.ndarray
    is_batch_norm: np.ndarray
    is_rms_norm: np.ndarray
    mask_act: np.ndarray
    smooth_act: np.ndarray
    has_weight_grad_input: np.ndarray  # linear/conv/dwconv/embedding: dW needs the input
    d_in: np.ndarray
    d_out: np.ndarray
    kernel_area: np.ndarray
    positions: np.ndarray
    input_elems: np.ndarray
    output_elems: np.ndarray
    input_tensor: np.ndarray
    output_tensor: np.ndarray
    preact_tensor: np.ndarray
    act_input_tensor: np.ndarray
    saved_tensor: np.ndarray
    saved_bits: np.ndarray
    live_elems: np.ndarray
    persistent_elems: np.ndarray
    macs: np.ndarray
    tensor_elems: np.ndarray


@dataclass(frozen=True)
class Architecture:
    """A network as an ordered tuple of layers, grouped into ``num_blocks`` blocks.

    ``family`` is 'transformer' or 'cnn'. ``default_precision`` is the precision the model is
    normally fine-tuned in ('mixed' = 16-bit compute with fp32 master weights, 'fp32').
    ``default_lora_targets`` are the roles LoRA adapts when the caller names none.
    """

    name: str
    family: str
    layers: tuple[Layer, ...]
    tensors: tuple[Tensor, ...]
    block_names: tuple[str, ...]
    source: str
    default_precision: str
    default_lora_targets: tuple[str, ...]
    input_description: str
    num_classes: int
    resolution: int | None = None
    seq_len: int | None = None
    lite_residual_sites: tuple[LiteResidualSite, ...] = ()

    @property
    def num_blocks(self) -> int:
        return len(self.block_names)

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def forward_macs(self) -> int:
        """Forward multiply-accumulates per sample."""
        return sum(layer.macs for layer in self.layers)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(layer.role for layer in self.layers if layer.role)

    @cached_property
    def arrays(self) -> LayerArrays:
        """Column view of the layer table (computed once per architecture object)."""
        layers = self.layers

        def col(attr: str, dtype: type = np.int64) -> np.ndarray:
            arr: np.ndarray = np.array([getattr(layer, attr) for layer in layers], dtype=dtype)
            arr.flags.writeable = False
            return arr

        def flag(values: list[bool]) -> np.ndarray:
            arr = np.array(values, dtype=bool)
            arr.flags.writeable = False
            return arr

        tensor_elems = np.array([t.elems for t in self.tensors], dtype=np.int64)
        tensor_elems.flags.writeable = False
        return LayerArrays(
            kind=col("kind", object),
            block=col("block"),
            role=col("role", object),
            weight_params=col("weight_params"),
            bias_params=col("bias_params"),
            norm_scale_params=col("norm_scale_params"),
            norm_shift_params=col("norm_shift_params"),
            is_batch_norm=flag([layer.norm == "batch" for layer in layers]),
            is_rms_norm=flag([layer.norm == "rms" for layer in layers]),
            mask_act=flag([layer.act in MASK_ACTIVATIONS for layer in layers]),
            smooth_act=flag([layer.act in SMOOTH_ACTIVATIONS for layer in layers]),
            has_weight_grad_input=flag(
                [layer.kind in ("linear", "conv", "dwconv", "embedding") for layer in layers]
            ),
            d_in=col("d_in"),
            d_out=col("d_out"),
            kernel_area=col("kernel_area"),
            positions=col("positions"),
            input_elems=col("input_elems"),
            output_elems=col("output_elems"),
            input_tensor=col("input_tensor"),
            output_tensor=col("output_tensor"),
            preact_tensor=col("preact_tensor"),
            act_input_tensor=col("act_input_tensor"),
            saved_tensor=col("saved_tensor"),
            saved_bits=col("saved_bits"),
            live_elems=col("live_elems"),
            persistent_elems=col("persistent_elems"),
            macs=col("macs"),
            tensor_elems=tensor_elems,
        )


# --------------------------------------------------------------------------------------------
# Builder: a small local helper that names tensors and appends layers in forward order.
# --------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self) -> None:
        self.layers: list[Layer] = []
        self.tensors: list[Tensor] = []
        self.block_names: list[str] = []
        self.sites: list[LiteResidualSite] = []

    def tensor(self, name: str, elems: int) -> int:
        self.tensors.append(Tensor(name, int(elems)))
        return len(self.tensors) - 1

    def elems(self, tensor_id: int) -> int:
        return self.tensors[tensor_id].elems

    def begin_block(self, name: str) -> int:
        self.block_names.append(name)
        return len(self.block_names) - 1

    def add(self, **fields: object) -> Layer:
        layer = Layer(**fields)  # type: ignore[arg-type]
        self.layers.append(layer)
        return layer


def _out_size(size: int, stride: int) -> int:
    # 'same' padding: PyTorch's k//2 padding for odd kernels and TensorFlow's SAME both give
    # ceil(size / stride).
    return -(-size // stride)


def _conv_unit(
    b: _Builder,
    name: str,
    block: int,
    x: int,
    c_in: int,
    c_out: int,
    h: int,
    w: int,
    *,
    kh: int,
    kw: int | None = None,
    stride: tuple[int, int] | int = 1,
    groups: int = 1,
    conv_bias: bool = False,
    bn_scale: bool = True,
    bn: bool = True,
    act: str = "relu",
    held_elems: int = 0,
) -> tuple[int, int, int]:
    """Append conv + batch norm + activation; return (output tensor, out height, out width)."""
    kw = kh if kw is None else kw
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ho, wo = _out_size(h, sh), _out_size(w, sw)
    positions = ho * wo
    out_elems = c_out * positions
    in_elems = b.elems(x)
    k_area = kh * kw
    weight = c_out * (c_in // groups) * k_area
    kind = "dwconv" if groups == c_in and groups > 1 else "conv"
    role = "dw" if kind == "dwconv" else ("pw" if k_area == 1 and groups == 1 else "conv")
    pre = b.tensor(f"{name}.conv_out", out_elems) if bn else -1
    act_in = b.tensor(f"{name}.act_in", out_elems) if act in SMOOTH_ACTIVATIONS else -1
    out = b.tensor(f"{name}.out", out_elems)
    b.add(
        name=name,
        kind=kind,
        block=block,
        role=role,
        weight_params=weight,
        bias_params=c_out if conv_bias else 0,
        norm_scale_params=c_out if (bn and bn_scale) else 0,
        norm_shift_params=c_out if bn else 0,
        norm="batch" if bn else "none",
        act=act,
        d_in=c_in,
        d_out=c_out,
        kernel_area=k_area,
        groups=groups,
        positions=positions,
        input_elems=in_elems,
        output_elems=out_elems,
        input_tensor=x,
        output_tensor=out,
        preact_tensor=pre,
        act_input_tensor=act_in,
        live_elems=held_elems + in_elems + out_elems,
        macs=positions * c_out * (c_in // groups) * k_area,
    )
    return out, ho, wo


def _classifier_head(b: _Builder, block: int, x: int, channels: int, positions: int, classes: int) -> None:
    """Global average pool, a fully connected classifier with bias, and the softmax loss."""
    pooled = b.tensor("pool.out", channels)
    b.add(
        name="pool",
        kind="pool",
        block=block,
        d_in=channels,
        d_out=channels,
        positions=1,
        input_elems=channels * positions,
        output_elems=channels,
        input_tensor=x,
        output_tensor=pooled,
        live_elems=channels * positions + channels,
    )
    logits = b.tensor("classifier.out", classes)
    b.add(
        name="classifier",
        kind="linear",
        block=block,
        role="classifier",
        weight_params=channels * classes,
        bias_params=classes,
        d_in=channels,
        d_out=classes,
        positions=1,
        input_elems=channels,
        output_elems=classes,
        input_tensor=pooled,
        output_tensor=logits,
        live_elems=channels + classes,
        macs=channels * classes,
    )
    _loss(b, block, logits, classes)


def _loss(b: _Builder, block: int, logits: int, elems: int) -> None:
    # Softmax cross-entropy backward needs the class probabilities (softmax - one_hot).
    probs = b.tensor("loss.probs", elems)
    b.add(
        name="loss",
        kind="loss",
        block=block,
        input_elems=elems,
        output_elems=1,
        input_tensor=logits,
        saved_tensor=probs,
    )




def lite_residual_kernel(pooled_size: int, max_kernel: int = 5) -> int:
    """TinyTL's lite-residual kernel: the largest odd kernel <= 5 that fits the pooled map."""
    k = max_kernel
    while k > 1 and pooled_size < k:
        k -= 2
    return k
