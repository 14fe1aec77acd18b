"""Part 1, the Memory-Accuracy Frontier: what on-device adaptation costs and buys.

A run adapts the track's real model with one method and reports:

- the training-memory waterfall of that model (``engine.memory``) against the device's
  budget, and its amplification over inference;
- the personalization accuracy that method reaches, measured on a small proxy network
  really fine-tuned on a shifted user distribution (``engine.personalization``);
- the track's crisis lever: Cloud Titan's adapter cache (``engine.adapter_cache``),
  Mobile Nomad's battery (``engine.energy``), Tiny Pioneer's SRAM wall
  (``engine.memory.mcu_training_memory``).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from edgequest.campaign.schema import Part, Scalar
from edgequest.engine import adapter_cache, energy, memory, personalization
from edgequest.engine.architectures import get_architecture
from edgequest.numbers import number
from edgequest.simulators.base import Model, Peek, Requirement
from edgequest.simulators.registry import register

METHODS = ("full", "last_k", "lora", "tinytl", "bias")
CRISES = ("none", "adapter_cache", "battery", "sram")
TARGET_SETS = {"q_v": ("q", "v"), "attention": ("q", "k", "v", "o"), "all": ("q", "k", "v", "o", "gate", "up", "down")}
BASE_BYTES = {"bf16": 2, "fp8": 1}
PROXY_LAYERS = len(personalization.LAYER_SIZES) - 1
MB = 1e6


def _arch(part: Part):
    name = part.param("architecture")
    size = int(part.param("input_size"))
    if name == "llama3-70b":
        return get_architecture(name, seq_len=size)
    if name == "ds-cnn":
        return get_architecture(name)
    return get_architecture(name, resolution=size)


def _targets(part: Part, controls: Mapping[str, Scalar]) -> tuple[str, ...] | None:
    return TARGET_SETS[str(controls["targets"])] if "targets" in controls else None


def _frozen_bytes(controls: Mapping[str, Scalar]) -> int | None:
    return BASE_BYTES[str(controls["base_precision"])] if "base_precision" in controls else None


def _waterfall(part: Part, controls: Mapping[str, Scalar], *, method: str, layers: int, optimizer: str):
    return memory.training_memory(
        _arch(part), method=method, batch=int(controls["batch"]), precision=str(part.param("precision")),
        optimizer=optimizer, layers=layers, rank=int(controls["rank"]), targets=_targets(part, controls),
        frozen_weight_bytes=_frozen_bytes(controls),
    )


def simulate(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator) -> dict[str, Any]:
    method = str(controls["method"])
    layers, rank, batch = int(controls["layers"]), int(controls["rank"]), int(controls["batch"])
    optimizer = str(controls["optimizer"])
    crisis = str(part.param("crisis"))
    arch = _arch(part)

    if crisis == "sram":
        mcu = memory.mcu_training_memory(arch, method=method, batch=batch, optimizer=optimizer, layers=layers,
                                         rank=rank, precision=str(part.param("precision")))
        budget_bytes = float(part.param("sram_kb")) * 1024
        memory_mb = {
            "weights": mcu.trainable_weights_bytes / MB, "gradients": mcu.gradients_bytes / MB,
            "optimizer": mcu.optimizer_bytes / MB, "activations": mcu.activations_bytes / MB,
            "total": mcu.sram_bytes / MB,
        }
        inference_bytes = memory.inference_memory(arch, batch=1, precision="int8")
        trainable, total_bytes = mcu.trainable_params, mcu.sram_bytes
    else:
        wf = _waterfall(part, controls, method=method, layers=layers, optimizer=optimizer)
        budget_bytes = float(part.param("budget_mb")) * MB
        memory_mb = {k: wf.to_mb()[f"{k}_mb"] for k in ("weights", "gradients", "optimizer", "activations", "total")}
        inference_bytes, trainable, total_bytes = wf.inference_bytes, wf.trainable_params, wf.total_bytes
        if controls.get("base_precision") == "fp8":
            # Amplification compares like with like: serving from the same 8-bit base.
            inference_bytes = memory.inference_memory(arch, batch=batch, precision="int8")

    # Accuracy: the same method really fine-tunes a small proxy network on the user's data.
    # last_k trains the same share of the proxy's depth as of the real network's blocks,
    # so the last 3 of ResNet-50's 18 blocks are not mistaken for the whole proxy.
    proxy_layers = max(1, min(PROXY_LAYERS, math.ceil(PROXY_LAYERS * layers / arch.num_blocks)))
    proxy = personalization.personalize(
        method=method, rank=min(rank, personalization.MAX_RANK), layers=proxy_layers,
        user_samples=int(part.param("user_samples")), shift=float(part.param("shift")), rng=rng,
        world_seed=int(part.param("world_seed")),
    )
    metrics: dict[str, Any] = {
        "memory_mb": {k: round(float(v), 4) for k, v in memory_mb.items()},
        "inference_mb": round(inference_bytes / MB, 4),
        "budget_mb": round(budget_bytes / MB, 4),
        "fits": bool(total_bytes <= budget_bytes),
        "trainable_params": int(trainable),
        # What a device sends after adapting: its trainable parameters, at training precision.
        "update_mb": round(trainable * memory.PRECISIONS[str(part.param("precision"))].weight_bytes / MB, 6),
        "amplification": round(total_bytes / inference_bytes, 3),
        "accuracy": round(proxy.accuracy_after, 4),
        "accuracy_before": round(proxy.accuracy_before, 4),
    }
    if crisis == "adapter_cache":
        metrics.update(_adapter_cache_metrics(part, controls))
    elif crisis == "battery":
        metrics.update(_battery_metrics(part, controls, arch))
    elif crisis == "sram":
        metrics.update({
            "sram_kb": round(total_bytes / 1024, 2), "sram_budget_kb": float(part.param("sram_kb")),
            "flash_kb": round(mcu.flash_bytes / 1024, 2), "flash_budget_kb": float(part.param("flash_kb")),
            "fits_sram": bool(total_bytes <= budget_bytes and mcu.flash_bytes <= float(part.param("flash_kb")) * 1024),
        })
    return metrics


def _adapter_cache_metrics(part: Part, controls: Mapping[str, Scalar]) -> dict[str, Any]:
    result = adapter_cache.adapter_cache(
        rank=int(controls["rank"]), targets=TARGET_SETS[str(controls["targets"])],
        base_precision=str(controls["base_precision"]), hbm_cache_gb=float(controls["hbm_cache_gb"]),
        host_cache_gb=float(controls["host_cache_gb"]), policy=str(controls["policy"]),
        zipf_s=float(part.param("zipf_s")), n_adapters=int(part.param("n_adapters")),
        kv_reserve_gb=float(part.param("kv_reserve_gb")),
    )
    return {
        "cache": {
            "hbm_hit_rate": round(result.hbm_hit_rate, 4),
            "host_hit_rate": round(result.host_hit_rate, 4),
            "miss_rate": round(result.miss_rate, 4),
        },
        "adapter_mb": round(result.adapter_mb, 3),
        "cache_fits": bool(result.fits),
        "added_latency_ms": round(result.added_latency_ms, 4),
        "tokens_per_s": round(result.tokens_per_s, 1),
    }


def _battery_metrics(part: Part, controls: Mapping[str, Scalar], arch) -> dict[str, Any]:
    processor = str(controls["processor"])
    rate = float(part.param(f"{processor}_tflops")) * 1e12
    power = float(part.param(f"{processor}_w"))
    bandwidth = float(part.param("memory_gbps")) * 1e9
    common = dict(compute_flops_per_s=rate, power_w=power, memory_bandwidth_bytes_per_s=bandwidth)
    samples = int(part.param("samples_per_session"))
    session = energy.adaptation_energy(
        arch, method=str(controls["method"]), samples=samples, epochs=int(part.param("epochs_per_session")),
        batch=int(controls["batch"]), precision=str(part.param("precision")), optimizer=str(controls["optimizer"]),
        layers=int(controls["layers"]), rank=int(controls["rank"]), **common,
    )
    serving = energy.inference_energy(arch, samples=samples, precision=str(part.param("precision")), **common)
    pct = energy.battery_percent_per_day(session.energy_wh, float(part.param("sessions_per_day")),
                                         float(part.param("battery_wh")))
    return {
        "battery_pct_per_day": round(pct, 4),
        "session_wh": round(session.energy_wh, 5),
        "session_s": round(session.time_s, 3),
        "drain_ratio": round(energy.training_to_inference_energy_ratio(session, serving), 3),
    }


# ----------------------------------------------------------------------------- the Lock


def lock_context(part: Part) -> dict[str, Any]:
    arch = _arch(part)
    batch = int(part.param("lock_batch"))
    return {
        "inference_mb": round(memory.inference_memory(arch, batch=batch, precision=str(part.param("precision"))) / MB, 1),
        "k": int(part.param("lock_layers")),
        "batch": batch,
    }


def truth_min_ram_last_k(part: Part, rng: np.random.Generator) -> float:
    """Minimum RAM (MB) to fine-tune the last k blocks with Adam at the Lock's batch."""
    arch = _arch(part)
    total = memory.min_ram_to_finetune_last_k(
        arch, k=int(part.param("lock_layers")), batch=int(part.param("lock_batch")),
        precision=str(part.param("precision")), optimizer="adam",
    )
    return round(total / MB, 2)


