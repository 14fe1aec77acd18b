"""Per-layer tables of four published network architectures.

Each table lists, layer by layer, what a training-memory model needs: parameter counts split
into weights, biases and normalisation scale/shift; the input and output sizes of linear maps
(so LoRA adapters can be counted exactly); per-sample tensor sizes (what backward would have to
keep); the activation working set that inference holds live; and forward multiply-accumulates.

Conventions
- Sizes are per sample: one image, one keyword clip, or one sequence of ``seq_len`` tokens.
- A convolution "unit" is conv + batch norm + activation fused into one ``Layer``, the way the
  papers draw them; a transformer block is broken into its linear maps, its norms and the two
  parameter-free operators that matter for backward (attention and the SwiGLU product).
- Tensors are named once in ``Architecture.tensors``; layers refer to them by index, so two
  layers that read the same tensor (q, k and v read one normalised input) share one buffer when
  the memory model stores it.
- Blocks are the units "fine-tune the last k layers" counts: the stem (or token embedding) is
  block 0, each residual/separable block is one block, and the task head (classifier, or final
  norm + LM head) is the last block. Llama-3-70B therefore has 82 blocks: embedding, 80 decoder
  layers, head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from functools import cached_property, lru_cache
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

    def add(self, **fields: Any) -> Layer:
        layer = Layer(**fields)
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


# --------------------------------------------------------------------------------------------
# Llama-3-70B
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransformerShape:
    """The published shape of a decoder-only transformer (one source for every model of it)."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab: int

    @property
    def kv_width(self) -> int:
        return self.kv_heads * self.head_dim

    def role_shapes(self) -> dict[str, tuple[int, int]]:
        """(d_in, d_out) of each linear map of one decoder layer, by role."""
        h, kv, f = self.hidden, self.kv_width, self.ffn
        return {"q": (h, h), "k": (h, kv), "v": (h, kv), "o": (h, h), "gate": (h, f), "up": (h, f), "down": (f, h)}


# Meta's published configuration (meta-llama/Meta-Llama-3-70B config.json; Dubey et al. 2024, Table 3).
LLAMA3_70B = TransformerShape(hidden=8192, layers=80, heads=64, kv_heads=8, head_dim=128, ffn=28672, vocab=128256)


