"""The metrics contract (edgequest/simulators/metrics.py) holds for the real models.

Each real model runs on every part of the real missions that names it; what it writes
must be exactly what its contract declares for that part. Each instrument's declared
metrics must come from a contract, the instruments a model is expected to draw must apply
to its runs, and an instrument must read nothing it has not declared. So renaming a
metric in a model, in the contract or in an instrument fails here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import pytest

from edgequest.campaign import load_campaign
from edgequest.game.play import simulate_design
from edgequest.simulators.metrics import CONTRACTS
from edgequest.simulators.registry import model_for
from edgequest.tui.instruments import EXPECTED, INSTRUMENTS, RunView, build_chart


def published(metrics: Mapping[str, Any]) -> set[str]:
    """The contract names of a run's metrics: nested tables give ``table.key``."""
    names = set()
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            names.update(f"{key}.{inner}" for inner in value)
        else:
            names.add(key)
    return names


@cache
def real_runs() -> tuple[tuple[str, Any, Mapping[str, Any]], ...]:
    """(label, part, metrics) of one default run of every part of every real mission."""
    runs = []
    for mission in load_campaign().values():
        for part in mission.parts:
            outcome = simulate_design(part, {}, seed=7)
            runs.append((f"{mission.id}/part{part.number}", part, outcome.metrics))
    return tuple(runs)


def _ids() -> list[str]:
    return [label for label, _, _ in real_runs()]


@pytest.mark.parametrize("index", range(len(real_runs())), ids=_ids())
def test_a_real_model_writes_exactly_its_contract(index):
    label, part, metrics = real_runs()[index]
    contract = CONTRACTS[part.model]
    declared = set(model_for(part).requirements(part)[2]) | contract.series
    produced = published(metrics)
    assert produced - declared == set(), f"{label}: written but not in the contract (add them to metrics.py)"
    assert declared - contract.optional - produced == set(), f"{label}: in the contract but not written"


def test_every_model_has_a_contract_and_the_contract_feeds_the_mission_check():
    for name, contract in CONTRACTS.items():
        model = model_for_name(name)
        assert model.metrics == contract.scalars
        for key, (_, _, scalars) in model.variants.items():
            assert scalars == contract.variant(*key), (name, key)


def model_for_name(name: str):
    from edgequest.simulators.registry import models

    return models()[name]


def test_every_instrument_reads_names_of_a_contract():
    every = set().union(*(c.names() for c in CONTRACTS.values()))
    for instrument in INSTRUMENTS:
        assert instrument.needs, instrument.id
        unknown = (instrument.needs | instrument.shows) - every
        assert not unknown, f"instrument {instrument.id!r} reads {sorted(unknown)}, which no model publishes"


@pytest.mark.parametrize("index", range(len(real_runs())), ids=_ids())
def test_a_models_expected_instruments_draw_its_runs(index):
    label, part, metrics = real_runs()[index]
    for instrument in INSTRUMENTS:
        if instrument.id in EXPECTED[part.model]:
            missing = {name for name in instrument.needs if name not in published(metrics)}
            assert instrument.applies(metrics), f"{label}: {instrument.id!r} cannot draw; missing {sorted(missing)}"


class Recording(Mapping[str, Any]):
    """A run's metrics that note every name read (``table.key`` inside a nested table)."""

    def __init__(self, data: Mapping[str, Any], read: set[str], prefix: str = ""):
        self._data, self._read, self._prefix = data, read, prefix

    def __getitem__(self, key: str) -> Any:
        self._read.add(self._prefix + key)
        value = self._data[key]
        return Recording(value, self._read, f"{self._prefix}{key}.") if isinstance(value, Mapping) else value

    def __contains__(self, key: object) -> bool:
        self._read.add(self._prefix + str(key))
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def test_an_instrument_reads_only_what_it_declares():
    for label, part, metrics in real_runs():
        for instrument in INSTRUMENTS:
            if not instrument.applies(metrics):
                continue
            read: set[str] = set()
            views = [RunView(1, {}, Recording(metrics, read)), RunView(2, {}, Recording(metrics, read))]
            build_chart(instrument, part, views, 60, 16, nocolor=True)
            instrument.caption(part, views)
            tables = {name.split(".")[0] for name in instrument.needs | instrument.shows if "." in name}
            undeclared = read - instrument.needs - instrument.shows - tables
            assert not undeclared, f"{label}: instrument {instrument.id!r} reads undeclared {sorted(undeclared)}"
