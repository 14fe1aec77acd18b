"""DS-CNN's layer table (keyword spotting)."""

from __future__ import annotations

from edgequest.engine.architectures.core import (
    Architecture,
    LiteResidualSite,
    _Builder,
    _classifier_head,
    _conv_unit,
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
