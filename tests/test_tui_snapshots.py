"""SVG snapshots at 80x24: the title, a Lock, the workbench with each instrument, a Math
Peek and the Ledger, drawn from the stand-in tracks so that a retuned mission does not
change a picture. Update with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and look at every changed SVG (under tests/snapshots/) before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_textual_snapshot

from edgequest.session import Session
from edgequest.tui.app import EdgeQuestApp
from tests.test_tui_fakes import fake_campaign, fake_models  # noqa: F401 (fixture)

SIZE = (80, 24)
TEXT = "Stand-in reflection: long enough to earn the reflection's points."


class _SnapshotsFolder(pytest_textual_snapshot.SVGImageExtension):
    """Keep the SVGs in tests/snapshots/<test module>/ rather than syrupy's __snapshots__."""

    @classmethod
    def dirname(cls, *, test_location) -> str:
        path = Path(test_location.filepath)
        return str(path.parent / "snapshots" / path.stem)


@pytest.fixture(autouse=True)
def _snapshot_folder(monkeypatch):
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", _SnapshotsFolder)


@pytest.fixture(autouse=True)
def _quiet_environment(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)


def prepared(tmp_path, track: str, upto: int, lock: object = None, runs: list[dict] = ()) -> EdgeQuestApp:
    """An app on ``track`` whose parts before ``upto`` are done and whose part ``upto`` has
    its Lock answered (when ``lock`` is given) and ``runs`` made, all through the session."""
    campaign = fake_campaign()
    mission = campaign[track]
    session = Session.open(mission, tmp_path, "ada", seed=5)
    for part in mission.parts:
        if part.number >= upto:
            break
        answer = part.lock.choices[0] if part.lock.kind == "choice" else 100
        session.lock(part.number, answer)
        session.run(part.number, {})
        session.commit(part.number)
        session.reflect(part.number, TEXT)
    if lock is not None:
        session.lock(upto, lock)
    for controls in runs:
        session.run(upto, controls)
    session.close()
    return EdgeQuestApp(campaign, tmp_path, "ada", track=track)


async def _settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_title(fake_models, tmp_path, snap_compare, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the title names the save folder: keep it the same every run
    prepared(Path("saves"), "mobile-nomad", upto=2)
    app = EdgeQuestApp(fake_campaign(), Path("saves"), "ada")
    assert snap_compare(app, terminal_size=SIZE)


def test_lock(fake_models, tmp_path, snap_compare):
    app = prepared(tmp_path, "cloud-titan", upto=1)
    assert snap_compare(app, terminal_size=SIZE, press=["enter"])


@pytest.mark.parametrize(
    ("track", "part", "lock", "runs", "view"),
    [
        ("edge-guardian", 1, 100, [{}, {"method": "lora"}], None),  # the memory waterfall
        ("cloud-titan", 1, 100, [{"method": "lora", "rank": 16}, {"method": "lora", "rank": 4}], "cache"),
        ("mobile-nomad", 1, 100, [{}, {"method": "tinytl"}], "battery"),
        ("tiny-pioneer", 1, 100, [{"method": "tinytl"}], "sram"),
        ("edge-guardian", 2, "no", [{}, {"local_epochs": 4}, {"local_epochs": 4, "rounds": 60}], None),  # fleet
        ("tiny-pioneer", 2, "no", [{"clients": 300}, {"clients": 100}], "ble"),
        ("mobile-nomad", 3, "increase", [{}, {"epsilon": 2}, {"epsilon": 0.8, "aggregation": "central"}], None),
        ("mobile-nomad", 3, "increase", [{}, {"epsilon": 0.8}], "convergence"),
        ("edge-guardian", 1, 100, [{}, {"method": "lora"}, {"method": "tinytl"}], "frontier"),
    ],
    ids=["memory", "adapter-cache", "battery", "sram", "fleet", "ble-airtime", "privacy-frontier", "convergence",
         "memory-accuracy-frontier"],
)
def test_workbench_instrument(fake_models, tmp_path, snap_compare, track, part, lock, runs, view):
    app = prepared(tmp_path, track, upto=part, lock=lock, runs=runs)

    async def show(pilot):
        await pilot.pause()
        if view is not None:
            app.screen.query_one("#views").active = f"view-{view}"
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=show)


def test_math_peek(fake_models, tmp_path, snap_compare):
    app = prepared(tmp_path, "edge-guardian", upto=2, lock="no", runs=[{"local_epochs": 3}])
    assert snap_compare(app, terminal_size=SIZE, press=["m"])


def test_workbench_wide_with_math_peek(fake_models, tmp_path, snap_compare):
    app = prepared(tmp_path, "cloud-titan", upto=1, lock=100, runs=[{}, {"method": "lora", "rank": 4}])
    assert snap_compare(app, terminal_size=(160, 50), press=["m"])


def test_ledger(fake_models, tmp_path, snap_compare):
    app = prepared(tmp_path, "cloud-titan", upto=4)
    assert snap_compare(app, terminal_size=SIZE)


def test_too_small(fake_models, tmp_path, snap_compare, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = EdgeQuestApp(fake_campaign(), Path("saves"), "ada")
    assert snap_compare(app, terminal_size=(70, 20))