# ----------------------------------------------------------------------------- Math Peek


def peek(part: Part, controls: Mapping[str, Scalar], metrics: Mapping[str, Any]) -> list[Peek]:
    m = metrics.get("memory_mb", {})
    panels = [
        Peek(
            title="Training memory",
            formula="M_train = W + G + O + A;  amplification = M_train / M_inference",
            substituted=(
                f"{m.get('weights', 0):.1f} + {m.get('gradients', 0):.1f} + {m.get('optimizer', 0):.1f} + "
                f"{m.get('activations', 0):.1f} = {m.get('total', 0):.1f} MB;  "
                f"{number(m.get('total', 0))} / {number(metrics.get('inference_mb', 0))} = "
                f"{number(metrics.get('amplification', 0))}x"
            ),
            source="Book, Edge Intelligence (4-12x); ZeRO, SC 2020 (16 B/param for mixed-precision Adam); "
            "TinyTL, NeurIPS 2020 (bias gradients need no stored inputs; ReLU keeps a 1-bit mask)",
        ),
        Peek(
            title="Personalization accuracy",
            formula="accuracy = held-out user accuracy of a proxy MLP adapted with the same method",
            substituted=(
                f"{controls.get('method')} ({metrics.get('trainable_params', 0):,} trainable on the real model): "
                f"{metrics.get('accuracy_before', 0):.1%} before -> {metrics.get('accuracy', 0):.1%} after"
            ),
            source="LoRA (Hu et al., ICLR 2022); TinyTL (Cai et al., NeurIPS 2020); simulated by EdgeQuest",
        ),
    ]
    if "cache" in metrics:
        c = metrics["cache"]
        panels.append(Peek(
            title="Adapter cache",
            formula="Che: sum_i (1 - exp(-p_i T)) = C;  hit_i = 1 - exp(-p_i T);  t_swap = bytes / bandwidth",
            substituted=(
                f"adapter {metrics['adapter_mb']:.1f} MB;  HBM {c['hbm_hit_rate']:.1%}, host {c['host_hit_rate']:.1%}, "
                f"NVMe {c['miss_rate']:.1%};  +{metrics['added_latency_ms']:.2f} ms/request, "
                f"{metrics['tokens_per_s']:.0f} tokens/s"
            ),
            source="Che, Tung, Wang 2002; Fricker, Robert, Roberts 2012; S-LoRA (MLSys 2024)",
        ))
    if "battery_pct_per_day" in metrics:
        panels.append(Peek(
            title="Battery",
            formula="E = max(FLOPs / rate, bytes / bandwidth) x P;  % per day = 100 x E x sessions / battery",
            substituted=(
                f"{metrics['session_wh']:.3f} Wh x {part.param('sessions_per_day')} / {part.param('battery_wh')} Wh "
                f"= {metrics['battery_pct_per_day']:.2f}% per day;  training drains {metrics['drain_ratio']:.1f}x "
                "inference per sample"
            ),
            source="Book: 4.5 W x 30 min = 15% of 15 Wh; policy < 5% per day",
        ))
    if "sram_kb" in metrics:
        panels.append(Peek(
            title="SRAM wall",
            formula="SRAM = trainable copies + gradients + optimizer state + activations;  frozen weights in flash",
            substituted=f"{metrics['sram_kb']:.1f} KiB of {metrics['sram_budget_kb']:.0f} KiB SRAM; "
            f"flash {metrics['flash_kb']:.1f} KiB",
            source="MCUNetV3 (Lin et al., NeurIPS 2022); nRF52840 datasheet (256 KiB SRAM, 1 MiB flash)",
        ))
    return panels