def _build_llama3_70b(seq_len: int) -> Architecture:
    """Llama-3-70B decoder at a given sequence length.

    Shapes from Meta's published configuration (meta-llama/Meta-Llama-3-70B config.json, and
    Dubey et al., "The Llama 3 Herd of Models", 2024, Table 3): hidden 8192, 80 layers, 64
    query heads and 8 key/value heads of dimension 128 (grouped-query attention, so the k and v
    projections map 8192 -> 1024), SwiGLU MLP of width 28672 (gate, up, down), vocabulary
    128256, RMSNorm without bias, no biases on any linear map, untied input embedding and LM
    head. Total 70,553,706,496 parameters.

    Stored tensors follow the per-operator accounting of Korthikanti et al. (MLSys 2023,
    Sec. 4.1) adapted to this block: no dropout (Llama trains without it), SwiGLU instead of
    GeLU, grouped K/V, and the softmax output stored (no FlashAttention recomputation).
    """
    shape = LLAMA3_70B
    hidden, n_layers, heads, kv_heads, head_dim = shape.hidden, shape.layers, shape.heads, shape.kv_heads, shape.head_dim
    ffn, vocab = shape.ffn, shape.vocab
    kv = kv_heads * head_dim
    s = seq_len
    b = _Builder()

    blk = b.begin_block("embed")
    ids = b.tensor("token_ids", s)
    resid = b.tensor("embed.out", s * hidden)
    b.add(
        name="embed",
        kind="embedding",
        block=blk,
        role="embed",
        weight_params=vocab * hidden,
        d_in=vocab,
        d_out=hidden,
        positions=s,
        input_elems=s,
        output_elems=s * hidden,
        input_tensor=ids,
        output_tensor=resid,
        live_elems=s + s * hidden,
    )

    def linear(name: str, blk: int, role: str, x: int, d_in: int, d_out: int, held: int) -> int:
        out = b.tensor(f"{name}.out", s * d_out)
        b.add(
            name=name,
            kind="linear",
            block=blk,
            role=role,
            weight_params=d_in * d_out,
            d_in=d_in,
            d_out=d_out,
            positions=s,
            input_elems=s * d_in,
            output_elems=s * d_out,
            input_tensor=x,
            output_tensor=out,
            live_elems=held + s * d_in + s * d_out,
            macs=s * d_in * d_out,
        )
        return out

    def rmsnorm(name: str, blk: int, x: int, held: int) -> int:
        out = b.tensor(f"{name}.out", s * hidden)
        # RMSNorm backward to its input needs the input itself (1/rms(x) depends on x), so its
        # input is the saved tensor as well as what the scale gradient needs.
        b.add(
            name=name,
            kind="norm",
            block=blk,
            role="norm",
            norm_scale_params=hidden,
            norm="rms",
            d_in=hidden,
            d_out=hidden,
            positions=s,
            input_elems=s * hidden,
            output_elems=s * hidden,
            input_tensor=x,
            output_tensor=out,
            saved_tensor=x,
            live_elems=held + 2 * s * hidden,
        )
        return out

    sh = s * hidden
    for i in range(n_layers):
        blk = b.begin_block(f"decoder.{i}")
        p = f"decoder.{i}"
        xn = rmsnorm(f"{p}.attn_norm", blk, resid, 0)
        # q, k and v read one normalised input; attention keeps its own post-RoPE copies.
        linear(f"{p}.q", blk, "q", xn, hidden, hidden, sh)
        linear(f"{p}.k", blk, "k", xn, hidden, kv, sh + sh)
        linear(f"{p}.v", blk, "v", xn, hidden, kv, sh + sh + s * kv)
        qkv_elems = s * (hidden + 2 * kv)
        probs_elems = heads * s * s
        attn_saved = b.tensor(f"{p}.attn.saved", qkv_elems + probs_elems)
        attn_in = b.tensor(f"{p}.attn.qkv", qkv_elems)
        attn_out = b.tensor(f"{p}.attn.out", sh)
        b.add(
            name=f"{p}.attn",
            kind="attention",
            block=blk,
            role="attention",
            d_in=hidden,
            d_out=hidden,
            positions=s,
            input_elems=qkv_elems,
            output_elems=sh,
            input_tensor=attn_in,
            output_tensor=attn_out,
            saved_tensor=attn_saved,
            live_elems=sh + qkv_elems + probs_elems + sh,
            persistent_elems=2 * s * kv,  # KV cache kept for the whole inference pass
            # QK^T and PV: each s*s*head_dim per head, i.e. s^2 * hidden in total.
            macs=2 * s * s * hidden,
        )
        resid = linear(f"{p}.o", blk, "o", attn_out, hidden, hidden, sh)  # added in place
        xn = rmsnorm(f"{p}.mlp_norm", blk, resid, 0)
        linear(f"{p}.gate", blk, "gate", xn, hidden, ffn, sh)
        linear(f"{p}.up", blk, "up", xn, hidden, ffn, sh + s * ffn)
        glu_in = b.tensor(f"{p}.glu.in", 2 * s * ffn)
        glu_saved = b.tensor(f"{p}.glu.saved", 2 * s * ffn)  # SiLU needs gate, product needs up
        h_act = b.tensor(f"{p}.glu.out", s * ffn)
        b.add(
            name=f"{p}.glu",
            kind="glu",
            block=blk,
            role="glu",
            act="silu",
            d_in=ffn,
            d_out=ffn,
            positions=s,
            input_elems=2 * s * ffn,
            output_elems=s * ffn,
            input_tensor=glu_in,
            output_tensor=h_act,
            saved_tensor=glu_saved,
            live_elems=sh + 3 * s * ffn,
        )
        resid = linear(f"{p}.down", blk, "down", h_act, ffn, hidden, sh)  # added in place

    blk = b.begin_block("head")
    xf = rmsnorm("final_norm", blk, resid, 0)
    logits = linear("lm_head", blk, "lm_head", xf, hidden, vocab, 0)
    _loss(b, blk, logits, s * vocab)

    return Architecture(
        name="llama3-70b",
        family="transformer",
        layers=tuple(b.layers),
        tensors=tuple(b.tensors),
        block_names=tuple(b.block_names),
        source=(
            "Meta Llama 3 70B published configuration (hidden 8192, 80 layers, 64 heads, "
            "8 KV heads x 128, MLP 28672, vocab 128256); Dubey et al., The Llama 3 Herd of "
            "Models, 2024"
        ),
        default_precision="mixed",
        default_lora_targets=("q", "v"),
        input_description=f"{seq_len} tokens",
        num_classes=vocab,
        seq_len=seq_len,
    )


