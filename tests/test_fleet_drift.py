"""Part 2's non-IID lesson, by experiment: client drift, the skew control, compression, links.

The truths are computed by the engine on the tracks' own fleets (several seeds each);
byte counts and delivered shares are checked against formulas written here.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgequest.campaign import load_campaign
from edgequest.engine import compression, fedavg
from edgequest.engine.federated_data import skew_weight
from edgequest.game.play import resolve_controls, simulate_design
from edgequest.simulators import fleet

SEEDS = (0, 1, 2)
CAMPAIGN = load_campaign()


def _part(track: str):
    return CAMPAIGN[track].part(2)


def _run(part, alpha: float, epochs: int, seed: int, **more) -> fedavg.FedAvgResult:
    settings = dict(rounds=100, clients=20, local_epochs=epochs, reliability=1.0,
                    lr=float(part.param("lr")), batch_size=int(part.param("batch_size")))
    settings.update(more)
    return fedavg.run_fedavg(fleet.world(part, alpha=alpha), rng=np.random.default_rng(seed), **settings)


@pytest.mark.parametrize("track", ["edge-guardian", "mobile-nomad"])
def test_many_local_epochs_fall_behind_a_few_under_extreme_skew(track):
    part = _part(track)
    few = np.mean([_run(part, 0.05, 2, s).final_accuracy for s in SEEDS])
    many = np.mean([_run(part, 0.05, 10, s).final_accuracy for s in SEEDS])
    assert many < few


@pytest.mark.parametrize("track", ["edge-guardian", "mobile-nomad", "cloud-titan"])
def test_near_iid_data_reward_local_work_and_reach_the_target_sooner(track):
    part = _part(track)
    target = float(part.param("target_accuracy"))
    for seed in SEEDS:
        iid = fedavg.rounds_to_target(_run(part, 100.0, 5, seed).accuracy, target)
        skewed = fedavg.rounds_to_target(_run(part, 0.05, 5, seed).accuracy, target)
        assert iid is not None
        assert skewed is None or iid < skewed
    one = np.mean([_run(part, 100.0, 1, s).final_accuracy for s in SEEDS])
    ten = np.mean([_run(part, 100.0, 10, s).final_accuracy for s in SEEDS])
    assert ten > one


def test_feature_skew_follows_the_label_skew():
    assert skew_weight(0.0) == 1.0
    assert skew_weight(3.0) == pytest.approx(0.5)
    assert skew_weight(99.0) == pytest.approx(0.1)
    assert skew_weight(float("inf")) == 0.0


@pytest.mark.parametrize("track", ["edge-guardian", "mobile-nomad", "cloud-titan"])
def test_int8_sends_a_quarter_of_fp32_bytes(track):
    part = _part(track)
    gb = {}
    for fmt in ("fp32", "int8"):
        controls = resolve_controls(part, dict(rounds=40, clients=10, local_epochs=2, update_format=fmt))
        gb[fmt] = simulate_design(part, controls, 0).metrics["gb_transferred"]
    assert gb["int8"] / gb["fp32"] == pytest.approx(0.25, rel=0.10)


def test_bits_per_parameter_of_each_format():
    expected = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4, "topk10": 0.1 * (32 + 32)}
    for fmt, bits in expected.items():
        assert compression.bits_per_parameter(fmt) == pytest.approx(bits)
        assert compression.payload_bytes(1_000_000, fmt) == pytest.approx(bits * 1_000_000 / 8)
    with pytest.raises(ValueError, match="update_format must be one of"):
        compression.bits_per_parameter("int2")


def test_quantisers_are_real_and_top_k_keeps_what_it_drops():
    rng = np.random.default_rng(0)
    update = rng.standard_normal((10, 31)).astype(np.float32)
    half = compression.Compressor("fp16").compress(update)
    assert np.array_equal(half, update.astype(np.float16).astype(np.float32))
    for fmt, levels in (("int8", 127), ("int4", 7)):
        out = compression.Compressor(fmt).compress(update)
        scale = np.abs(update).max(axis=1, keepdims=True) / levels
        assert np.all(np.abs(out - update) <= scale / 2 + 1e-6)
        assert np.all(np.abs(np.rint(out / scale) * scale - out) < 1e-5)
        assert len(np.unique(np.rint(out / scale))) <= 2 * levels + 1
    top = compression.Compressor("topk10")
    sent_total = np.zeros_like(update)
    updates = [rng.standard_normal((10, 31)).astype(np.float32) for _ in range(5)]
    for u in updates:
        sent = top.compress(u)
        assert np.count_nonzero(sent) == 31  # 10% of 310
        sent_total += sent
    # Error feedback: what was sent plus what is still held is everything that was given.
    assert np.allclose(sent_total + top._residual, np.sum(updates, axis=0), atol=1e-5)


def test_compression_costs_accuracy_only_through_the_update():
    part = _part("mobile-nomad")
    fp32 = _run(part, 0.5, 2, 0, rounds=30)
    assert np.array_equal(fp32.accuracy, _run(part, 0.5, 2, 0, rounds=30, update_format="fp32").accuracy)
    int4 = _run(part, 0.5, 2, 0, rounds=30, update_format="int4")
    assert not np.array_equal(fp32.accuracy, int4.accuracy)
    assert abs(int4.final_accuracy - fp32.final_accuracy) < 0.05


@pytest.mark.parametrize("control", [0.3, 0.75, 0.9])
def test_the_share_of_uploads_delivered_matches_the_reliability_control(control):
    part = _part("edge-guardian")
    delivered = attempted = 0
    for seed in SEEDS:
        r = _run(part, 0.5, 1, seed, clients=50, reliability=control)
        delivered += int(r.uploads_succeeded.sum())
        attempted += int(r.uploads_attempted.sum())
    # 15,000 uploads: three binomial standard deviations are under 1.2 points.
    assert delivered / attempted == pytest.approx(control, abs=0.012)


@pytest.mark.parametrize("track", ["edge-guardian", "mobile-nomad", "cloud-titan"])
def test_the_lock_s_extreme_run_falls_back_and_its_curve_is_shown_at_the_reveal(track):
    part = _part(track)
    for seed in SEEDS:
        assert fleet.truth_rounds_always_help(part, np.random.default_rng(seed)) == "no"
    notes = fleet.reveal_notes(part)
    assert notes and f"alpha {part.param('lock_alpha')}" in notes[0]
    assert any(ch in notes[2] for ch in "▁▂▃▄▅▆▇█")


def test_the_iid_reference_is_the_same_design_on_iid_data_and_skipped_at_iid_skew():
    part = _part("mobile-nomad")
    design = resolve_controls(part, dict(rounds=20, clients=10, local_epochs=2, alpha=0.05))
    skewed = simulate_design(part, design, 0).metrics
    reference = skewed["iid_curve"]
    assert len(reference) == 20
    iid = simulate_design(part, {**design, "alpha": 100.0}, 0).metrics
    assert "iid_curve" not in iid
    # Same design (at most REFERENCE_CLIENTS a round), same fleet with IID data, its own generator.
    again = fleet.iid_reference(part, {**design, "alpha": 0.5})
    assert again == reference
    assert reference[-1]["accuracy"] > skewed["accuracy"]


def test_ble_energy_per_bit_comes_from_the_radio_s_power_and_rate():
    from edgequest.engine.gossip import ble_nj_per_bit, radio_cost

    # nRF52840 at 3 V: 6.4 mA TX, 6.3 mA RX; 0.8 Mb/s of application throughput.
    assert ble_nj_per_bit(6.4 * 3, 6.3 * 3, 0.8) == pytest.approx((19.2 + 18.9) / 2 / 0.8)
    assert ble_nj_per_bit(19.2, 19.2, 0.8) == pytest.approx(24.0)
    # 1,000 bytes at 24 nJ/bit plus 1 mJ of scanning, once a minute.
    airtime, energy, power = radio_cost(1000, ble_mbps=0.8, nj_per_bit=24.0, sync_interval_s=60, overhead_j=1e-3)
    assert airtime == pytest.approx(8000 / 0.8e6)
    assert energy == pytest.approx(8000 * 24e-9 + 1e-3)
    assert power == pytest.approx(energy / 60 * 1e3)
    part = _part("tiny-pioneer")
    nj, scan_j = fleet.ble_energy(part)
    assert nj == pytest.approx(23.8, abs=0.1)
    assert scan_j == pytest.approx(0.050 * 18.9e-3)


@pytest.mark.parametrize("track", ["edge-guardian", "mobile-nomad", "cloud-titan"])
def test_the_skew_control_steps_on_readable_values_from_the_lock_s_extreme_to_iid(track):
    from edgequest.tui import stepping

    control = _part(track).control("alpha")
    value, down = control.default, []
    while value > control.min:
        value = stepping.step(control, value, -1)
        down.append(value)
    assert down[-1] == 0.01 == float(_part(track).param("lock_alpha"))
    value, up = control.default, []
    while value < control.max:
        value = stepping.step(control, value, +1)
        up.append(value)
    assert up[-1] == 100.0
    assert set(down + up) <= {m * 10.0 ** e for e in range(-2, 3) for m in (1, 2, 5)} | {0.01, 100.0}
    assert len(down + up) >= 10
