"""The save store: round trips, refusals (links, escapes, devices, bad bytes), locking in one process."""

from __future__ import annotations

import json
import os

import pytest

from edgequest.errors import SaveError
from edgequest.game.play import Game
from edgequest.saves import store
from edgequest.saves.store import (
    FORMAT_VERSION,
    SaveData,
    SaveSlot,
    default_save_dir,
    migrate,
    parse_save,
    read_save,
    resolve_save_dir,
    safe_target,
    save_path,
)

REFLECTION = "Smaller designs cost less; fancy mode buys value without cost."


@pytest.fixture
def played(toy_mission) -> Game:
    game = Game(toy_mission, seed=11)
    game.answer_lock(1, 30)
    game.run(1, {"size": 8})
    game.commit(1)
    return game


@pytest.fixture
def slot(tmp_path):
    with SaveSlot.open(tmp_path, "ada", "toy-track") as slot:
        yield slot


def saved_dict(slot, game) -> dict:
    slot.write(game.mission.id, game.mission.sha256, game.record)
    return json.loads(slot.path.read_text())


def test_a_save_round_trips_inputs_only(slot, played):
    data = saved_dict(slot, played)
    assert data["format"] == "edgequest-save" and data["format_version"] == FORMAT_VERSION
    assert data["mission"] == {"id": "toy-track", "sha256": played.mission.sha256}
    assert data["record"]["parts"]["1"] == {"lock": 30.0, "runs": [{"size": 8, "mode": "plain"}],
                                            "commit": 0, "reflection": None}
    assert "score" not in json.dumps(data)  # inputs only
    loaded = read_save(slot.path)
    assert loaded.record == played.record and loaded.player == "ada"
    assert parse_save(loaded.to_bytes()) == loaded


def test_created_is_kept_and_updated_moves(slot, played, monkeypatch):
    slot.write("toy-track", played.mission.sha256, played.record)
    first = read_save(slot.path)
    monkeypatch.setattr(store, "now_iso", lambda: "2030-01-01T00:00:00+00:00")
    slot.write("toy-track", played.mission.sha256, played.record)
    second = read_save(slot.path)
    assert second.created == first.created and second.updated == "2030-01-01T00:00:00+00:00"


def test_writes_leave_no_temporary_files(slot, played):
    for _ in range(3):
        slot.write("toy-track", played.mission.sha256, played.record)
    assert sorted(p.name for p in slot.path.parent.iterdir()) == ["ada__toy-track.json", "ada__toy-track.json.lock"]


def test_a_killed_sessions_temporary_file_is_cleaned_by_the_next_holder(tmp_path):
    stale = tmp_path / ".ada__toy-track.json.999999.tmp"
    stale.write_text('{"half": ')
    with SaveSlot.open(tmp_path, "ada", "toy-track"):
        assert not stale.exists()


def test_display_cache_round_trips_and_is_optional(slot, played):
    slot.write("toy-track", played.mission.sha256, played.record, display={"total": 42.0})
    assert read_save(slot.path).display == {"total": 42.0}
    slot.write("toy-track", played.mission.sha256, played.record)
    assert read_save(slot.path).display is None