# --------------------------------------------------------------------------------------------
# ResNet-50
# --------------------------------------------------------------------------------------------


def _build_resnet50(resolution: int, num_classes: int) -> Architecture:
    """ResNet-50 (He et al., CVPR 2016, Table 1), as in torchvision (stride on the 3x3 conv).

    Stem 7x7/2 conv + max pool, bottleneck stages of [3, 4, 6, 3] blocks with widths 64, 128,
    256, 512 (expansion 4), projection shortcuts on each stage's first block, global average
    pool, 1000-way classifier. Convs carry no bias; every conv is followed by batch norm.
    25,557,032 parameters.
    """
    b = _Builder()
    blk = b.begin_block("stem")
    x = b.tensor("image", 3 * resolution * resolution)
    x, h, w = _conv_unit(b, "stem.conv", blk, x, 3, 64, resolution, resolution, kh=7, stride=2)
    ho, wo = _out_size(h, 2), _out_size(w, 2)
    pooled = b.tensor("stem.maxpool.out", 64 * ho * wo)
    argmax = b.tensor("stem.maxpool.argmax", 64 * ho * wo)
    b.add(
        name="stem.maxpool",
        kind="pool",
        block=blk,
        d_in=64,
        d_out=64,
        positions=ho * wo,
        input_elems=64 * h * w,
        output_elems=64 * ho * wo,
        input_tensor=x,
        output_tensor=pooled,
        # Max-pool backward routes each gradient to its window's arg-max: one byte per output
        # indexes a 3x3 window.
        saved_tensor=argmax,
        saved_bits=8,
        live_elems=64 * h * w + 64 * ho * wo,
    )
    x, h, w = pooled, ho, wo
    c_in = 64
    for stage, (width, n_blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))):
        for j in range(n_blocks):
            s = stride if j == 0 else 1
            name = f"layer{stage + 1}.{j}"
            blk = b.begin_block(name)
            held = b.elems(x)  # the block input stays live for the shortcut
            y, h1, w1 = _conv_unit(b, f"{name}.conv1", blk, x, c_in, width, h, w, kh=1)
            # The lite residual wraps the bottleneck's narrow 3x3 conv: TinyTL's module sits on
            # the thin end of a block (an MBConv's input), and here the thin part is inside.
            b.sites.append(LiteResidualSite(blk, len(b.layers), width, width, h1, w1, s))
            y, h2, w2 = _conv_unit(b, f"{name}.conv2", blk, y, width, width, h1, w1, kh=3, stride=s, held_elems=held)
            y, h3, w3 = _conv_unit(b, f"{name}.conv3", blk, y, width, 4 * width, h2, w2, kh=1, act="none", held_elems=held)
            shortcut_elems = held
            if j == 0:
                _, _, _ = _conv_unit(
                    b, f"{name}.downsample", blk, x, c_in, 4 * width, h, w, kh=1, stride=s, act="none",
                    held_elems=b.elems(y),
                )
                shortcut_elems = 4 * width * h3 * w3
            out = b.tensor(f"{name}.out", 4 * width * h3 * w3)
            # out = relu(conv3 + shortcut): the ReLU after the add needs its own mask.
            b.add(
                name=f"{name}.add_relu",
                kind="act",
                block=blk,
                act="relu",
                d_in=4 * width,
                d_out=4 * width,
                positions=h3 * w3,
                input_elems=b.elems(y),
                output_elems=b.elems(out),
                input_tensor=y,
                output_tensor=out,
                live_elems=b.elems(y) + shortcut_elems,
            )
            x, h, w, c_in = out, h3, w3, 4 * width
    blk = b.begin_block("fc")
    _classifier_head(b, blk, x, 2048, h * w, num_classes)
    return Architecture(
        name="resnet50",
        family="cnn",
        layers=tuple(b.layers),
        tensors=tuple(b.tensors),
        block_names=tuple(b.block_names),
        source="He et al., Deep Residual Learning for Image Recognition, CVPR 2016 (Table 1); torchvision resnet50",
        default_precision="fp32",
        default_lora_targets=("pw", "classifier"),
        input_description=f"{resolution}x{resolution} RGB",
        num_classes=num_classes,
        resolution=resolution,
        lite_residual_sites=tuple(b.sites),
    )


