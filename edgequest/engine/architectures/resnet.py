"""ResNet-50's layer table."""

from __future__ import annotations

from edgequest.engine.architectures.core import (
    Architecture,
    LiteResidualSite,
    _Builder,
    _classifier_head,
    _conv_unit,
    _out_size,
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
