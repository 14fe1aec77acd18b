"""Stand-in part models and four stand-in tracks for the terminal front end's tests.

They produce the metrics the real models publish (the names and shapes of the models'
contract, ``edgequest/simulators/metrics.py``, checked below), from simple closed forms,
so the screens, instruments and snapshots are tested apart from the engine's numbers: a
retuned mission must not break a screenshot. The tests at the bottom check the stand-ins
themselves and every instrument on them.
"""

from __future__ import annotations

import math

import pytest

from edgequest.campaign import load_mission_bytes
from edgequest.simulators import registry
from edgequest.simulators.base import Model, Peek, Requirement
from edgequest.simulators.metrics import CONTRACTS, FLEET, FRONTIER, PRIVACY

# ------------------------------------------------------------------ models


def _frontier(part, c, rng):
    base = float(part.param("base_mb"))
    budget = float(part.param("budget_mb"))
    share = {"full": 1.0, "last_k": 0.3, "lora": 0.002 * c["rank"], "tinytl": 0.01}[c["method"]]
    weights = base
    gradients = base * share
    optimizer = 2 * base * share
    activations = base * {"full": 1.5, "last_k": 0.5, "lora": 0.9, "tinytl": 0.15}[c["method"]]
    total = weights + gradients + optimizer + activations
    accuracy = {"full": 0.91, "last_k": 0.84, "lora": 0.86 + 0.001 * c["rank"], "tinytl": 0.83}[c["method"]]
    m = {
        "memory_mb": {"weights": weights, "gradients": gradients, "optimizer": optimizer,
                      "activations": activations, "total": total},
        "inference_mb": base * 1.1, "budget_mb": budget, "fits": total <= budget,
        "trainable_params": int(1e6 * share), "amplification": total / (base * 1.1),
        "accuracy": accuracy, "accuracy_before": 0.72,
    }
    crisis = part.param("crisis")
    if crisis == "adapter_cache":
        hbm = min(0.9, 0.4 + 4.0 / c["rank"])
        m.update(cache={"hbm_hit_rate": hbm, "host_hit_rate": (1 - hbm) * 0.7, "miss_rate": (1 - hbm) * 0.3},
                 adapter_mb=0.5 * c["rank"], added_latency_ms=20 * (1 - hbm), tokens_per_s=3000 * hbm)
    elif crisis == "battery":
        wh = total / 250
        m.update(battery_pct_per_day=100 * wh / 15, session_wh=wh, drain_ratio=5 * share + 1)
    elif crisis == "sram":
        m.update(sram_kb=total * 1.0, sram_budget_kb=256.0, flash_kb=700.0, fits_sram=total <= 256)
    return m