# --------------------------------------------------------------------------------------------
# Inverted-residual networks: MobileNetV2 and ProxylessNAS-Mobile
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MBConv:
    expansion: int
    out_channels: int
    kernel: int
    stride: int
    shortcut: bool  # identity skip connection around the block


def _build_inverted_residual_net(
    name: str,
    resolution: int,
    units: tuple[tuple[_MBConv, ...], ...],
    num_classes: int,
    *,
    stem_channels: int,
    final_channels: int,
    source: str,
) -> Architecture:
    """Stem conv, stages of MBConv blocks (1x1 expand + ReLU6, kxk depthwise + ReLU6, linear
    1x1 projection), a 1x1 conv to ``final_channels``, average pool and a 1000-way classifier.

    Lite-residual sites follow TinyTL's ``insert_lite_residual``: every block after the first
    stage.
    """
    b = _Builder()
    blk = b.begin_block("stem")
    x = b.tensor("image", 3 * resolution * resolution)
    x, h, w = _conv_unit(b, "stem", blk, x, 3, stem_channels, resolution, resolution, kh=3, stride=2, act="relu6")
    c_in = stem_channels
    index = 0
    for stage, stage_units in enumerate(units):
        for unit in stage_units:
            index += 1
            bname = f"mb{index}"
            blk = b.begin_block(bname)
            first_layer = len(b.layers)
            if stage > 0:
                b.sites.append(LiteResidualSite(blk, first_layer, c_in, unit.out_channels, h, w, unit.stride))
            held = b.elems(x) if unit.shortcut else 0
            hidden = c_in * unit.expansion
            y = x
            if unit.expansion != 1:
                y, h, w = _conv_unit(b, f"{bname}.expand", blk, y, c_in, hidden, h, w, kh=1, act="relu6")
            y, h, w = _conv_unit(
                b, f"{bname}.dw", blk, y, hidden, hidden, h, w, kh=unit.kernel, stride=unit.stride,
                groups=hidden, act="relu6", held_elems=held if unit.expansion != 1 else 0,
            )
            # Linear bottleneck; the residual add is done in place on its output.
            x, h, w = _conv_unit(b, f"{bname}.project", blk, y, hidden, unit.out_channels, h, w, kh=1, act="none", held_elems=held)
            c_in = unit.out_channels
    blk = b.begin_block("conv_last")
    x, h, w = _conv_unit(b, "conv_last", blk, x, c_in, final_channels, h, w, kh=1, act="relu6")
    blk = b.begin_block("classifier")
    _classifier_head(b, blk, x, final_channels, h * w, num_classes)
    return Architecture(
        name=name,
        family="cnn",
        layers=tuple(b.layers),
        tensors=tuple(b.tensors),
        block_names=tuple(b.block_names),
        source=source,
        default_precision="fp32",
        default_lora_targets=("pw", "classifier"),
        input_description=f"{resolution}x{resolution} RGB",
        num_classes=num_classes,
        resolution=resolution,
        lite_residual_sites=tuple(b.sites),
    )


def _build_mobilenetv2(resolution: int, num_classes: int) -> Architecture:
    """MobileNetV2 1.0 (Sandler et al., CVPR 2018, Table 2).

    3x3/2 stem conv to 32 channels, 17 inverted residual blocks (t, c, n, s) = (1,16,1,1),
    (6,24,2,2), (6,32,3,2), (6,64,4,2), (6,96,3,1), (6,160,3,2), (6,320,1,1) with 3x3
    depthwise convs, a 1x1 conv to 1280, global average pool and a 1000-way classifier.
    Identity shortcuts where stride is 1 and channels match. 3,504,872 parameters.
    """
    settings = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
    stages = []
    c_in = 32
    for t, c, n, s in settings:
        stage = []
        for j in range(n):
            stride = s if j == 0 else 1
            stage.append(_MBConv(t, c, 3, stride, shortcut=stride == 1 and c_in == c))
            c_in = c
        stages.append(tuple(stage))
    return _build_inverted_residual_net(
        "mobilenetv2", resolution, tuple(stages), num_classes, stem_channels=32, final_channels=1280,
        source="Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018 (Table 2)",
    )