def test_save_dir_defaults_to_saves_here_and_env_or_option_override(tmp_path, monkeypatch):
    monkeypatch.delenv("EDGEQUEST_SAVE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_save_dir() == tmp_path / "saves"
    monkeypatch.setenv("EDGEQUEST_SAVE_DIR", str(tmp_path / "elsewhere"))
    assert default_save_dir() == tmp_path / "elsewhere"
    assert resolve_save_dir(tmp_path / "opt") == tmp_path / "opt"
    assert resolve_save_dir(None) == tmp_path / "elsewhere"


# ------------------------------------------------------------------ refusals


def test_a_link_as_the_save_is_refused(tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    (tmp_path / "ada__toy-track.json").symlink_to(target)
    with pytest.raises(SaveError, match="symbolic link"):
        SaveSlot.open(tmp_path, "ada", "toy-track")
    with pytest.raises(SaveError, match="symbolic link"):
        read_save(tmp_path / "ada__toy-track.json")


def test_a_linked_save_folder_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    with pytest.raises(SaveError, match="plain folder"):
        SaveSlot.open(tmp_path / "linked", "ada", "toy-track")


def test_a_path_escaping_the_save_folder_is_refused(tmp_path):
    with pytest.raises(SaveError, match="outside the save folder"):
        safe_target(tmp_path / "saves", tmp_path / "saves" / ".." / "x.json")
    with pytest.raises(SaveError, match="player name"):
        save_path(tmp_path, "../../etc", "toy-track")
    with pytest.raises(SaveError, match="cannot name a save file"):
        save_path(tmp_path, "ada", "../x")


def test_a_link_to_a_lock_file_is_refused(tmp_path):
    (tmp_path / "ada__toy-track.json.lock").symlink_to(tmp_path / "victim")
    with pytest.raises(SaveError, match="symbolic link"):
        SaveSlot.open(tmp_path, "ada", "toy-track")
    assert not (tmp_path / "victim").exists()


def test_folders_pipes_and_huge_files_are_not_saves(tmp_path):
    with pytest.raises(SaveError, match="is a folder"):
        read_save(tmp_path)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(SaveError, match="not a regular file"):
        read_save(fifo)  # and it does not hang waiting for a writer
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as handle:
        handle.truncate(store.MAX_SAVE_BYTES + 1)
    with pytest.raises(SaveError, match="at most"):
        read_save(huge)
    with pytest.raises(SaveError, match="no such file"):
        read_save(tmp_path / "missing.json")


@pytest.fixture
def good(toy_mission) -> dict:
    game = Game(toy_mission, seed=3)
    game.answer_lock(1, 30)
    return SaveData(mission_id="toy-track", mission_sha256=toy_mission.sha256, player="ada",
                    created="2026-01-01T00:00:00+00:00", updated="2026-01-02T00:00:00+00:00",
                    record=game.record).to_dict()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(format="other"), "not an EdgeQuest save"),
        (lambda d: d.update(format_version="1"), "format_version: expected an integer"),
        (lambda d: d.update(format_version=0), "never a save format"),
        (lambda d: d.update(format_version=FORMAT_VERSION + 1), "newer than this EdgeQuest reads"),
        (lambda d: d.update(score=100), "unknown key 'score'"),
        (lambda d: d.update(mission={"id": "toy-track"}), "mission: expected"),
        (lambda d: d["mission"].update(sha256="XYZ"), "mission.sha256: expected 64 hex digits"),
        (lambda d: d["mission"].update(id="../etc"), "mission.id: expected a track id"),
        (lambda d: d.update(player="a b"), "player: player name"),
        (lambda d: d.update(updated="yesterday"), "updated: expected an ISO 8601 time"),
        (lambda d: d.update(created="2026-01-01T00:00:00"), "created: expected an ISO 8601 time with a UTC offset"),
        (lambda d: d.update(display=[1]), "display: expected a table"),
        (lambda d: d["record"].update(track="other"), "differs from mission.id"),
        (lambda d: d["record"].update(seed=-1), "record.seed"),
        (lambda d: d["record"]["parts"]["1"].update(lock=[1]), "record.parts.1.lock"),
    ],
)
def test_each_wrong_field_is_named(good, edit, message):
    edit(good)
    with pytest.raises(SaveError, match=message):
        parse_save(json.dumps(good).encode(), "s.json")


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "empty"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"format": "edgequest-save", "format_version": 1, "x": NaN}', "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b"[1, 2]", "not an EdgeQuest save"),
    ],
)
def test_bytes_that_are_not_json_saves(raw, message):
    with pytest.raises(SaveError, match=message):
        parse_save(raw, "s.json")


def test_a_truncated_save_says_so(good):
    raw = json.dumps(good, indent=1).encode()
    with pytest.raises(SaveError, match=r"line \d+, column \d+.*cut short"):
        parse_save(raw[: len(raw) // 2], "s.json")


def test_migration_steps_run_in_order(monkeypatch):
    monkeypatch.setattr(store, "FORMAT_VERSION", 3)
    monkeypatch.setitem(store.MIGRATIONS, 1, lambda d: {**d, "seen": [*d.get("seen", []), 1]})
    monkeypatch.setitem(store.MIGRATIONS, 2, lambda d: {**d, "seen": [*d["seen"], 2]})
    out = migrate({"format_version": 1}, 1, "s")
    assert out == {"format_version": 3, "seen": [1, 2]}


# ------------------------------------------------------------------ one process, two slots


def test_a_second_slot_in_the_same_process_is_read_only_and_keeps_the_first_lock(tmp_path, played):
    import fcntl
    import subprocess
    import sys

    first = SaveSlot.open(tmp_path, "ada", "toy-track")
    second = SaveSlot.open(tmp_path, "ada", "toy-track")
    assert second.read_only and "another window" in second.holder
    with pytest.raises(SaveError, match="read-only"):
        second.write("toy-track", played.mission.sha256, played.record)
    second.close()  # must not drop the first slot's lock
    probe = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try:\n fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
        "except OSError:\n print('held')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(first.lock_path)], capture_output=True, text=True)
    assert out.stdout.strip() == "held"
    first.close()
    assert not first.lock_path.exists()  # released, and a clean close leaves no lock file
    assert fcntl  # imported for the probe's sake of symmetry


def test_a_closed_slot_refuses_to_write(tmp_path, played):
    slot = SaveSlot.open(tmp_path, "ada", "toy-track")
    slot.close()
    with pytest.raises(SaveError, match="closed"):
        slot.write("toy-track", played.mission.sha256, played.record)


def test_an_unwritable_folder_is_a_save_error_not_an_os_error(tmp_path, played):
    slot = SaveSlot.open(tmp_path, "ada", "toy-track")
    os.chmod(tmp_path, 0o500)
    try:
        if os.access(tmp_path, os.W_OK):  # running as root: permissions do not bind
            pytest.skip("permissions are not enforced for this user")
        with pytest.raises(SaveError, match="cannot be saved.*still in memory"):
            slot.write("toy-track", played.mission.sha256, played.record)
    finally:
        os.chmod(tmp_path, 0o700)
        slot.close()
