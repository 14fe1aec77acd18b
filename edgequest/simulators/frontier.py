"""Part 1, the Memory-Accuracy Frontier: what on-device adaptation costs and buys.

A run adapts the track's real model with one method and reports:

- the training-memory waterfall of that model (``engine.memory``) against the device's
  budget, and its amplification over inference;
- the personalization accuracy that method reaches, measured on a small proxy network
  really fine-tuned on a shifted user distribution (``engine.personalization``);
- the track's crisis lever: Cloud Titan's adapter cache (``engine.adapter_cache``),
  Mobile Nomad's battery (``engine.energy``), Tiny Pioneer's SRAM wall
  (``engine.memory.mcu_training_memory``);
- the track's North Star as a guardrail (``engine.realtime``): the real-time loop's worst case
  with a training kernel beside it (``loop_*`` params), or a microcontroller's mean power over
  a day with its training (``power_*`` params).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from edgequest.engine import adapter_cache, energy, memory, personalization, realtime
from edgequest.engine.architectures import get_architecture
from edgequest.numbers import number
from edgequest.simulators.base import Model, Peek, Requirement
from edgequest.simulators.metrics import FRONTIER
from edgequest.simulators.registry import register

if TYPE_CHECKING:  # the mission's types, for annotations only: the loader imports this package
    from edgequest.campaign.schema import Part, Scalar

METHODS = ("full", "last_k", "lora", "tinytl", "bias")
WATERFALL_KEYS = ("weights", "gradients", "optimizer", "activations", "stored_activations", "transient", "total")
CRISES = ("none", "adapter_cache", "battery", "sram")
TARGET_SETS = {"q_v": ("q", "v"), "attention": ("q", "k", "v", "o"), "all": ("q", "k", "v", "o", "gate", "up", "down")}
BASE_BYTES = {"bf16": 2, "fp8": 1}
PROXY_LAYERS = len(personalization.LAYER_SIZES) - 1
MB = 1e6
#: Fine-tunes of each design: its own draw (scored) and fixed others (the spread shown).
ACCURACY_REPLICATES = 3


def _arch(part: Part):
    name = str(part.param("architecture"))
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


def _train_precision(part: Part) -> str:
    """A bf16 model trains in mixed precision (fp32 master copy and moments); a mission keeps
    the states in bf16 only by saying so (``optimizer_states = "bf16"``)."""
    states = str(part.param("optimizer_states")) if "optimizer_states" in part.params else "fp32"
    return memory.training_precision_for(str(part.param("precision")), optimizer_states=states)


def _waterfall(part: Part, controls: Mapping[str, Scalar], *, method: str, layers: int, optimizer: str):
    return memory.training_memory(
        _arch(part), method=method, batch=int(controls["batch"]), precision=_train_precision(part),
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
        inference_bytes = _lock_inference_bytes(part, arch, 1)
        trainable, total_bytes = mcu.trainable_params, mcu.sram_bytes
        memory_mb.update(stored_activations=mcu.stored_activations_bytes / MB, transient=mcu.transient_bytes / MB)
        peak_phase = mcu.peak_phase
    else:
        wf = _waterfall(part, controls, method=method, layers=layers, optimizer=optimizer)
        budget_bytes = float(part.param("budget_mb")) * MB
        memory_mb = {k: wf.to_mb()[f"{k}_mb"] for k in WATERFALL_KEYS}
        peak_phase = wf.peak_phase
        inference_bytes, trainable, total_bytes = wf.inference_bytes, wf.trainable_params, wf.total_bytes
        if controls.get("base_precision") == "fp8":
            # Amplification compares like with like: serving from the same 8-bit base.
            inference_bytes = memory.inference_memory(arch, batch=batch, precision="int8")

    # Accuracy: the same method really fine-tunes a small proxy network on the user's data.
    # last_k trains the same share of the proxy's depth as of the real network's blocks,
    # so the last 3 of ResNet-50's 18 blocks are not mistaken for the whole proxy.
    proxy_layers = max(1, min(PROXY_LAYERS, math.ceil(PROXY_LAYERS * layers / arch.num_blocks)))

    def fine_tune(draw: np.random.Generator) -> personalization.PersonalizationResult:
        return personalization.personalize(
            method=method, rank=min(rank, personalization.MAX_RANK), layers=proxy_layers,
            user_samples=int(part.param("user_samples")), shift=float(part.param("shift")), rng=draw,
            world_seed=int(part.param("world_seed")),
        )

    proxy = fine_tune(rng)  # the design's own draw: the one the SPEC scores
    # A fine-tune's result depends on its initialisation and the order of its batches, so the
    # same design is also fine-tuned from a fixed set of other draws (children of its own
    # generator: the same for every student) and the run reports the spread.
    spread = [proxy.accuracy_after] + [fine_tune(child).accuracy_after for child in rng.spawn(ACCURACY_REPLICATES - 1)]
    metrics: dict[str, Any] = {
        "memory_mb": {k: round(float(v), 4) for k, v in memory_mb.items()},
        "inference_mb": round(inference_bytes / MB, 4),
        "budget_mb": round(budget_bytes / MB, 4),
        "fits": bool(total_bytes <= budget_bytes),
        "peak_phase": peak_phase,
        "trainable_params": int(trainable),
        # What a device sends after adapting: its trainable parameters, at training precision.
        "update_mb": round(trainable * memory.PRECISIONS[_train_precision(part)].weight_bytes / MB, 6),
        "amplification": round(total_bytes / inference_bytes, 3),
        "accuracy": round(proxy.accuracy_after, 4),
        "accuracy_before": round(proxy.accuracy_before, 4),
        "accuracy_low": round(min(spread), 4),
        "accuracy_high": round(max(spread), 4),
    }
    metrics.update(_north_star_metrics(part, controls, arch))
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
        "base_fits_hbm": bool(result.base_fits),
    }


LOOP_PARAMS = ("loop_ms", "loop_other_ms", "loop_tflops", "loop_gbps", "train_tflops")
POWER_PARAMS = ("power_budget_mw", "active_mw", "sleep_mw", "classify_every_s", "train_epochs_per_day", "mcu_mflops")


def _north_star_metrics(part: Part, controls: Mapping[str, Scalar], arch) -> dict[str, Any]:
    """The loop's worst case beside training, and a microcontroller's mean power."""
    p = part.params
    out: dict[str, Any] = {}
    processor = str(controls.get("processor", ""))
    rate_name = f"{processor}_tflops" if f"{processor}_tflops" in p else "train_tflops"
    if all(name in p for name in LOOP_PARAMS[:4]) and rate_name in p:
        # Training runs on the chosen processor (Mobile Nomad) or the one named train_tflops.
        bandwidth = float(part.param("loop_gbps")) * 1e9
        train_rate = float(part.param(rate_name)) * 1e12
        loop_s = float(part.param("loop_other_ms")) / 1e3 + realtime.forward_time_s(
            arch, compute_flops_per_s=float(part.param("loop_tflops")) * 1e12, memory_bandwidth_bytes_per_s=bandwidth)
        kernel_s = realtime.longest_training_kernel_s(
            arch, batch=int(controls["batch"]), bytes_per_value=memory.PRECISIONS[_train_precision(part)].activation_bytes,
            compute_flops_per_s=train_rate, memory_bandwidth_bytes_per_s=bandwidth)
        loop = realtime.loop_budget(period_s=float(part.param("loop_ms")) / 1e3, loop_s=loop_s, blocking_s=kernel_s)
        out.update(loop_worst_ms=round(loop.worst_s * 1e3, 4), loop_kernel_ms=round(kernel_s * 1e3, 4),
                   loop_slack_ms=round(loop.slack_s * 1e3, 4))
    if all(name in p for name in POWER_PARAMS):
        rate = float(part.param("mcu_mflops")) * 1e6
        active_w = float(part.param("active_mw")) / 1e3
        infer_s = realtime.forward_time_s(arch, compute_flops_per_s=rate, memory_bandwidth_bytes_per_s=1e15)
        training = energy.adaptation_energy(
            arch, method=str(controls["method"]), samples=int(part.param("user_samples")),
            epochs=int(part.param("train_epochs_per_day")), batch=int(controls["batch"]),
            precision=_train_precision(part), optimizer=str(controls["optimizer"]), layers=int(controls["layers"]),
            rank=int(controls["rank"]), compute_flops_per_s=rate, power_w=active_w)
        busy = infer_s * realtime.SECONDS_PER_DAY / float(part.param("classify_every_s")) + training.time_s
        mean = realtime.mean_power_w(active_w=active_w, sleep_w=float(part.param("sleep_mw")) / 1e3, busy_s_per_day=busy)
        out.update(mean_power_mw=round(mean * 1e3, 5), training_s_per_day=round(training.time_s, 3))
    return out


def _dram_pj_per_bit(part: Part) -> float:
    """DRAM energy per bit; missions released before DRAM was charged leave it out (0)."""
    return float(part.param("dram_pj_per_bit")) if "dram_pj_per_bit" in part.params else 0.0


def _battery_metrics(part: Part, controls: Mapping[str, Scalar], arch) -> dict[str, Any]:
    processor = str(controls["processor"])
    rate = float(part.param(f"{processor}_tflops")) * 1e12
    power = float(part.param(f"{processor}_w"))
    bandwidth = float(part.param("memory_gbps")) * 1e9
    common: dict[str, Any] = dict(compute_flops_per_s=rate, power_w=power, memory_bandwidth_bytes_per_s=bandwidth,
                                  dram_pj_per_bit=_dram_pj_per_bit(part))
    samples = int(part.param("samples_per_session"))
    session = energy.adaptation_energy(
        arch, method=str(controls["method"]), samples=samples, epochs=int(part.param("epochs_per_session")),
        batch=int(controls["batch"]), precision=_train_precision(part), optimizer=str(controls["optimizer"]),
        layers=int(controls["layers"]), rank=int(controls["rank"]), **common,
    )
    serving = energy.inference_energy(arch, samples=samples, precision=str(part.param("precision")), **common)
    pct = energy.battery_percent_per_day(session.energy_wh, float(part.param("sessions_per_day")),
                                         float(part.param("battery_wh")))
    return {
        "battery_pct_per_day": round(pct, 4),
        "session_wh": round(session.energy_wh, 5),
        "session_s": round(session.time_s, 3),
        "session_dram_wh": round(session.dram_energy_j / energy.JOULES_PER_WH, 5),
        "drain_ratio": round(energy.training_to_inference_energy_ratio(session, serving), 3),
    }


# ----------------------------------------------------------------------------- the Lock


def _lock_inference_bytes(part: Part, arch, batch: int) -> int:
    """The inference figure the Lock quotes: the same one the workbench shows beside it (on
    a microcontroller, int8 weights executed from flash plus the activations in SRAM)."""
    precision = "int8" if part.param("crisis") == "sram" else str(part.param("precision"))
    return memory.inference_memory(arch, batch=batch, precision=precision)


def lock_context(part: Part) -> dict[str, Any]:
    arch = _arch(part)
    batch = int(part.param("lock_batch"))
    return {
        "inference_mb": round(_lock_inference_bytes(part, arch, batch) / MB, 3 if part.param("crisis") == "sram" else 1),
        "k": int(part.param("lock_layers")),
        "batch": batch,
    }


def truth_min_ram_last_k(part: Part, rng: np.random.Generator) -> float:
    """Minimum RAM (MB) to fine-tune the last k blocks with Adam at the Lock's batch.

    On a microcontroller RAM means SRAM: the frozen weights stay in flash and are not counted.
    """
    arch = _arch(part)
    if part.param("crisis") == "sram":
        mcu = memory.mcu_training_memory(arch, method="last_k", layers=int(part.param("lock_layers")),
                                         batch=int(part.param("lock_batch")), optimizer="adam",
                                         precision=str(part.param("precision")))
        return round(mcu.sram_bytes / MB, 4)
    total = memory.min_ram_to_finetune_last_k(
        arch, k=int(part.param("lock_layers")), batch=int(part.param("lock_batch")),
        precision=_train_precision(part), optimizer="adam",
    )
    return round(total / MB, 2)


# ----------------------------------------------------------------------------- Math Peek


def _bytes_per_param(part: Part, controls: Mapping[str, Scalar], metrics: Mapping[str, Any]) -> str:
    """'(W_t + G + O) / trainable = N B/param; ' for the trainable parameters' own bytes."""
    trainable = int(metrics.get("trainable_params", 0) or 0)
    if trainable <= 0 or part.param("crisis") == "sram":
        return ""
    spec = memory.PRECISIONS[_train_precision(part)]
    states = memory.OPTIMIZER_STATES.get(str(controls.get("optimizer", "adam")), 0)
    per = spec.weight_bytes + spec.grad_bytes + spec.master_bytes + states * spec.state_bytes
    return (f"per trainable param {spec.weight_bytes} + {spec.grad_bytes} + "
            f"{spec.master_bytes + states * spec.state_bytes} = {per} B ({_train_precision(part)});  ")


