"""Adaptation energy: FLOP rules, roofline time, battery share and the book's anchors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from edgequest.engine.architectures import get_architecture
from edgequest.engine.energy import (
    BOOK_BATTERY_POLICY_PERCENT_PER_DAY,
    adaptation_energy,
    battery_percent_per_day,
    inference_energy,
    inference_flops_per_sample,
    session_energy_wh,
    training_flops_per_sample,
    training_step_cost,
    training_to_inference_energy_ratio,
    within_battery_policy,
)

PHONE = {"compute_flops_per_s": 1e12, "memory_bandwidth_bytes_per_s": 51.2e9, "power_w": 4.5}


# ---------------------------------------------------------------- book anchors


def test_book_anchor_4_5w_for_30_minutes_is_15_percent_of_15wh() -> None:
    wh = session_energy_wh(4.5, 30 * 60)
    assert wh == pytest.approx(2.25)
    assert battery_percent_per_day(wh, 1, 15.0) == pytest.approx(15.0)
    assert not within_battery_policy(15.0)
    assert within_battery_policy(4.9) and BOOK_BATTERY_POLICY_PERCENT_PER_DAY == 5.0


def test_session_pipeline_reproduces_the_15_percent_anchor() -> None:
    # A device whose compute rate makes this session last exactly 30 minutes at 4.5 W.
    arch = get_architecture("mobilenetv2")
    step = training_step_cost(arch, method="tinytl", batch=8)
    steps = 250  # 2000 samples / batch 8
    rate = step.flops * steps / 1800.0
    session = adaptation_energy(arch, method="tinytl", samples=2000, batch=8, compute_flops_per_s=rate, power_w=4.5)
    assert session.steps == steps and session.bound == "compute"
    assert session.time_s == pytest.approx(1800.0)
    assert battery_percent_per_day(session.energy_wh, 1, 15.0) == pytest.approx(15.0)


# ---------------------------------------------------------------- FLOP rules


def test_full_backward_is_about_twice_forward() -> None:
    f = training_flops_per_sample(get_architecture("resnet50"), method="full")
    assert 1.9 <= f.backward_flops / f.forward_flops <= 2.01
    assert f.forward_flops == inference_flops_per_sample(get_architecture("resnet50"))


def test_llama_full_finetune_is_about_6_flops_per_param_per_token() -> None:
    arch = get_architecture("llama3-70b", seq_len=2048)
    f = training_flops_per_sample(arch, method="full")
    non_embedding = arch.total_params - 128256 * 8192
    per_token = f.total_flops / 2048
    # 6N plus the attention matmuls (2*s*h per token per layer, x3 for forward and backward).
    attention = 3 * 2 * 2 * 2048 * 8192 * 80
    assert per_token == pytest.approx(6 * non_embedding + attention, rel=0.01)


def test_last_layer_needs_almost_no_backward_and_bias_needs_one_forward() -> None:
    arch = get_architecture("mobilenetv2")
    last = training_flops_per_sample(arch, method="last_k", layers=1)
    bias = training_flops_per_sample(arch, method="bias")
    assert last.backward_flops < 0.01 * last.forward_flops
    # Input gradients through every layer, weight gradients only for the classifier.
    assert 0.9 <= bias.backward_flops / bias.forward_flops <= 1.05


def test_lora_adds_adapter_flops_to_forward() -> None:
    arch = get_architecture("llama3-70b", seq_len=512)
    lora = training_flops_per_sample(arch, method="lora", rank=16)
    full = training_flops_per_sample(arch, method="full")
    adapter_macs = 80 * 16 * ((8192 + 8192) + (8192 + 1024)) * 512
    assert lora.forward_flops == full.forward_flops + 2 * adapter_macs
    assert lora.backward_flops < full.backward_flops


# ---------------------------------------------------------------- roofline


def test_roofline_time_is_the_slower_of_compute_and_memory() -> None:
    arch = get_architecture("resnet50")
    step = training_step_cost(arch, method="full", batch=8)
    compute_bound = adaptation_energy(
        arch, method="full", samples=8, batch=8, compute_flops_per_s=1e9, memory_bandwidth_bytes_per_s=1e15, power_w=10
    )
    assert compute_bound.time_s == pytest.approx(step.flops / 1e9) and compute_bound.bound == "compute"
    memory_bound = adaptation_energy(
        arch, method="full", samples=8, batch=8, compute_flops_per_s=1e18, memory_bandwidth_bytes_per_s=1e9, power_w=10
    )
    assert memory_bound.time_s == pytest.approx(step.bytes_moved / 1e9) and memory_bound.bound == "memory"
    assert memory_bound.energy_j == pytest.approx(10 * memory_bound.time_s)
    assert memory_bound.energy_wh == pytest.approx(memory_bound.energy_j / 3600)
    # Balanced device: memory takes half the compute time; the step takes the compute time.
    rate = 1e11
    bandwidth = step.bytes_moved / (0.5 * step.flops / rate)
    balanced = adaptation_energy(
        arch, method="full", samples=16, batch=8, compute_flops_per_s=rate, memory_bandwidth_bytes_per_s=bandwidth, power_w=10
    )
    assert balanced.memory_time_s == pytest.approx(0.5 * balanced.compute_time_s)
    assert balanced.time_s == pytest.approx(balanced.compute_time_s)


def test_partial_last_batch_is_a_smaller_step() -> None:
    arch = get_architecture("ds-cnn")
    session = adaptation_energy(arch, method="bias", samples=10, batch=4, compute_flops_per_s=64e6, power_w=0.015)
    assert session.steps == 3 and session.samples == 10
    full = training_step_cost(arch, method="bias", batch=4)
    rest = training_step_cost(arch, method="bias", batch=2)
    assert session.flops == 2 * full.flops + rest.flops


def test_training_costs_more_energy_per_sample_than_inference() -> None:
    arch = get_architecture("mobilenetv2")
    train = adaptation_energy(arch, method="full", samples=800, batch=8, **PHONE)
    infer = inference_energy(arch, samples=800, batch=8, **PHONE)
    cheap = adaptation_energy(arch, method="last_k", layers=1, samples=800, batch=8, **PHONE)
    ratio = training_to_inference_energy_ratio(train, infer)
    assert ratio > 2
    assert training_to_inference_energy_ratio(cheap, infer) < ratio


def test_mcu_without_bandwidth_limit_is_compute_bound() -> None:
    arch = get_architecture("ds-cnn")
    s = adaptation_energy(arch, method="bias", samples=100, batch=1, compute_flops_per_s=64e6, power_w=0.015)
    assert s.bound == "compute" and s.memory_time_s == 0.0
    assert s.time_s == pytest.approx(s.flops / 64e6)


# ---------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None)
@given(samples=st.integers(min_value=1, max_value=5000), extra=st.integers(min_value=1, max_value=500))
def test_energy_grows_with_samples(samples: int, extra: int) -> None:
    arch = get_architecture("ds-cnn")
    kw = {"method": "last_k", "layers": 2, "batch": 8, **PHONE}
    assert adaptation_energy(arch, samples=samples + extra, **kw).energy_j > adaptation_energy(arch, samples=samples, **kw).energy_j


@settings(max_examples=50, deadline=None)
@given(
    wh=st.floats(min_value=0, max_value=100, allow_nan=False),
    n=st.floats(min_value=0, max_value=50, allow_nan=False),
    battery=st.floats(min_value=0.1, max_value=1000, allow_nan=False),
)
def test_battery_percent_is_linear_in_sessions(wh: float, n: float, battery: float) -> None:
    one = battery_percent_per_day(wh, 1, battery)
    assert battery_percent_per_day(wh, n, battery) == pytest.approx(n * one, rel=1e-12, abs=1e-12)


def test_energy_results_are_deterministic() -> None:
    arch = get_architecture("resnet50")
    kw = {"method": "tinytl", "samples": 100, "batch": 8, **PHONE}
    assert adaptation_energy(arch, **kw) == adaptation_energy(arch, **kw)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples": 0}, "samples"),
        ({"power_w": -1.0}, "power_w"),
        ({"compute_flops_per_s": math.nan}, "compute_flops_per_s"),
        ({"memory_bandwidth_bytes_per_s": 0.0}, "memory_bandwidth_bytes_per_s"),
        ({"epochs": 0}, "epochs"),
        ({"method": "distill"}, "method"),
        ({"optimizer": "lamb"}, "optimizer"),
    ],
)
def test_bad_session_arguments_raise(kwargs: dict, message: str) -> None:
    base = {"method": "full", "samples": 8, "compute_flops_per_s": 1e9, "power_w": 1.0}
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        adaptation_energy(get_architecture("ds-cnn"), **base)


def test_bad_battery_arguments_raise() -> None:
    with pytest.raises(ValueError, match="battery_wh"):
        battery_percent_per_day(1.0, 1, 0.0)
    with pytest.raises(ValueError, match="session_wh"):
        battery_percent_per_day(-1.0, 1, 15.0)
    with pytest.raises(ValueError, match="duration_s"):
        session_energy_wh(4.5, float("inf"))
