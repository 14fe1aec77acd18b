"""Training-memory waterfall against published figures and the rules it implements."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from edgequest.engine.architectures import ARCHITECTURE_NAMES, get_architecture
from edgequest.engine.memory import (
    NRF52840_SRAM_BYTES,
    activation_account,
    inference_memory,
    mcu_training_memory,
    min_ram_to_finetune_last_k,
    supported_methods,
    training_memory,
    training_plan,
)
from edgequest.engine.memory_references import korthikanti_activation_bytes, tinytl_reported_memory

LLAMA = "llama3-70b"
CNNS = ("resnet50", "mobilenetv2", "proxylessnas-mobile", "ds-cnn")
MB = 1e6

# ---------------------------------------------------------------- LoRA parameter counts (Hu et al.)


def test_lora_rank16_on_q_and_v_counts_grouped_query_attention() -> None:
    arch = get_architecture(LLAMA)
    w = training_memory(arch, method="lora", batch=1, precision="mixed", rank=16, targets=("q", "v"))
    assert w.trainable_params == 80 * 16 * ((8192 + 8192) + (8192 + 1024)) == 32_768_000
    # Naively treating v as 8192 -> 8192 would give 41.9M: GQA makes it smaller.
    assert w.trainable_params < 80 * 16 * 4 * 8192
    assert w.total_params == arch.total_params + w.trainable_params


def test_lora_on_all_seven_linear_maps_is_about_207m() -> None:
    arch = get_architecture(LLAMA)
    roles = ("q", "k", "v", "o", "gate", "up", "down")
    w = training_memory(arch, method="lora", batch=1, precision="mixed", rank=16, targets=roles)
    per_block = 16 * (2 * (8192 + 8192) + 2 * (8192 + 1024) + 2 * (8192 + 28672) + (28672 + 8192))
    assert w.trainable_params == 80 * per_block
    assert abs(w.trainable_params - 207e6) / 207e6 < 0.01


def test_cnn_lora_adapts_pointwise_convs_and_classifier() -> None:
    arch = get_architecture("mobilenetv2")
    plan = training_plan(arch, method="lora", rank=8)
    adapted = [layer for layer, r in zip(arch.layers, plan.lora_rank) if r]
    assert {layer.role for layer in adapted} == {"pw", "classifier"}
    assert plan.added_params == sum(8 * (layer.d_in + layer.d_out) for layer in adapted)
    assert plan.trainable_base_params == 0


# ---------------------------------------------------------------- bytes per parameter (ZeRO)


@pytest.mark.parametrize(
    ("precision", "optimizer", "bytes_per_param"),
    [("mixed", "adam", 16), ("fp32", "adam", 16), ("fp32", "sgd", 8), ("fp32", "sgd_momentum", 12), ("bf16", "adam", 8)],
)
def test_full_finetune_bytes_per_parameter(precision: str, optimizer: str, bytes_per_param: int) -> None:
    arch = get_architecture(LLAMA)
    w = training_memory(arch, method="full", batch=1, precision=precision, optimizer=optimizer)
    states = w.weights_bytes + w.gradients_bytes + w.optimizer_bytes
    assert states == bytes_per_param * arch.total_params


def test_adam_keeps_two_states_sgd_none_momentum_one() -> None:
    arch = get_architecture("resnet50")
    opt = {o: training_memory(arch, method="full", batch=1, optimizer=o).optimizer_bytes for o in ("sgd", "sgd_momentum", "adam")}
    assert opt["sgd"] == 0
    assert opt["sgd_momentum"] == 4 * arch.total_params
    assert opt["adam"] == 2 * opt["sgd_momentum"]


def test_waterfall_parts_sum_to_total_and_mb_is_decimal() -> None:
    arch = get_architecture("mobilenetv2")
    w = training_memory(arch, method="tinytl", batch=4)
    assert w.total_bytes == w.weights_bytes + w.gradients_bytes + w.optimizer_bytes + w.activations_bytes
    assert w.amplification == pytest.approx(w.total_bytes / w.inference_bytes)
    assert w.inference_bytes == inference_memory(arch, batch=4, precision="fp32")
    assert w.to_mb()["total_mb"] == pytest.approx(w.total_bytes / 1e6)
    assert w.stored_activations_bytes <= w.activations_bytes


# ---------------------------------------------------------------- amplification (book: 4-12x)


@pytest.mark.parametrize("name", ARCHITECTURE_NAMES)
@pytest.mark.parametrize("batch", [1, 8])
def test_full_finetune_with_adam_is_at_least_4x_inference(name: str, batch: int) -> None:
    arch = get_architecture(name)
    w = training_memory(arch, method="full", batch=batch, precision=arch.default_precision, optimizer="adam")
    assert w.total_bytes >= 4 * w.inference_bytes


@pytest.mark.parametrize("name", CNNS)
@pytest.mark.parametrize("batch", [1, 8])
def test_cnn_full_finetune_amplification_in_book_band(name: str, batch: int) -> None:
    w = training_memory(get_architecture(name), method="full", batch=batch, optimizer="adam")
    assert 4.0 <= w.amplification <= 12.0


def test_book_mobilenetv2_14mb_inference_to_50_70mb_training() -> None:
    # Book: MobileNetV2 (3.5M params) needs 14 MB of fp32 weights for inference and 50-70 MB to
    # train. Weights + gradients + stored activations at batch 1 with plain SGD come to ~82 MB:
    # the 54 MB of stored conv and batch-norm inputs alone exceed the book's activation share.
    arch = get_architecture("mobilenetv2")
    assert arch.total_params * 4 / MB == pytest.approx(14.0, abs=0.1)
    w = training_memory(arch, method="full", batch=1, optimizer="sgd")
    assert 50 * MB <= w.total_bytes <= 90 * MB
    assert 3.5 <= w.total_bytes / (arch.total_params * 4) <= 6.5  # "50-70 MB" is 3.6-5x of 14 MB


# ---------------------------------------------------------------- what backward stores


def test_bias_only_stores_masks_not_layer_inputs() -> None:
    arch = get_architecture("mobilenetv2")
    batch = 8
    bias = training_memory(arch, method="bias", batch=batch)
    full = training_memory(arch, method="full", batch=batch)
    # Expected exactly: a 1-bit mask per ReLU6 output, plus the trained head's input and the
    # loss probabilities in fp32. No conv input is kept.
    masks = sum((layer.output_elems * batch + 7) // 8 for layer in arch.layers if layer.act == "relu6")
    head = arch.layers[-2]
    expected = masks + head.input_elems * batch * 4 + arch.num_classes * batch * 4
    assert bias.stored_activations_bytes == expected
    assert bias.stored_activations_bytes < full.stored_activations_bytes / 40


def test_frozen_layers_below_last_k_store_nothing() -> None:
    arch = get_architecture(LLAMA, seq_len=512)
    k = 3
    plan = training_plan(arch, method="last_k", layers=k)
    acc = activation_account(arch, plan, batch=1, activation_bytes=2)
    first_trainable_block = arch.num_blocks - k
    blocks = arch.arrays.block
    assert acc.per_layer_stored_bytes[blocks < first_trainable_block].sum() == 0
    assert acc.per_layer_stored_bytes[blocks >= first_trainable_block].sum() == acc.stored_bytes > 0


def test_lora_saves_parameters_not_activations() -> None:
    # The gradient must still flow through every block to reach block 0's adapters.
    arch = get_architecture(LLAMA)
    lora = training_memory(arch, method="lora", batch=1, precision="mixed")
    full = training_memory(arch, method="full", batch=1, precision="mixed")
    assert lora.trainable_params < full.trainable_params / 1000
    assert 0.6 < lora.stored_activations_bytes / full.stored_activations_bytes < 0.95


def test_llama_block_activations_against_korthikanti() -> None:
    # Korthikanti et al.: 34*s*b*h + 5*a*s^2*b bytes per GPT layer at 16-bit without
    # recomputation, and 34*s*b*h with selective recomputation of the attention core (their
    # Sec. 5), which is what FlashAttention does: no s^2 term is stored. Llama's SwiGLU MLP and
    # its missing dropout land the linear term within 2% of 34*h.
    def block_bytes(seq_len: int) -> int:
        arch = get_architecture(LLAMA, seq_len=seq_len)
        plan = training_plan(arch, method="full")
        acc = activation_account(arch, plan, batch=1, activation_bytes=2)
        return int(acc.per_layer_stored_bytes[arch.arrays.block == 40].sum())

    s1, s2 = 512, 1024
    b1, b2 = block_bytes(s1), block_bytes(s2)
    quad = (b2 - 2 * b1) / (s2 * s2 - 2 * s1 * s1)
    lin = (b1 - quad * s1 * s1) / s1
    assert quad == pytest.approx(0, abs=1e-9)
    assert lin == pytest.approx(34 * 8192, rel=0.02)
    k = korthikanti_activation_bytes(seq_len=s2, batch=1, hidden=8192, heads=64)
    assert b2 < k  # the full-recomputation-free figure stores the s^2 softmax; this does not


# ---------------------------------------------------------------- TinyTL Table 2 (Cai et al. 2020)

TABLE2_MB = {"full": 391, "norm_last": 192, "tinytl": 37, "bias": 32, "last_k": 31}


def _table2(convention: str, name: str = "proxylessnas-mobile") -> dict[str, float]:
    # Stanford Cars (196 classes), 224 px, batch 8; last_k with k = 1 is "last layer only".
    arch = get_architecture(name, num_classes=196)
    if convention == "paper":
        return {m: tinytl_reported_memory(arch, method=m, batch=8, layers=1) / MB for m in TABLE2_MB}
    return {m: training_memory(arch, method=m, batch=8, layers=1, optimizer="adam").total_bytes / MB for m in TABLE2_MB}


def test_tinytl_table2_rows_under_the_papers_accounting() -> None:
    ours = _table2("paper")
    for method, reported in TABLE2_MB.items():
        assert ours[method] == pytest.approx(reported, rel=0.2), method
    assert 6 <= ours["full"] / ours["tinytl"] <= 15
    assert 1.5 <= ours["full"] / ours["norm_last"] <= 2.5


@pytest.mark.parametrize("name", ["proxylessnas-mobile", "mobilenetv2"])
def test_tinytl_table2_ordering_with_gradients_and_adam_state(name: str) -> None:
    m = _table2("honest", name)
    assert m["full"] > 1.8 * m["norm_last"] > 1.8 * 2 * m["tinytl"]
    assert m["tinytl"] > m["bias"] > m["last_k"]
    # TinyTL sits with the cheap methods: its gap to bias-only is under a tenth of full's.
    assert m["tinytl"] - m["bias"] < 0.1 * (m["full"] - m["bias"])
    assert m["full"] / m["tinytl"] > 4


def test_tinytl_batch1_near_16mb() -> None:
    arch = get_architecture("proxylessnas-mobile", num_classes=196)
    assert tinytl_reported_memory(arch, method="tinytl", batch=1) / MB == pytest.approx(16, rel=0.2)


@pytest.mark.parametrize("name", CNNS)
def test_bias_and_tinytl_below_full_and_bias_below_last3(name: str) -> None:
    arch = get_architecture(name)
    t = {m: training_memory(arch, method=m, batch=8, layers=3).total_bytes for m in supported_methods(arch)}
    assert t["tinytl"] < t["full"] / 2.5 and t["bias"] < t["full"] / 4
    assert t["bias"] < t["last_k"]


# ---------------------------------------------------------------- Tiny Pioneer: 256 KiB SRAM


def test_ds_cnn_full_finetune_breaks_the_sram_wall() -> None:
    arch = get_architecture("ds-cnn")
    for optimizer in ("adam", "sgd"):
        full = mcu_training_memory(arch, method="full", optimizer=optimizer)
        assert full.sram_bytes > NRF52840_SRAM_BYTES and not full.fits()
    assert mcu_training_memory(arch, method="bias", optimizer="sgd").fits()
    assert mcu_training_memory(arch, method="last_k", layers=1, optimizer="sgd").fits()
    assert mcu_training_memory(arch, method="bias", optimizer="adam").fits()


def test_mcu_split_keeps_frozen_weights_in_flash() -> None:
    arch = get_architecture("ds-cnn")
    bias = mcu_training_memory(arch, method="bias")
    assert bias.flash_bytes == arch.total_params  # int8 image
    assert bias.trainable_weights_bytes == 4 * bias.trainable_params  # fp32 copies in SRAM
    assert bias.sram_bytes == bias.trainable_weights_bytes + bias.gradients_bytes + bias.optimizer_bytes + bias.activations_bytes


def test_ds_cnn_int8_inference_matches_hello_edge_38_6kb() -> None:
    arch = get_architecture("ds-cnn")
    assert inference_memory(arch, batch=1, precision="int8") / 1000 == pytest.approx(38.6, rel=0.05)


# ---------------------------------------------------------------- the Lock helper


def test_min_ram_to_finetune_last_k_is_the_last_k_total() -> None:
    arch = get_architecture("mobilenetv2")
    ram = min_ram_to_finetune_last_k(arch, k=3, batch=1)
    assert ram == training_memory(arch, method="last_k", layers=3, batch=1).total_bytes
    assert ram > inference_memory(arch, batch=1, precision="fp32")
    assert min_ram_to_finetune_last_k(arch, k=4, batch=1) > ram


# ---------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(CNNS),
    method=st.sampled_from(["full", "last_k", "lora", "tinytl", "bias", "norm_last"]),
    batch=st.integers(min_value=1, max_value=64),
)
def test_memory_is_monotone_in_batch(name: str, method: str, batch: int) -> None:
    arch = get_architecture(name)
    small = training_memory(arch, method=method, batch=batch)
    big = training_memory(arch, method=method, batch=batch + 1)
    assert big.total_bytes > small.total_bytes
    assert big.stored_activations_bytes >= small.stored_activations_bytes
    assert big.weights_bytes == small.weights_bytes


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(ARCHITECTURE_NAMES), rank=st.integers(min_value=1, max_value=128))
def test_memory_is_monotone_in_rank(name: str, rank: int) -> None:
    arch = get_architecture(name)
    lo = training_memory(arch, method="lora", batch=1, rank=rank, precision=arch.default_precision)
    hi = training_memory(arch, method="lora", batch=1, rank=rank + 1, precision=arch.default_precision)
    assert hi.trainable_params > lo.trainable_params
    assert hi.total_bytes > lo.total_bytes


@settings(max_examples=20, deadline=None)
@given(name=st.sampled_from(CNNS), k=st.integers(min_value=1, max_value=17))
def test_memory_is_monotone_in_trainable_blocks(name: str, k: int) -> None:
    arch = get_architecture(name)
    k = min(k, arch.num_blocks - 1)
    lo = training_memory(arch, method="last_k", batch=2, layers=k)
    hi = training_memory(arch, method="last_k", batch=2, layers=k + 1)
    assert hi.trainable_params >= lo.trainable_params
    assert hi.total_bytes >= lo.total_bytes


def test_results_are_deterministic() -> None:
    arch = get_architecture("resnet50")
    assert training_memory(arch, method="tinytl", batch=3) == training_memory(arch, method="tinytl", batch=3)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "prune"}, "method"),
        ({"method": "full", "batch": 0}, "batch"),
        ({"method": "full", "batch": True}, "batch"),
        ({"method": "full", "precision": "int8"}, "precision"),
        ({"method": "full", "optimizer": "lion"}, "optimizer"),
        ({"method": "lora", "rank": 0}, "rank"),
        ({"method": "lora", "targets": ("q",)}, "targets"),
        ({"method": "lora", "targets": "pw"}, "targets"),
        ({"method": "lora", "targets": ("dw",)}, "targets"),
        ({"method": "last_k", "layers": 21}, "layers"),
        ({"method": "full", "frozen_weight_bytes": 3}, "frozen_weight_bytes"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict, message: str) -> None:
    arch = get_architecture("mobilenetv2")
    kwargs.setdefault("batch", 1)
    with pytest.raises(ValueError, match=message):
        training_memory(arch, **kwargs)


def test_methods_that_do_not_apply_are_refused() -> None:
    arch = get_architecture(LLAMA)
    assert supported_methods(arch) == ("full", "last_k", "lora", "norm_last")
    for method in ("bias", "tinytl"):
        with pytest.raises(ValueError, match="method"):
            training_memory(arch, method=method, batch=1)
    with pytest.raises(ValueError, match="arch"):
        training_memory("llama3-70b", method="full", batch=1)  # type: ignore[arg-type]  # a name, not an Architecture, on purpose
    with pytest.raises(ValueError, match="precision"):
        inference_memory(arch, batch=1, precision="fp8")


def test_arrays_are_not_mutated_by_accounting() -> None:
    arch = get_architecture("resnet50")
    before = arch.arrays.tensor_elems.copy()
    training_memory(arch, method="tinytl", batch=8)
    assert np.array_equal(before, arch.arrays.tensor_elems)