def _build_proxylessnas_mobile(resolution: int, num_classes: int) -> Architecture:
    """ProxylessNAS-Mobile (Cai, Zhu, Han, ICLR 2019), TinyTL's Table 2 backbone.

    The searched layout as released by the authors and transcribed in osmr/imgclsmob
    (``proxylessnas_mobile``: 4,080,512 parameters): stem 32; stages of (expansion, channels,
    kernel) with zero (skipped) blocks removed -- [1,16,3]; [3,32,5]/2, [3,32,3];
    [3,40,7]/2, [3,40,3], [3,40,5], [3,40,5]; [6,80,7]/2, [3,80,5] x3, [6,96,5], [3,96,5] x3;
    [6,192,7]/2, [6,192,7], [3,192,7] x2, [6,320,7]; final 1x1 conv to 1280. ReLU6.
    """
    spec = (
        ((1, 16, 3, 1, False),),
        ((3, 32, 5, 2, False), (3, 32, 3, 1, True)),
        ((3, 40, 7, 2, False), (3, 40, 3, 1, True), (3, 40, 5, 1, True), (3, 40, 5, 1, True)),
        ((6, 80, 7, 2, False), (3, 80, 5, 1, True), (3, 80, 5, 1, True), (3, 80, 5, 1, True),
         (6, 96, 5, 1, False), (3, 96, 5, 1, True), (3, 96, 5, 1, True), (3, 96, 5, 1, True)),
        ((6, 192, 7, 2, False), (6, 192, 7, 1, True), (3, 192, 7, 1, True), (3, 192, 7, 1, True),
         (6, 320, 7, 1, False)),
    )
    stages = tuple(tuple(_MBConv(*unit) for unit in stage) for stage in spec)
    return _build_inverted_residual_net(
        "proxylessnas-mobile", resolution, stages, num_classes, stem_channels=32, final_channels=1280,
        source=(
            "Cai, Zhu, Han, ProxylessNAS: Direct Neural Architecture Search on Target Task and "
            "Hardware, ICLR 2019 (released Mobile model; layout as in osmr/imgclsmob)"
        ),
    )


# --------------------------------------------------------------------------------------------
# DS-CNN (keyword spotting)
# --------------------------------------------------------------------------------------------


def _build_ds_cnn(num_classes: int) -> Architecture:
    """DS-CNN-S keyword spotter (Zhang et al., "Hello Edge: Keyword Spotting on
    Microcontrollers", arXiv:1711.07128, 2017), the small model for MCUs.

    Layout from the authors' training command (ARM-software/ML-KWS-for-MCU, model_size_info
    ``5 64 10 4 2 2 64 3 3 1 1 ...``): 49x10 MFCC input (40 ms frames every 20 ms over 1 s,
    10 coefficients); a 10x4 conv with stride 2x2 to 64 channels; four depthwise-separable
    layers (3x3 depthwise + 1x1 pointwise, 64 channels); average pool; 12-way classifier
    (ten words, silence, unknown). Every conv has a bias and is followed by batch norm without
    scale (TF-Slim's default) and ReLU. About 23.7K parameters, 2.7M MACs (the paper's 5.4M
    operations); 8-bit weights + activations fit the paper's 80 KB "small" budget.
    """
    b = _Builder()
    blk = b.begin_block("conv1")
    x = b.tensor("mfcc", 49 * 10)
    x, h, w = _conv_unit(
        b, "conv1", blk, x, 1, 64, 49, 10, kh=10, kw=4, stride=(2, 2), conv_bias=True, bn_scale=False
    )
    c = 64
    for i in range(1, 5):
        name = f"ds{i}"
        blk = b.begin_block(name)
        b.sites.append(LiteResidualSite(blk, len(b.layers), c, c, h, w, 1))
        x, h, w = _conv_unit(b, f"{name}.dw", blk, x, c, c, h, w, kh=3, groups=c, conv_bias=True, bn_scale=False)
        x, h, w = _conv_unit(b, f"{name}.pw", blk, x, c, c, h, w, kh=1, conv_bias=True, bn_scale=False)
    blk = b.begin_block("fc")
    _classifier_head(b, blk, x, c, h * w, num_classes)
    return Architecture(
        name="ds-cnn",
        family="cnn",
        layers=tuple(b.layers),
        tensors=tuple(b.tensors),
        block_names=tuple(b.block_names),
        source=(
            "Zhang et al., Hello Edge: Keyword Spotting on Microcontrollers, arXiv:1711.07128, 2017 "
            "(DS-CNN small); ARM-software/ML-KWS-for-MCU train_commands.txt"
        ),
        default_precision="fp32",
        default_lora_targets=("pw", "classifier"),
        input_description="49x10 MFCC",
        num_classes=num_classes,
        lite_residual_sites=tuple(b.sites),
    )


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _build(name: str, resolution: int | None, seq_len: int | None, num_classes: int | None) -> Architecture:
    if name == "llama3-70b":
        return _build_llama3_70b(seq_len if seq_len is not None else _DEFAULT_SEQ_LEN)
    if name == "ds-cnn":
        return _build_ds_cnn(num_classes if num_classes is not None else 12)
    side = resolution if resolution is not None else _DEFAULT_RESOLUTION
    classes = num_classes if num_classes is not None else 1000
    if name == "resnet50":
        return _build_resnet50(side, classes)
    if name == "mobilenetv2":
        return _build_mobilenetv2(side, classes)
    return _build_proxylessnas_mobile(side, classes)