MODEL = register(Model(
    name="frontier",
    simulate=simulate,
    params=(
        Requirement("architecture", "text", choices=("llama3-70b", "resnet50", "mobilenetv2", "proxylessnas-mobile", "ds-cnn")),
        Requirement("input_size", low=1),
        Requirement("precision", "text", choices=memory.TRAINING_PRECISIONS),
        Requirement("user_samples", low=8, high=personalization.MAX_USER_SAMPLES),
        Requirement("shift", low=0, high=personalization.MAX_SHIFT),
        Requirement("world_seed", low=0),
        Requirement("crisis", "text", choices=CRISES),
        Requirement("lock_layers", low=1),
        Requirement("lock_batch", low=1),
    ),
    controls=(
        Requirement("method", choices=METHODS),
        Requirement("layers", low=1, high=100),
        Requirement("rank", low=1, high=1024),
        Requirement("optimizer", choices=("adam", "sgd", "sgd_momentum")),
        Requirement("batch", low=1, high=4096),
    ),
    metrics=frozenset({
        "memory_mb.weights", "memory_mb.gradients", "memory_mb.optimizer", "memory_mb.activations",
        "memory_mb.total", "inference_mb", "budget_mb", "fits", "trainable_params", "update_mb", "amplification",
        "accuracy", "accuracy_before",
    }),
    truths={"min_ram_last_k": truth_min_ram_last_k},
    variants={
        ("crisis", "none"): ((Requirement("budget_mb", low=0),), (), frozenset()),
        ("crisis", "adapter_cache"): (
            (Requirement("budget_mb", low=0), Requirement("zipf_s", low=0.1, high=3),
             Requirement("n_adapters", low=1), Requirement("kv_reserve_gb", low=0)),
            (Requirement("targets", choices=tuple(TARGET_SETS)), Requirement("base_precision", choices=tuple(BASE_BYTES)),
             Requirement("hbm_cache_gb", low=0), Requirement("host_cache_gb", low=0),
             Requirement("policy", choices=("lru", "lfu"))),
            frozenset({"cache.hbm_hit_rate", "cache.host_hit_rate", "cache.miss_rate", "adapter_mb", "cache_fits",
                       "added_latency_ms", "tokens_per_s"}),
        ),
        ("crisis", "battery"): (
            (Requirement("budget_mb", low=0), Requirement("battery_wh", low=0.001), Requirement("sessions_per_day", low=0),
             Requirement("samples_per_session", low=1), Requirement("epochs_per_session", low=1),
             Requirement("memory_gbps", low=0.001),
             *(Requirement(f"{p}_{unit}", low=1e-6) for p in ("cpu", "gpu", "npu") for unit in ("tflops", "w"))),
            (Requirement("processor", choices=("cpu", "gpu", "npu")),),
            frozenset({"battery_pct_per_day", "session_wh", "session_s", "drain_ratio"}),
        ),
        ("crisis", "sram"): (
            (Requirement("sram_kb", low=1), Requirement("flash_kb", low=1)),
            (),
            frozenset({"sram_kb", "sram_budget_kb", "flash_kb", "flash_budget_kb", "fits_sram"}),
        ),
    },
    peek=peek,
    lock_context=lock_context,
))
