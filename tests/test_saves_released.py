"""Released mission copies: a save is graded with the mission version it was played on.

Releasing a changed mission means copying its old bytes to ``missions/released/``
(``edgequest.campaign.versions``). These tests play the copy mechanism through in
temporary mission folders: before a change, after a change with the old version kept,
and after a change without it.
"""

from __future__ import annotations

import shutil

import pytest

from edgequest.campaign import load_mission
from edgequest.campaign.versions import released_dir, released_name
from edgequest.game.play import Game
from edgequest.grading.library import MissionLibrary
from edgequest.grading.verdict import grade_file
from edgequest.saves.store import SaveSlot


def play_and_save(mission, save_dir):
    game = Game(mission, seed=21)
    game.answer_lock(1, 30)
    game.run(1, {"size": 12})
    game.commit(1)
    game.reflect(1, "The cost grows with size; twelve units kept it within the budget.")
    with SaveSlot.open(save_dir, "ada", mission.id) as slot:
        slot.write(mission.id, mission.sha256, game.record)
    return slot.path, game


@pytest.fixture
def folders(tmp_path, toy_path):
    """Three campaign folders: the original; changed with the original released; changed alone."""
    original = tmp_path / "original"
    original.mkdir()
    shutil.copy(toy_path, original / "toy-track.toml")
    old = load_mission(original / "toy-track.toml")
    changed_text = (original / "toy-track.toml").read_text().replace("threshold = 50", "threshold = 30", 1)
    kept, lost = tmp_path / "kept", tmp_path / "lost"
    for folder in (kept, lost):
        folder.mkdir()
        (folder / "toy-track.toml").write_text(changed_text)
    released_dir(kept).mkdir()
    shutil.copy(original / "toy-track.toml", released_dir(kept) / released_name(old.id, old.sha256))
    return original, kept, lost


def test_a_changed_mission_never_changes_an_old_grade(folders, tmp_path):
    original, kept, lost = folders
    old = load_mission(original / "toy-track.toml")
    path, game = play_and_save(old, tmp_path / "saves")
    before = grade_file(path, MissionLibrary(original))
    after = grade_file(path, MissionLibrary(kept))
    assert before.gradable and after.gradable
    assert after.total == before.total == pytest.approx(game.total_points())
    assert after.mission_sha256 == old.sha256
    new = load_mission(kept / "toy-track.toml")
    assert new.sha256 != old.sha256
    regraded_on_new = Game.replay(new, game.record).total_points()
    assert regraded_on_new != before.total  # the change matters, so the version used matters


def test_a_save_on_the_new_version_is_graded_with_the_new_version(folders, tmp_path):
    _, kept, _ = folders
    new = load_mission(kept / "toy-track.toml")
    path, game = play_and_save(new, tmp_path / "saves")
    grade = grade_file(path, MissionLibrary(kept))
    assert grade.gradable and grade.total == pytest.approx(game.total_points())


def test_without_the_released_copy_the_old_save_is_not_gradable_and_says_why(folders, tmp_path):
    original, _, lost = folders
    path, _ = play_and_save(load_mission(original / "toy-track.toml"), tmp_path / "saves")
    grade = grade_file(path, MissionLibrary(lost))
    assert not grade.gradable and "no kept version of track 'toy-track'" in grade.reason
    assert "missions/released/" in grade.reason
