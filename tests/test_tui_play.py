"""Pilot tests at 80x24: whole parts played by keys, saves checked against what was played.

Each track's first part is played through the keyboard (the Lock, two runs with a
control moved between them, commit, the reveal, Reflect). The save written is then
compared with the moves we made, and replaying it through the game core must give the
score the game showed. The stand-in tracks always run; the real campaign's tracks run
too once mission files exist.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import re
import time
from pathlib import Path

import pytest

from edgequest.campaign import load_campaign, mission_paths
from edgequest.game.play import Game
from edgequest.game.record import PartRecord
from edgequest.saves.store import read_save, save_path
from edgequest.tui import stepping
from edgequest.tui.app import EdgeQuestApp
from tests.test_tui_fakes import FAKE_MODELS, TRACKS, fake_campaign, fake_models  # noqa: F401 (fixture)

SIZE = (80, 24)
REFLECTION = "Gradients and optimizer state multiply the memory, so I trained fewer weights."


def run_async(test):
    """Run an async test on a fresh event loop (the project needs no asyncio plugin)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def lock_answer(part) -> str:
    lock = part.lock
    if lock.kind == "choice":
        return lock.choices[-1]
    return str(int(lock.min + (lock.max - lock.min) * 0.01) or 1)


async def settle(pilot) -> None:
    """Wait for running workers (a run) and the messages they post, never a fixed sleep."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def play_part(pilot, mission, number: int) -> PartRecord:
    """Play one part by keys from its briefing; return the moves we made."""
    app = pilot.app
    part = mission.part(number)
    await pilot.press("enter")  # briefing -> the Lock
    await pilot.pause()
    answer = lock_answer(part)
    if part.lock.kind == "choice":
        for _ in range(part.lock.choices.index(answer)):
            await pilot.press("down")
    else:
        await pilot.press(*answer)
    await pilot.press("enter")
    await pilot.pause()
    assert type(app.screen).__name__ == "WorkbenchScreen"

    runs = [dict(part.defaults)]
    await pilot.press("r")
    await settle(pilot)
    first = part.controls[0]
    moved = stepping.step(first, part.defaults[first.name], +1)
    if moved == part.defaults[first.name]:
        moved = stepping.step(first, part.defaults[first.name], -1)
        await pilot.press("left")
    else:
        await pilot.press("right")
    runs.append({**part.defaults, first.name: moved})
    await pilot.press("r")
    await settle(pilot)
    assert "Run 2/" in str(app.screen.query_one("#run-status").render())

    await pilot.press("c")  # the commit dialog highlights the best passing run: go to the latest
    await pilot.pause()
    await pilot.press("end", "enter")
    await pilot.pause()
    if type(app.screen).__name__ == "CommitScreen":  # it fails the SPEC: asked again
        await pilot.press("y")
        await pilot.pause()
    assert type(app.screen).__name__ == "RevealScreen"
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(*REFLECTION[:12])  # typed, then the rest pasted (as a terminal pastes)
    from textual import events

    app.post_message(events.Paste(REFLECTION[12:]))
    await pilot.pause()
    await pilot.press("ctrl+s")
    await pilot.pause()
    value = part.lock.coerce(answer)
    return PartRecord(lock=value, runs=runs, commit=1, reflection=REFLECTION)


def shown_points(app, number: int) -> float:
    for notice in reversed(app.notices):
        found = re.match(rf"Part {number} scored ([0-9.]+) of 100", notice)
        if found:
            return float(found.group(1))
    raise AssertionError(f"no score shown for part {number}: {app.notices}")


def _campaigns():
    cases = [pytest.param("fake", track, id=f"stand-in-{track}") for track in TRACKS]
    if mission_paths():
        cases += [pytest.param("real", track, id=f"real-{track}") for track in load_campaign()]
    return cases


@pytest.mark.parametrize(("kind", "track"), _campaigns())
@run_async
async def test_play_part_one_by_keys_and_the_save_replays_to_the_shown_score(kind, track, tmp_path, request):
    if kind == "fake":
        request.getfixturevalue("fake_models")
    campaign = fake_campaign() if kind == "fake" else load_campaign()
    mission = campaign[track]
    app = EdgeQuestApp(campaign, tmp_path, "ada", seed=11)
    async with app.run_test(size=SIZE) as pilot:
        ids = list(campaign)
        for _ in range(ids.index(track)):
            await pilot.press("down")
        await pilot.press("enter")  # the title: play the highlighted track
        await pilot.pause()
        assert type(app.screen).__name__ == "BriefingScreen"
        played = await play_part(pilot, mission, 1)
        shown = shown_points(app, 1)
        assert type(app.screen).__name__ == "BriefingScreen" and app.screen.number == 2

    save = read_save(save_path(tmp_path, "ada", track))
    assert save.mission_sha256 == mission.sha256
    assert save.record.seed == 11
    assert save.record.parts[1].to_dict() == played.to_dict()
    assert set(save.record.parts) == {1}
    replayed = Game.replay(mission, save.record)
    assert round(replayed.score(1).points, 1) == shown
    if kind == "real":  # the real autograder, in its own process, grades the save to the same score
        import json
        import subprocess
        import sys

        results = tmp_path.parent / f"{tmp_path.name}-results.json"  # not inside the graded folder
        done = subprocess.run([sys.executable, "-m", "edgequest", "grade", str(tmp_path), "--format", "json",
                               "--results", str(results)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and done.stderr == ""
        graded = json.loads(results.read_text())["saves"][0]
        assert graded["status"] == "graded"
        assert round(graded["parts"][0]["points"], 1) == shown


@run_async
async def test_resume_lands_where_the_player_left_off(fake_models, tmp_path):
    campaign = fake_campaign()
    mission = campaign["edge-guardian"]
    app = EdgeQuestApp(campaign, tmp_path, "ada", seed=3, track="edge-guardian")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await play_part(pilot, mission, 1)
        await pilot.press("enter")  # part 2's briefing -> its Lock
        await pilot.pause()
        await pilot.press("enter")  # choices: the first one
        await pilot.pause()
        await pilot.press("r")
        await settle(pilot)
    again = EdgeQuestApp(campaign, tmp_path, "ada", track="edge-guardian")
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = again.screen
        assert type(screen).__name__ == "WorkbenchScreen" and screen.number == 2
        assert "Run 1/10" in str(screen.query_one("#run-status").render())
        assert again.session.game.seed == 3


@run_async
async def test_title_shows_progress_and_resumes_from_the_track_list(fake_models, tmp_path):
    campaign = fake_campaign()
    app = EdgeQuestApp(campaign, tmp_path, "ada", seed=3, track="mobile-nomad")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await play_part(pilot, campaign["mobile-nomad"], 1)
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "TitleScreen"
        tracks = app.screen.query_one("#tracks")
        line = str(tracks.get_option("mobile-nomad").prompt)
        assert "■□□" in line and "part 2 of 3: briefing" in line
        await pilot.press("enter")  # the highlighted track is the one just played
        await pilot.pause()
        assert type(app.screen).__name__ == "BriefingScreen" and app.screen.number == 2


@run_async
async def test_keys_answer_while_a_run_simulates(fake_models, monkeypatch, tmp_path):
    slow_started = []

    def slow(part, controls, rng):
        slow_started.append(time.monotonic())
        time.sleep(0.6)
        return FAKE_MODELS["frontier"].simulate(part, controls, rng)

    from edgequest.simulators import registry

    monkeypatch.setitem(registry.MODELS, "frontier", dataclasses.replace(FAKE_MODELS["frontier"], simulate=slow))
    campaign = fake_campaign()
    app = EdgeQuestApp(campaign, tmp_path, "ada", seed=3, track="cloud-titan")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter", *"5000", "enter")
        await pilot.pause()
        bench = app.screen
        await pilot.press("r")
        while not slow_started:
            await pilot.pause(0.01)
        assert bench.simulating
        assert "SIMULATING" in str(bench.query_one("#run-status").render())
        await pilot.press("down")  # answered during the run: focus moves to the next control
        assert app.focused.id == "control-rank"
        await pilot.press("m")
        assert bench.peek_open
        assert bench.simulating  # all of that happened while the run was still going
        await settle(pilot)
        assert not bench.simulating
        assert len(app.session.game.outcomes(1)) == 1


@run_async
async def test_charts_build_only_when_their_data_change(fake_models, tmp_path):
    campaign = fake_campaign()
    app = EdgeQuestApp(campaign, tmp_path, "ada", seed=3, track="cloud-titan")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter", *"5000", "enter")
        await pilot.pause()
        await pilot.press("r")
        await settle(pilot)
        chart = app.screen.query_one("#chart-memory")
        builds = chart.builds
        assert builds == 1
        for key in ("down", "up", "right", "left", "right", "m", "m", "tab"):
            await pilot.press(key)
        await pilot.pause()
        assert chart.builds == builds  # focus, keys and repaints reuse the built text
        await pilot.press("r")  # a new design (the same one would not be run again)
        await settle(pilot)
        assert chart.builds == builds + 1


@run_async
async def test_below_the_minimum_size_it_says_what_it_needs(fake_models, tmp_path):
    app = EdgeQuestApp(fake_campaign(), tmp_path, "ada")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        cover = app.screen.query_one("#too-small")
        assert cover.display and cover.styles.display == "block"
        text = str(cover.render())
        assert "at least 80×24" in text and "60×20" in text
    app = EdgeQuestApp(fake_campaign(), tmp_path, "ada")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#too-small").styles.display == "none"


@run_async
async def test_no_color_keeps_pass_and_fail_in_words(fake_models, tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = EdgeQuestApp(fake_campaign(), tmp_path, "ada", seed=3, track="cloud-titan")
    async with app.run_test(size=SIZE) as pilot:
        assert app.no_color
        await pilot.pause()
        await pilot.press("enter", *"5000", "enter")
        await pilot.pause()
        await pilot.press("r")
        await settle(pilot)
        spec = str(app.screen.query_one("#spec").render())
        assert "✗ FAIL" in spec and "✓ PASS" in spec  # the stand-in's full fine-tune breaks the budget
        chart = app.screen.query_one("#chart-memory")
        assert all(span.style in ("", None) or not getattr(span.style, "color", None)
                   for span in chart.render().spans)


@run_async
async def test_help_palette_and_bindings(fake_models, tmp_path):
    from edgequest.tui.app import GameCommands
    from edgequest.tui.screens.dialogs import HelpScreen

    app = EdgeQuestApp(fake_campaign(), tmp_path, "ada", seed=3, track="cloud-titan")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter", *"5000", "enter")
        await pilot.pause()
        bench = app.screen
        ids = {b.id for b in bench.BINDINGS}
        assert {"bench.run", "bench.commit", "bench.peek", "nav.tracks"} <= ids
        assert all(b.id and b.description for b in bench.BINDINGS)
        provider = GameCommands(bench)
        names = [hit.text async for hit in provider.discover()]
        assert "Run" in names and "Math Peek" in names and "Play Tiny Pioneer" in names
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        markdown = app.screen.query_one("Markdown")
        assert "The workbench" in markdown.source and "`r`" in markdown.source
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is bench
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


@run_async
async def test_bad_input_is_a_notice_not_a_crash(fake_models, tmp_path):
    app = EdgeQuestApp(fake_campaign(), tmp_path, "ada", seed=3, track="cloud-titan")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter", *"lots", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "LockScreen"
        assert "is not a number" in app.notices[-1]
        await pilot.press(*("backspace",) * 4, *"5000", "enter")
        await pilot.pause()
        await pilot.press("down", "enter")  # type a value for the rank: out of range
        await pilot.pause()
        await pilot.press(*("backspace",) * 3, *"999", "enter")
        await pilot.pause()
        assert "not accepted" in app.notices[-1] and "from 1 to 64" in app.notices[-1]
        assert app.screen.query_one("#control-rank").value == 8


@run_async
async def test_read_only_when_another_session_holds_the_save(fake_models, tmp_path):
    from tests.test_session import held_elsewhere

    campaign = fake_campaign()
    with held_elsewhere(tmp_path, "ada", "cloud-titan"):
        app = EdgeQuestApp(campaign, tmp_path, "ada", track="cloud-titan")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert app.session.read_only
            banner = str(app.screen.query_one("#read-only").render())
            assert "READ-ONLY" in banner
            await pilot.press("enter", *"5000", "enter")
            await pilot.pause()
            assert "read-only" in app.notices[-1]
    assert not save_path(tmp_path, "ada", "cloud-titan").exists()


@run_async
async def test_an_unresumable_save_offers_a_fresh_start_keeping_the_old_file(fake_models, tmp_path):
    campaign = fake_campaign()
    broken = save_path(tmp_path, "ada", "cloud-titan")
    broken.write_bytes(b"not a save at all")
    app = EdgeQuestApp(campaign, tmp_path, "ada", track="cloud-titan")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "ResumeProblemScreen"
        await pilot.press("enter")  # "Start fresh" has the focus
        await pilot.pause()
        assert type(app.screen).__name__ == "BriefingScreen"
    kept = [p for p in Path(tmp_path).iterdir() if ".kept-" in p.name]
    assert len(kept) == 1 and kept[0].read_bytes() == b"not a save at all"


def test_hangup_saves_and_exits_without_writing(tmp_path):
    """SIGHUP ends a session quietly, saved, and leaves the save free for the next one."""
    import signal
    import subprocess
    import sys

    from tests.test_tui_fakes import mission_toml

    mission_file = tmp_path / "toy.toml"
    mission_file.write_text(mission_toml("edge-guardian"))
    code = f"""
import sys, time
from pathlib import Path
from tests.test_tui_fakes import FAKE_MODELS
from edgequest.simulators import registry
registry.MODELS.update(FAKE_MODELS)
from edgequest.campaign import load_mission
from edgequest.session import Session
from edgequest.saves.hangup import install_hangup_handler
from edgequest.tui.launch import save_and_release
s = Session.open(load_mission(Path({str(mission_file)!r})), Path({str(tmp_path)!r}), "ada", seed=9)
s.lock(1, 10)
install_hangup_handler(save_and_release(lambda: s))
print("ready", flush=True)
time.sleep(30)
"""
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 128 + signal.SIGHUP
    assert out == "" and err == ""
    save = read_save(save_path(tmp_path, "ada", "edge-guardian"))
    assert save.record.parts[1].lock == 10.0