def _fleet(part, c, rng):
    rounds = c["rounds"]
    per_round_gb = 0.002 * c["clients"] / 10
    target = 0.8
    k = 0.02 * c["local_epochs"] ** 0.5 * c["reliability"]
    curve = [{"round": r, "gb": r * per_round_gb, "accuracy": 0.9 - 0.5 * math.exp(-k * r)}
             for r in range(0, rounds + 1, max(1, rounds // 20))]
    reached = [p["round"] for p in curve if p["accuracy"] >= target]
    gb = rounds * per_round_gb
    cap = float(part.param("data_cap_gb"))
    m = {"accuracy": curve[-1]["accuracy"], "gb_transferred": gb, "data_cap_gb": cap, "target_accuracy": target,
         "rounds_to_target": reached[0] if reached else None, "curve": curve,
         "wasted_energy_share": 1 - c["reliability"], "within_cap": gb <= cap}
    if part.param("crisis") == "gossip":
        m.update(airtime_s_per_sync=0.01 * c["clients"], radio_mw=0.004 * c["clients"], power_budget_mw=1.0)
    return m


def _privacy(part, c, rng):
    eps = c["epsilon"]
    sigma = 1.2 / eps
    central = c["aggregation"] == "central"
    acc = 0.9 - (0.05 if central else 0.12) * sigma / (1 + sigma) - 0.01 * abs(c["clip"] - 1)
    target = 0.8
    curve = [{"round": r, "gb": r * 0.01, "accuracy": acc * (1 - math.exp(-r / (10 + 8 * sigma)))}
             for r in range(0, 101, 5)]
    reached = [p["round"] for p in curve if p["accuracy"] >= target]
    spent = ({"rounds": reached[0], "client_epochs": reached[0] * 1000, "gflops": reached[0] * 0.5} if reached
             else {"rounds": None, "client_epochs": None, "gflops": None})
    return {"epsilon": eps, "delta": 1e-5, "noise_multiplier": sigma, "accuracy": curve[-1]["accuracy"],
            "target_accuracy": target, "compute_to_target": spent, "curve": curve}


def _peek(title, formula):
    def peek(part, controls, metrics):
        shown = ", ".join(f"{k}={v}" for k, v in controls.items())
        return [Peek(title, formula, f"with {shown}", "stand-in model for the tests")]
    return peek


FAKE_MODELS = {
    "frontier": Model(
        "frontier", _frontier,
        params=(Requirement("base_mb", low=0), Requirement("budget_mb", low=0), Requirement("crisis", kind="text")),
        controls=(Requirement("method", choices=("full", "last_k", "lora", "tinytl")), Requirement("rank", low=1)),
        metrics=FRONTIER.names(),
        truths={"min_training_mb": lambda part, rng: 3.1 * float(part.param("base_mb"))},
        peek=_peek("Training memory", "M_train = W + G + O + A"),
    ),
    "fleet": Model(
        "fleet", _fleet,
        params=(Requirement("data_cap_gb", low=0), Requirement("crisis", kind="text")),
        controls=(Requirement("local_epochs", low=1), Requirement("clients", low=1),
                  Requirement("reliability", low=0, high=1), Requirement("rounds", low=1)),
        metrics=FLEET.names(),
        truths={"more_rounds_help": lambda part, rng: "no"},
        peek=_peek("FedAvg", "w ← Σ (n_k/n) w_k"),
    ),
    "privacy": Model(
        "privacy", _privacy,
        params=(Requirement("crisis", kind="text"),),
        controls=(Requirement("epsilon", low=0), Requirement("clip", low=0),
                  Requirement("aggregation", choices=("local", "central"))),
        metrics=PRIVACY.names(),
        truths={"noise_compute": lambda part, rng: "increase"},
        peek=_peek("Gaussian mechanism", "σ = √(2 ln(1.25/δ)) Δ/ε"),
    ),
}

# ------------------------------------------------------------------ missions

TRACKS = {
    "cloud-titan": ("Cloud Titan", "LLM Architect", "Serve the 70B model to as many users as one GPU allows.",
                    "One million per-user LoRA adapters swap between HBM and SSD.", "adapter_cache", 36_000, 81_920),
    "edge-guardian": ("Edge Guardian", "AV Systems Lead", "A deterministic 10 ms safety loop.",
                      "500,000 cars learn dust storms from non-IID city data.", "fedavg", 100, 2_048),
    "mobile-nomad": ("Mobile Nomad", "AR Glasses Dev", "60 FPS AR translation.",
                     "Learning an accent on the glasses drains the battery five times faster.", "battery", 60, 300),
    "tiny-pioneer": ("Tiny Pioneer", "Hearable Lead", "Neural isolation in under 10 ms below 1 mW.",
                     "10,000 hearables share noise profiles over a BLE mesh.", "sram", 60, 256),
}


def mission_toml(track: str) -> str:
    name, persona, star, crisis_text, crisis, base_mb, budget_mb = TRACKS[track]
    fleet_crisis = "gossip" if track == "tiny-pioneer" else "fedavg"
    fig = 'assumption = "stand-in for the tests"'
    return f'''
schema_version = 1
id = "{track}"
name = "{name}"
persona = "{persona}"
north_star = "{star}"
crisis = "{crisis_text}"
ledger_prompt = "Defend your Edge Intelligence strategy: personalization or privacy?"
sources = ["stand-in for the tests"]

[device]
name = "{name} device"
memory_mb = {{ value = {budget_mb}, unit = "MB", {fig} }}

[[parts]]
number = 1
title = "The Memory-Accuracy Frontier"
model = "frontier"
briefing = "Training on the device needs far more memory than inference."
objective = "Fine-tune within the memory budget and keep accuracy above 85%."
budget = 10
stakeholder = "Patterson"
reflect_prompt = "Training on the device needed more memory than serving did. What set the difference?"

[parts.lock]
question = "If inference needs {base_mb} MB, how much memory does fine-tuning the last 3 layers need?"
kind = "number"
truth = "min_training_mb"
unit = "MB"
tolerance = 0.25
min = 0
max = 10000000
explain = "Gradients and optimizer state add two to three copies of the trained weights."

[parts.params]
base_mb = {{ value = {base_mb}, unit = "MB", {fig} }}
budget_mb = {{ value = {budget_mb}, unit = "MB", {fig} }}
crisis = {{ value = "{crisis}", {fig} }}

[[parts.controls]]
name = "method"
label = "Method"
kind = "choice"
choices = ["full", "last_k", "lora", "tinytl"]
default = "full"
help = "Which parameters train."

[[parts.controls]]
name = "rank"
label = "LoRA rank"
kind = "int"
min = 1
max = 64
step = 1
default = 8
help = "The rank r of the LoRA adapters."

[[parts.spec]]
metric = "memory_mb.total"
op = "<="
threshold = {budget_mb}
label = "Training memory fits"
unit = "MB"
{fig}

[[parts.spec]]
metric = "accuracy"
op = ">="
threshold = 0.85
label = "Personal accuracy"
role = "guardrail"
{fig}

[parts.optimise]
metric = "memory_mb.total"
goal = "min"
worst = {budget_mb}
best = 0

[[parts]]
number = 2
title = "Non-IID Convergence"
model = "fleet"
briefing = "The fleet's data differ city by city."
objective = "Reach 80% fleet accuracy within the data cap."
budget = 10
stakeholder = "Jeff Dean"
reflect_prompt = "Your fleet wastes 80% of its power on failed syncs. Propose a client selection strategy."

[parts.lock]
question = "Will syncing more often always improve accuracy on very non-IID data?"
kind = "choice"
truth = "more_rounds_help"
choices = ["yes", "no"]
explain = "Client drift: more rounds of biased updates do not fix the bias."

[parts.params]
data_cap_gb = {{ value = 5, unit = "GB", {fig} }}
crisis = {{ value = "{fleet_crisis}", {fig} }}

[[parts.controls]]
name = "local_epochs"
label = "Local epochs"
kind = "int"
min = 1
max = 10
default = 1
help = "Epochs each client trains per round."

[[parts.controls]]
name = "clients"
label = "Clients/round"
kind = "int"
min = 10
max = 1000
default = 100
help = "Participating clients per round."

[[parts.controls]]
name = "reliability"
label = "Link reliability"
kind = "float"
min = 0.5
max = 1.0
step = 0.05
default = 0.8
help = "Share of uploads that arrive."

[[parts.controls]]
name = "rounds"
label = "Rounds"
kind = "int"
min = 10
max = 200
step = 10
default = 100
help = "Communication rounds."

[[parts.spec]]
metric = "accuracy"
op = ">="
threshold = 0.8
label = "Fleet accuracy"
{fig}

[[parts.spec]]
metric = "gb_transferred"
op = "<="
threshold = 5
label = "Within the data cap"
unit = "GB"
role = "guardrail"
{fig}

[parts.optimise]
metric = "gb_transferred"
goal = "min"
worst = 5
best = 0

[[parts]]
number = 3
title = "The Privacy Frontier"
model = "privacy"
briefing = "Differential privacy adds noise to every update."
objective = "Epsilon below 1 with accuracy at the SPEC."
budget = 10
stakeholder = "the Privacy Officer"
reflect_prompt = "Did noise cost you compute? Defend your epsilon."

[parts.lock]
question = "Does adding noise increase or decrease the compute needed to converge?"
kind = "choice"
truth = "noise_compute"
choices = ["increase", "decrease", "no change"]
explain = "Noisier updates need more rounds to average out."

[parts.params]
crisis = {{ value = "dp", {fig} }}

[[parts.controls]]
name = "epsilon"
label = "Epsilon"
kind = "float"
min = 0.1
max = 10
default = 8
help = "The privacy budget."

[[parts.controls]]
name = "clip"
label = "Clip norm"
kind = "float"
min = 0.1
max = 5
step = 0.1
default = 1
help = "Per-client clipping norm."

[[parts.controls]]
name = "aggregation"
label = "Aggregation"
kind = "choice"
choices = ["local", "central"]
default = "local"
help = "Where the noise is added."

[[parts.spec]]
metric = "epsilon"
op = "<"
threshold = 1
label = "Privacy Officer's epsilon"
{fig}

[[parts.spec]]
metric = "accuracy"
op = ">="
threshold = 0.8
label = "Safety-critical accuracy"
role = "guardrail"
{fig}

[parts.optimise]
metric = "accuracy"
goal = "max"
worst = 0.8
best = 0.9
'''


# A script that starts the real game on the stand-in tracks (tmux test, TUI benchmark).
STAND_IN_LAUNCHER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.test_tui_fakes import FAKE_MODELS, TRACKS, mission_toml
from edgequest.simulators import registry
registry.MODELS.update(FAKE_MODELS)
folder = Path({missions!r})
folder.mkdir(exist_ok=True)
for track in TRACKS:
    (folder / (track + ".toml")).write_text(mission_toml(track))
from edgequest.tui.launch import launch
sys.exit(launch(track={track!r}, player={player!r}, save_dir={saves!r}, seed=4, missions=folder))
"""


def fake_campaign() -> dict:
    """The four stand-in tracks, loaded through the real mission loader."""
    return {t: load_mission_bytes(mission_toml(t).encode(), f"fake/{t}.toml") for t in TRACKS}


@pytest.fixture
def fake_models(monkeypatch):
    for name, model in FAKE_MODELS.items():
        monkeypatch.setitem(registry.MODELS, name, model)
    return FAKE_MODELS


# ------------------------------------------------------------------ the stand-ins' own tests


def test_fake_missions_load_and_every_instrument_draws(fake_models):
    from edgequest.game.play import simulate_design
    from edgequest.tui.instruments import RunView, build_chart, instruments_for

    seen = set()
    for mission in fake_campaign().values():
        for part in mission.parts:
            outcome = simulate_design(part, {}, seed=1)
            views = [RunView(1, outcome.controls, outcome.metrics)]
            for instrument in instruments_for(part, outcome.metrics):
                seen.add(instrument.id)
                text = build_chart(instrument, part, views, 46, 14, nocolor=True)
                assert "\x1b[" not in text.replace("\x1b[0m", "")  # no colour codes under NO_COLOR
                assert len(text.splitlines()) == 14
                assert instrument.caption(part, views)
    assert seen == {"memory", "frontier", "cache", "battery", "sram", "fleet", "ble", "privacy", "convergence"}


def test_the_stand_ins_write_only_names_of_the_real_contract(fake_models):
    from edgequest.game.play import simulate_design

    for mission in fake_campaign().values():
        for part in mission.parts:
            metrics = simulate_design(part, {}, seed=1).metrics
            names = {f"{k}.{inner}" for k, v in metrics.items() if isinstance(v, dict) for inner in v}
            names |= {k for k, v in metrics.items() if not isinstance(v, dict)}
            assert names <= CONTRACTS[part.model].names(), (mission.id, part.number, names - CONTRACTS[part.model].names())