def get_architecture(
    name: str, *, resolution: int | None = None, seq_len: int | None = None, num_classes: int | None = None
) -> Architecture:
    """The layer table of a named architecture.

    ``resolution`` (square input side in pixels, 32-1024, default 224) applies to the image
    networks; ``seq_len`` (tokens per sequence, 1-8192, default 2048) applies to
    'llama3-70b'. ``num_classes`` sizes the task head of the CNNs (default: ImageNet's 1000,
    DS-CNN's 12 keywords); a transfer task replaces the head, so set it to the new task's
    classes (TinyTL's Table 2 uses Stanford Cars, 196). 'ds-cnn' has a fixed 49x10 MFCC
    input. Results are cached and immutable.
    """
    if not isinstance(name, str) or name not in ARCHITECTURE_NAMES:
        raise ValueError(f"name: got {name!r}; accepted: {', '.join(ARCHITECTURE_NAMES)}")
    if resolution is not None:
        if name not in _IMAGE_NETS:
            raise ValueError(f"resolution: {name} has a fixed input; resolution applies to {', '.join(_IMAGE_NETS)}")
        if isinstance(resolution, bool) or not isinstance(resolution, int) or not 32 <= resolution <= 1024:
            raise ValueError(f"resolution: got {resolution!r}; accepted: an integer from 32 to 1024 pixels")
    if seq_len is not None:
        if name != "llama3-70b":
            raise ValueError(f"seq_len: applies to llama3-70b only, not {name}")
        if isinstance(seq_len, bool) or not isinstance(seq_len, int) or not 1 <= seq_len <= _LLAMA3_MAX_CONTEXT:
            raise ValueError(f"seq_len: got {seq_len!r}; accepted: an integer from 1 to {_LLAMA3_MAX_CONTEXT} tokens")
    if num_classes is not None:
        if name == "llama3-70b":
            raise ValueError("num_classes: llama3-70b keeps its 128256-token LM head; num_classes applies to the CNNs")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or not 2 <= num_classes <= 100_000:
            raise ValueError(f"num_classes: got {num_classes!r}; accepted: an integer from 2 to 100000")
    return _build(name, resolution, seq_len, num_classes)


def lite_residual_kernel(pooled_size: int, max_kernel: int = 5) -> int:
    """TinyTL's lite-residual kernel: the largest odd kernel <= 5 that fits the pooled map."""
    k = max_kernel
    while k > 1 and pooled_size < k:
        k -= 2
    return k


__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURE_NAMES",
    "LAYER_KINDS",
    "MASK_ACTIVATIONS",
    "SMOOTH_ACTIVATIONS",
    "Architecture",
    "Layer",
    "LayerArrays",
    "LiteResidualSite",
    "Tensor",
    "get_architecture",
    "lite_residual_kernel",
]
