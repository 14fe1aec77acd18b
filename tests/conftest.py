"""Shared fixtures: a toy part model, so the game's rules are tested apart from the engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgequest.simulators import registry
from edgequest.simulators.base import Model, Requirement

FIXTURES = Path(__file__).parent / "fixtures"


def _toy_simulate(part, controls, rng):
    size = controls["size"]
    noise = float(rng.normal(0, 0.01))  # a random draw, so determinism is tested too
    value = size * (2 if controls["mode"] == "fancy" else 1) + noise
    return {"cost": size * part.param("scale"), "value": value}


TOY = Model(
    name="toy",
    simulate=_toy_simulate,
    params=(Requirement("scale", low=0),),
    controls=(Requirement("size", low=1), Requirement("mode", choices=("plain", "fancy"))),
    metrics=frozenset({"cost", "value"}),
    truths={
        "cost_of_ten": lambda part, rng: 10 * part.param("scale"),
        "fancy_better": lambda part, rng: "yes",
    },
)


@pytest.fixture(autouse=True)
def toy_model(monkeypatch):
    monkeypatch.setitem(registry.MODELS, "toy", TOY)
    return TOY


@pytest.fixture
def toy_path() -> Path:
    return FIXTURES / "toy_mission.toml"


@pytest.fixture
def toy_mission(toy_path):
    from edgequest.campaign import load_mission

    return load_mission(toy_path)


@pytest.fixture(autouse=True)
def no_player_config(monkeypatch, tmp_path_factory):
    """The tester's own keymap (``~/.config/edgequest/keys.toml``) stays out of the tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-config"))
