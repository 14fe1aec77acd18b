"""The session layer: resume by replay, autosave after every move, read-only, fresh starts."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from edgequest.errors import GameError, SaveError
from edgequest.game.play import Game
from edgequest.saves.store import read_save
from edgequest.session import Session, new_seed, progress_of_record, track_progress


@contextmanager
def held_elsewhere(save_dir: Path, player: str, track: str):
    """Another process holding the save (lockf locks are per process, so a thread won't do)."""
    code = (
        "import sys; from pathlib import Path; from edgequest.saves.store import SaveSlot;"
        f"s = SaveSlot.open(Path({str(save_dir)!r}), {player!r}, {track!r});"
        "print('held', flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def _play_part_one(session: Session) -> None:
    session.lock(1, "30")
    session.run(1, {"size": 4})
    session.run(1, {"size": 8, "mode": "fancy"})
    session.commit(1, 0)
    session.reflect(1, "A small design kept the cost low and the value above the line.")


def test_every_move_is_saved_and_resumes_by_replay(toy_mission, tmp_path):
    session = Session.open(toy_mission, tmp_path, "ada", seed=7)
    session.lock(1, "30")
    assert read_save(session.path).record.parts[1].lock == 30.0
    session.run(1, {"size": 4})
    assert read_save(session.path).record.parts[1].runs == [{"size": 4, "mode": "plain"}]
    session.run(1, {"size": 8, "mode": "fancy"})
    session.commit(1, 0)
    assert read_save(session.path).record.parts[1].commit == 0
    session.reflect(1, "A small design kept the cost low and the value above the line.")
    points = session.game.score(1).points
    session.close()

    again = Session.open(toy_mission, tmp_path, "ada")
    assert again.problem is None
    assert again.game.seed == 7
    assert again.game.current_part == 2
    assert again.game.score(1).points == pytest.approx(points)
    assert again.record.to_dict() == session.record.to_dict()
    again.close()


def test_new_games_draw_a_fresh_63_bit_seed(toy_mission, tmp_path):
    seeds = {new_seed() for _ in range(20)}
    assert len(seeds) == 20 and all(0 <= s < 2**63 for s in seeds)
    session = Session.open(toy_mission, tmp_path, "bo")
    assert 0 <= session.game.seed < 2**63
    session.close()


def test_second_session_is_read_only_and_told_who_holds_it(toy_mission, tmp_path):
    first = Session.open(toy_mission, tmp_path, "ada", seed=1)
    first.lock(1, 30)
    first.close()
    with held_elsewhere(tmp_path, "ada", toy_mission.id):
        second = Session.open(toy_mission, tmp_path, "ada")
        assert second.read_only and "ada" in second.holder
        assert any("Read-only" in n for n in second.notices)
        assert second.game.record.parts[1].lock == 30.0  # it still shows the game
        with pytest.raises(SaveError, match="read-only"):
            second.run(1, {})
        assert second.save() is False
        second.close()


def test_unknown_mission_version_offers_a_fresh_start_and_keeps_the_old_file(toy_mission, tmp_path):
    session = Session.open(toy_mission, tmp_path, "ada", seed=3)
    session.lock(1, 30)
    session.close()
    path = session.path
    data = json.loads(path.read_text())
    data["mission"]["sha256"] = "0" * 64
    path.write_text(json.dumps(data))
    old_bytes = path.read_bytes()

    again = Session.open(toy_mission, tmp_path, "ada", versions=lambda sha: None)
    assert again.game is None
    assert again.problem.can_start_fresh
    assert "version" in again.problem.reason and "000000000000" in again.problem.reason
    with pytest.raises(GameError, match="cannot be played"):
        again.run(1, {})
    backup = again.start_fresh(seed=5)
    assert backup is not None and backup.read_bytes() == old_bytes
    assert backup.parent == tmp_path
    assert again.problem is None and again.game.seed == 5
    assert read_save(path).mission_sha256 == toy_mission.sha256
    again.close()


def test_a_save_played_on_an_older_version_resumes_on_that_version(toy_mission, tmp_path):
    from dataclasses import replace

    older = replace(toy_mission, sha256="a" * 64)
    first = Session.open(older, tmp_path, "ada", seed=3)
    first.lock(1, 30)
    first.close()
    again = Session.open(toy_mission, tmp_path, "ada", versions={"a" * 64: older}.get)
    assert again.mission.sha256 == "a" * 64
    assert any("version" in n for n in again.notices)
    again.run(1, {})
    assert read_save(again.path).mission_sha256 == "a" * 64
    again.close()


@pytest.mark.parametrize("payload", [b"\x00garbage", b'{"format": "edgequest-save", "format_version": 1}'])
def test_unreadable_save_is_a_problem_not_a_crash(toy_mission, tmp_path, payload):
    (tmp_path / "ada__toy-track.json").write_bytes(payload)
    session = Session.open(toy_mission, tmp_path, "ada")
    assert session.game is None and "cannot be read" in session.problem.reason
    progress = track_progress(toy_mission, tmp_path, "ada")
    assert progress.problem and progress.summary == "save needs attention"
    session.close()


def test_moves_the_rules_refuse_in_a_save_are_a_problem(toy_mission, tmp_path):
    session = Session.open(toy_mission, tmp_path, "ada", seed=3)
    session.lock(1, 30)
    session.close()
    data = json.loads(session.path.read_text())
    data["record"]["parts"]["1"]["commit"] = 4
    session.path.write_text(json.dumps(data))
    again = Session.open(toy_mission, tmp_path, "ada")
    assert again.game is None and "do not replay" in again.problem.reason
    again.close()


def test_track_progress_reads_moves_without_the_lock(toy_mission, tmp_path):
    assert track_progress(toy_mission, tmp_path, "ada").summary == "not started"
    session = Session.open(toy_mission, tmp_path, "ada", seed=3)
    _play_part_one(session)
    session.lock(2, "yes")
    session.run(2, {})
    progress = track_progress(toy_mission, tmp_path, "ada")  # while the session holds it
    assert progress.parts_done == 1 and progress.current_part == 2
    assert progress.summary == "part 2 of 2: workbench, 1/10 runs"
    session.commit(2)
    session.reflect(2, "Fancy doubled the value at no extra cost; worth it every time.")
    assert progress_of_record(toy_mission, session.record).summary == "Ledger to write"
    session.write_ledger("Strategy: privacy. Toy reasons.")
    assert track_progress(toy_mission, tmp_path, "ada").summary == "complete"
    replayed = Game.replay(toy_mission, read_save(session.path).record)
    assert replayed.finished
    session.close()
