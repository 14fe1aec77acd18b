"""Inverted-residual layer tables: MobileNetV2 and ProxylessNAS-Mobile."""

from __future__ import annotations

from dataclasses import dataclass

from edgequest.engine.architectures.core import (
    Architecture,
    LiteResidualSite,
    _Builder,
    _classifier_head,
    _conv_unit,
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
