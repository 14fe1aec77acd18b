"""North Stars as guardrails, against hand arithmetic from the papers' layer shapes."""

from __future__ import annotations

import pytest

from edgequest.campaign.loader import load_campaign
from edgequest.engine.architectures import get_architecture
from edgequest.engine.realtime import loop_budget, longest_training_kernel_s, mean_power_w
from edgequest.game.play import simulate_design

CAMPAIGN = load_campaign()


def test_resnet50_longest_training_kernel_is_its_stem_at_a_large_batch() -> None:
    # The 7x7 stem conv: 64 filters of 7 x 7 x 3 over 112 x 112 outputs (He et al., Table 1).
    stem_macs = 7 * 7 * 3 * 64 * 112 * 112
    assert stem_macs == 118_013_952
    by_hand = 2 * stem_macs * 64 / 5.3e12
    got = longest_training_kernel_s(get_architecture("resnet50"), batch=64, compute_flops_per_s=5.3e12,
                                    memory_bandwidth_bytes_per_s=200e9)
    assert got == pytest.approx(by_hand, rel=0.01)
    half = longest_training_kernel_s(get_architecture("resnet50"), batch=32, compute_flops_per_s=5.3e12,
                                     memory_bandwidth_bytes_per_s=200e9)
    assert half == pytest.approx(got / 2, rel=0.01)


def test_a_loop_misses_its_period_when_work_and_one_kernel_exceed_it() -> None:
    assert loop_budget(period_s=0.010, loop_s=0.008, blocking_s=0.0019).met
    late = loop_budget(period_s=0.010, loop_s=0.008, blocking_s=0.0021)
    assert not late.met and late.slack_s == pytest.approx(-0.0001)


def test_mean_power_by_hand() -> None:
    # 15 mW for 1 hour, 0.01 mW the other 23: (15 + 23 x 0.01) / 24 mW.
    assert mean_power_w(active_w=15e-3, sleep_w=1e-5, busy_s_per_day=3600) == pytest.approx((15 + 23 * 0.01) / 24 * 1e-3)
    with pytest.raises(ValueError, match="active_w"):
        mean_power_w(active_w=0, sleep_w=0, busy_s_per_day=1)


def _part1(track: str, **controls: object) -> dict:
    return simulate_design(CAMPAIGN[track].part(1), controls, 0).metrics


def test_edge_guardian_a_large_batch_steals_the_safety_loop() -> None:
    small, large = _part1("edge-guardian", method="lora", batch=8), _part1("edge-guardian", method="lora", batch=64)
    assert small["loop_worst_ms"] <= 10 < large["loop_worst_ms"]
    # The kernel is set by the batch, not by what trains: the forward pass runs every layer.
    assert _part1("edge-guardian", method="bias", batch=64)["loop_kernel_ms"] == large["loop_kernel_ms"]


def test_mobile_nomad_a_large_batch_drops_frames() -> None:
    assert _part1("mobile-nomad", batch=8)["loop_worst_ms"] <= 1000 / 60
    assert _part1("mobile-nomad", batch=64)["loop_worst_ms"] > 1000 / 60


def test_tiny_pioneer_mean_power_counts_inference_and_training() -> None:
    m = _part1("tiny-pioneer", method="bias", batch=1, optimizer="sgd")
    # DS-CNN small: 5.4 M operations an inference (Zhang et al., Hello Edge, 2017), once every
    # 2 s at 64 MFLOP/s and 15 mW, 0.01 mW asleep.
    inference_busy = 5.4e6 / 64e6 * 86_400 / 2
    floor = 0.01 + (15 - 0.01) * inference_busy / 86_400
    assert m["mean_power_mw"] == pytest.approx(floor + (15 - 0.01) * m["training_s_per_day"] / 86_400, rel=0.03)
    assert m["mean_power_mw"] < 1
