"""Sample saves of every released format version still load (tests/fixtures/saves/v<N>/).

When the format changes, FORMAT_VERSION goes up, a migration step is added to
``edgequest.saves.store.MIGRATIONS`` and the old samples stay here untouched: these
tests then prove that a save written by any released EdgeQuest still opens.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgequest.saves import store
from edgequest.errors import SaveError
from edgequest.saves.store import FORMAT_VERSION, parse_save, read_save

SAMPLES = Path(__file__).parent / "fixtures" / "saves"
ALL = sorted(SAMPLES.glob("v*/*.json"))


def test_every_released_format_version_has_samples_and_a_migration():
    versions = sorted(int(p.name[1:]) for p in SAMPLES.glob("v*") if p.is_dir())
    assert versions == list(range(1, FORMAT_VERSION + 1))
    for version in versions:
        assert list((SAMPLES / f"v{version}").glob("*.json")), f"no sample save of format version {version}"
        if version < FORMAT_VERSION:
            assert version in store.MIGRATIONS, f"no migration from format version {version}"


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_sample_save_loads_and_round_trips_in_the_current_format(path):
    declared = json.loads(path.read_text())["format_version"]
    assert path.parent.name == f"v{declared}"
    save = read_save(path)
    assert save.format_version == FORMAT_VERSION
    again = parse_save(save.to_bytes())
    assert again == save and again.display == save.display


def test_the_version_1_samples_hold_what_they_were_written_with():
    complete = read_save(SAMPLES / "v1" / "toy-complete.json")
    assert complete.player == "ada.lovelace" and complete.record.seed == 424242
    assert [len(complete.record.parts[n].runs) for n in (1, 2)] == [2, 1]
    assert complete.record.parts[1].commit == 1 and complete.record.ledger.startswith("I chose")
    mid = read_save(SAMPLES / "v1" / "toy-mid-part.json")
    assert mid.record.parts[1].commit is None and mid.display["note"].endswith("never graded")
    assert mid.created.endswith("-05:00")
    new = read_save(SAMPLES / "v1" / "toy-new.json")
    assert new.record.parts == {} and new.updated == "2026-02-22T08:00:00Z"


def test_a_sample_is_refused_by_an_edgequest_too_old_to_read_it(monkeypatch):
    monkeypatch.setattr(store, "FORMAT_VERSION", 0)
    with pytest.raises(SaveError, match="newer than this EdgeQuest reads"):
        read_save(SAMPLES / "v1" / "toy-new.json")