def peek(part: Part, controls: Mapping[str, Scalar], metrics: Mapping[str, Any]) -> list[Peek]:
    m = metrics.get("memory_mb", {})
    panels = [
        Peek(
            title="Training memory",
            formula="M_train = W + G + O + A;  A = max(stored for backward, stored so far + transient);  "
            "Memory Amplification Factor (MAF) = M_train / M_inference",
            substituted=(
                f"{m.get('weights', 0):.1f} + {m.get('gradients', 0):.1f} + {m.get('optimizer', 0):.1f} + "
                f"{m.get('activations', 0):.1f} = {m.get('total', 0):.1f} MB;  "
                f"{_bytes_per_param(part, controls, metrics)}"
                f"A: stored {number(m.get('stored_activations', 0), 'MB')}, transient "
                f"{number(m.get('transient', 0), 'MB')}, peak in the {metrics.get('peak_phase', 'backward')} phase;  "
                f"MAF = {number(m.get('total', 0))} / {number(metrics.get('inference_mb', 0))} = "
                f"{number(metrics.get('amplification', 0))}x"
            ),
            source="Book, Edge Intelligence (MAF 4-12x); ZeRO, SC 2020 (mixed-precision Adam: 2 + 2 + 12 = 16 B/param); "
            "activations by TinyTL's accounting (NeurIPS 2020: bias gradients need no stored inputs, ReLU keeps a "
            "1-bit mask). PyTorch eager keeps more: MobileNetV2 full fine-tuning saves 626 MB at batch 8 (this "
            "accounting: about 432 MB); ResNet-50 688 / 1,375 MB at batch 8 / 16, within 5% of this one. "
            "Llama attention as FlashAttention stores it (Q, K, V and the log-sum-exp, no s x s softmax): "
            "11.4 GB per 512-token sequence here; PyTorch keeps 13.9 GB (fp32 norm upcasts), 22.4 GB with the softmax",
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
                + ("" if metrics.get("base_fits_hbm", True) else
                   ";  the base weights and KV reserve do not fit 80 GiB of HBM, so nothing is served")
            ),
            source="Che, Tung, Wang 2002; Fricker, Robert, Roberts 2012; S-LoRA (MLSys 2024)",
        ))
    if "battery_pct_per_day" in metrics:
        panels.append(Peek(
            title="Battery",
            formula="E = max(FLOPs / rate, bytes / bandwidth) x P + bytes x 8 x pJ/bit;  "
            "% per day = 100 x E x sessions / battery",
            substituted=(
                f"E = {metrics['session_wh']:.3f} Wh, of which DRAM traffic {metrics['session_dram_wh']:.3f} Wh "
                f"at {_dram_pj_per_bit(part)} pJ/bit;  "
                f"{metrics['session_wh']:.3f} Wh x {part.param('sessions_per_day')} / {part.param('battery_wh')} Wh "
                f"= {metrics['battery_pct_per_day']:.2f}% per day;  training drains {metrics['drain_ratio']:.1f}x "
                "inference per sample"
            ),
            source="Book: 4.5 W x 30 min = 15% of 15 Wh; policy < 5% per day; DRAM energy per bit: "
            "O'Connor et al., MICRO 2017",
        ))
    if "loop_worst_ms" in metrics:
        panels.append(Peek(
            title="North Star: the real-time loop",
            formula="worst = loop work + longest training kernel (a launched kernel runs to completion) <= period",
            substituted=(
                f"{metrics['loop_worst_ms'] - metrics['loop_kernel_ms']:.2f} + {metrics['loop_kernel_ms']:.2f} = "
                f"{metrics['loop_worst_ms']:.2f} ms of {part.param('loop_ms')} ms;  slack {metrics['loop_slack_ms']:.2f} ms "
                f"(the kernel grows with the batch, whatever trains)"
            ),
            source="Roofline (Williams et al., CACM 2009) per layer; non-preemptive kernels as the safety bound",
        ))
    if "mean_power_mw" in metrics:
        panels.append(Peek(
            title="North Star: power",
            formula="P_mean = P_sleep + (P_active - P_sleep) x (inference + training seconds a day) / 86,400 s",
            substituted=(
                f"{metrics['mean_power_mw']:.3f} mW of {part.param('power_budget_mw')} mW;  training "
                f"{metrics['training_s_per_day']:.0f} s a day at {part.param('active_mw')} mW"
            ),
            source="nRF52840 product specification (sleep current); mlsysim device registry (active power, rate)",
        ))
    if "sram_kb" in metrics:
        panels.append(Peek(
            title="SRAM wall",
            formula="SRAM = trainable copies + gradients + optimizer state + activations;  frozen weights in flash",
            substituted=f"{metrics['sram_kb']:.1f} KiB of {metrics['sram_budget_kb']:.0f} KiB SRAM (RAM); "
            f"flash {metrics['flash_kb']:.1f} KiB of {metrics['flash_budget_kb']:.0f} KiB (int8 model image, "
            f"frozen weights run from it);  inference {metrics['inference_mb'] * 1000:.1f} kB, as the Lock quotes it",
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
        Requirement("optimizer_states", "text", choices=("fp32", "bf16"), optional=True),
        *(Requirement(name, low=0, optional=True) for name in LOOP_PARAMS + POWER_PARAMS),
    ),
    controls=(
        Requirement("method", choices=METHODS),
        Requirement("layers", low=1, high=100),
        Requirement("rank", low=1, high=1024),
        Requirement("optimizer", choices=("adam", "sgd", "sgd_momentum")),
        Requirement("batch", low=1, high=4096),
    ),
    metrics=FRONTIER.scalars,
    truths={"min_ram_last_k": truth_min_ram_last_k},
    variants={
        ("crisis", "none"): ((Requirement("budget_mb", low=0),), (), FRONTIER.variant("crisis", "none")),
        ("crisis", "adapter_cache"): (
            (Requirement("budget_mb", low=0), Requirement("zipf_s", low=0.1, high=3),
             Requirement("n_adapters", low=1), Requirement("kv_reserve_gb", low=0)),
            (Requirement("targets", choices=tuple(TARGET_SETS)), Requirement("base_precision", choices=tuple(BASE_BYTES)),
             Requirement("hbm_cache_gb", low=0), Requirement("host_cache_gb", low=0),
             Requirement("policy", choices=("lru", "lfu"))),
            FRONTIER.variant("crisis", "adapter_cache"),
        ),
        ("crisis", "battery"): (
            (Requirement("budget_mb", low=0), Requirement("battery_wh", low=0.001), Requirement("sessions_per_day", low=0),
             Requirement("samples_per_session", low=1), Requirement("epochs_per_session", low=1),
             Requirement("memory_gbps", low=0.001), Requirement("dram_pj_per_bit", low=0, high=1000, optional=True),
             *(Requirement(f"{p}_{unit}", low=1e-6) for p in ("cpu", "gpu", "npu") for unit in ("tflops", "w"))),
            (Requirement("processor", choices=("cpu", "gpu", "npu")),),
            FRONTIER.variant("crisis", "battery"),
        ),
        ("crisis", "sram"): (
            (Requirement("sram_kb", low=1), Requirement("flash_kb", low=1)),
            (),
            FRONTIER.variant("crisis", "sram"),
        ),
    },
    peek=peek,
    lock_context=lock_context,
))
