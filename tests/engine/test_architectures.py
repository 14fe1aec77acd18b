"""Layer tables against the published configurations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from edgequest.engine.architectures import (
    ACTIVATIONS,
    ARCHITECTURE_NAMES,
    LAYER_KINDS,
    Architecture,
    get_architecture,
    lite_residual_kernel,
)


def _layers(arch: Architecture, **match: object) -> list:
    return [layer for layer in arch.layers if all(getattr(layer, k) == v for k, v in match.items())]


# ---------------------------------------------------------------- Llama-3-70B


def test_llama3_70b_total_params_match_published_70_6b() -> None:
    arch = get_architecture("llama3-70b")
    # 2 * vocab * hidden (untied embedding and head) + 80 blocks + final norm.
    block = 8192 * 8192 * 2 + 8192 * 1024 * 2 + 3 * 8192 * 28672 + 2 * 8192
    assert arch.total_params == 2 * 128256 * 8192 + 80 * block + 8192
    assert abs(arch.total_params - 70.6e9) / 70.6e9 < 0.01


def test_llama3_70b_linear_maps_carry_role_and_gqa_shapes() -> None:
    arch = get_architecture("llama3-70b")
    expected = {
        "q": (8192, 8192),
        "k": (8192, 1024),  # 8 KV heads x 128
        "v": (8192, 1024),
        "o": (8192, 8192),
        "gate": (8192, 28672),
        "up": (8192, 28672),
        "down": (28672, 8192),
    }
    for role, (d_in, d_out) in expected.items():
        maps = _layers(arch, role=role)
        assert len(maps) == 80, role
        assert {(m.d_in, m.d_out) for m in maps} == {(d_in, d_out)}
        assert all(m.kind == "linear" and m.bias_params == 0 for m in maps)
    (head,) = _layers(arch, role="lm_head")
    assert (head.d_in, head.d_out) == (8192, 128256)


def test_llama3_blocks_are_embedding_80_decoders_and_head() -> None:
    arch = get_architecture("llama3-70b")
    assert arch.num_blocks == 82
    assert arch.block_names[0] == "embed" and arch.block_names[-1] == "head"
    assert arch.block_names[1:-1] == tuple(f"decoder.{i}" for i in range(80))
    assert {layer.block for layer in _layers(arch, role="lm_head")} == {81}


def test_llama3_attention_stores_what_flash_attention_stores() -> None:
    short = get_architecture("llama3-70b", seq_len=1024)
    long = get_architecture("llama3-70b", seq_len=2048)
    attn_s = _layers(short, kind="attention")[0]
    attn_l = _layers(long, kind="attention")[0]
    saved_s = short.tensors[attn_s.saved_tensor].elems
    saved_l = long.tensors[attn_l.saved_tensor].elems
    # FlashAttention keeps Q, K, V (linear in s) and one fp32 log-sum-exp per head and row
    # (two 16-bit slots); no s x s probabilities, so doubling s doubles what it stores.
    assert saved_s == 1024 * (8192 + 2048) + 2 * 64 * 1024
    assert saved_l == 2048 * (8192 + 2048) + 2 * 64 * 2048
    assert saved_l == 2 * saved_s
    assert attn_l.persistent_elems == 2 * 2048 * 1024  # KV cache


# ---------------------------------------------------------------- CNNs


def test_resnet50_matches_torchvision_param_count_and_macs() -> None:
    arch = get_architecture("resnet50")
    assert arch.total_params == 25_557_032
    assert abs(arch.forward_macs - 4.09e9) / 4.09e9 < 0.02
    assert arch.num_blocks == 18  # stem, 16 bottlenecks, fc


def test_mobilenetv2_matches_published_params_and_macs() -> None:
    arch = get_architecture("mobilenetv2")
    assert arch.total_params == 3_504_872
    assert abs(arch.forward_macs - 300e6) / 300e6 < 0.01  # paper: 300M multiply-adds
    assert arch.num_blocks == 20  # stem, 17 inverted residuals, 1x1 conv, classifier
    acts = {layer.act for layer in arch.layers if layer.kind in ("conv", "dwconv")}
    assert acts == {"relu6", "none"}
    assert all(layer.act == "none" for layer in arch.layers if layer.name.endswith(".project"))


def test_proxylessnas_mobile_matches_released_param_count() -> None:
    arch = get_architecture("proxylessnas-mobile")
    assert arch.total_params == 4_080_512


def test_ds_cnn_small_matches_hello_edge() -> None:
    arch = get_architecture("ds-cnn")
    # 2 x MACs = the paper's 5.4M operations for DS-CNN-S.
    assert abs(2 * arch.forward_macs - 5.4e6) / 5.4e6 < 0.03
    conv1 = arch.layers[0]
    assert (conv1.d_in, conv1.d_out, conv1.kernel_area, conv1.output_elems) == (1, 64, 40, 25 * 5 * 64)
    assert conv1.input_elems == 49 * 10
    assert len(_layers(arch, kind="dwconv")) == 4 and len(_layers(arch, role="pw")) == 4
    # TF-Slim batch norm: shift only, no scale.
    assert all(layer.norm_scale_params == 0 for layer in arch.layers)
    assert arch.num_classes == 12


def test_feature_map_sizes_follow_resolution() -> None:
    arch = get_architecture("mobilenetv2")
    expand = next(layer for layer in arch.layers if layer.name == "mb2.expand")
    assert expand.output_elems == 96 * 112 * 112
    assert expand.input_elems == 16 * 112 * 112
    pool = next(layer for layer in arch.layers if layer.name == "pool")
    assert pool.input_elems == 1280 * 7 * 7
    big = get_architecture("resnet50", resolution=448)
    small = get_architecture("resnet50")
    assert big.total_params == small.total_params
    assert abs(big.forward_macs / small.forward_macs - 4.0) < 0.02


def test_relu_units_and_residual_working_set() -> None:
    arch = get_architecture("resnet50")
    assert all(layer.act in ("relu", "none") for layer in arch.layers)
    conv2 = next(layer for layer in arch.layers if layer.name == "layer1.1.conv2")
    # The block input (256 x 56 x 56) stays live for the shortcut while conv2 runs.
    assert conv2.live_elems == 256 * 56 * 56 + 64 * 56 * 56 * 2
    maxpool = next(layer for layer in arch.layers if layer.name == "stem.maxpool")
    assert maxpool.saved_bits == 8


def test_num_classes_resizes_only_the_head() -> None:
    base = get_architecture("proxylessnas-mobile")
    cars = get_architecture("proxylessnas-mobile", num_classes=196)
    assert base.total_params - cars.total_params == (1280 + 1) * (1000 - 196)
    assert cars.layers[-2].role == "classifier" and cars.layers[-2].d_out == 196


def test_lite_residual_sites_and_kernel() -> None:
    arch = get_architecture("mobilenetv2")
    assert len(arch.lite_residual_sites) == 16  # every block after the first stage
    assert lite_residual_kernel(56) == 5 and lite_residual_kernel(3) == 3 and lite_residual_kernel(2) == 1
    for site in arch.lite_residual_sites:
        assert arch.layers[site.first_layer].block == site.block


# ---------------------------------------------------------------- table invariants


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
def test_table_is_immutable_and_consistent(name: str) -> None:
    arch = get_architecture(name)
    assert isinstance(arch.layers, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        arch.layers[0].weight_params = 1  # type: ignore[misc]  # a frozen layer must refuse
    a = arch.arrays
    assert not a.weight_params.flags.writeable
    assert int(a.weight_params.sum() + a.bias_params.sum() + a.norm_scale_params.sum() + a.norm_shift_params.sum()) == arch.total_params
    assert {layer.kind for layer in arch.layers} <= set(LAYER_KINDS)
    assert {layer.act for layer in arch.layers} <= set(ACTIVATIONS)
    blocks = [layer.block for layer in arch.layers]
    assert blocks == sorted(blocks) and blocks[0] == 0 and blocks[-1] == arch.num_blocks - 1
    for layer in arch.layers:
        if layer.input_tensor >= 0:
            assert arch.tensors[layer.input_tensor].elems == layer.input_elems
    assert get_architecture(name) is arch  # cached


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=32, max_value=512), st.integers(min_value=32, max_value=512))
def test_activation_sizes_grow_with_resolution(r1: int, r2: int) -> None:
    lo, hi = sorted((r1, r2))
    a, b = get_architecture("mobilenetv2", resolution=lo), get_architecture("mobilenetv2", resolution=hi)
    assert a.total_params == b.total_params
    assert np.all(a.arrays.output_elems <= b.arrays.output_elems)
    assert a.forward_macs <= b.forward_macs


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "gpt-5"}, "name"),
        ({"name": "ds-cnn", "resolution": 224}, "resolution"),
        ({"name": "resnet50", "resolution": 16}, "resolution"),
        ({"name": "resnet50", "resolution": True}, "resolution"),
        ({"name": "resnet50", "seq_len": 128}, "seq_len"),
        ({"name": "llama3-70b", "seq_len": 0}, "seq_len"),
        ({"name": "llama3-70b", "seq_len": 9000}, "seq_len"),
        ({"name": "llama3-70b", "num_classes": 10}, "num_classes"),
        ({"name": "mobilenetv2", "num_classes": 1}, "num_classes"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_argument(kwargs: dict, message: str) -> None:
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=message):
        get_architecture(name, **kwargs)
