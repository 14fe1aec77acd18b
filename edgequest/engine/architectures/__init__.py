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

from functools import lru_cache

from edgequest.engine.architectures.core import (
    ACTIVATIONS,
    ARCHITECTURE_NAMES,
    LAYER_KINDS,
    MASK_ACTIVATIONS,
    SMOOTH_ACTIVATIONS,
    _DEFAULT_RESOLUTION,
    _DEFAULT_SEQ_LEN,
    _IMAGE_NETS,
    _LLAMA3_MAX_CONTEXT,
    Architecture,
    Layer,
    LayerArrays,
    LiteResidualSite,
    Tensor,
    lite_residual_kernel,
)
from edgequest.engine.architectures.ds_cnn import _build_ds_cnn
from edgequest.engine.architectures.llama import LLAMA3_70B, TransformerShape, _build_llama3_70b
from edgequest.engine.architectures.mobilenet import _build_mobilenetv2, _build_proxylessnas_mobile
from edgequest.engine.architectures.resnet import _build_resnet50

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


__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURE_NAMES",
    "LAYER_KINDS",
    "MASK_ACTIVATIONS",
    "SMOOTH_ACTIVATIONS",
    "Architecture",
    "Layer",
    "LayerArrays",
    "LLAMA3_70B",
    "LiteResidualSite",
    "Tensor",
    "TransformerShape",
    "get_architecture",
    "lite_residual_kernel",
]
