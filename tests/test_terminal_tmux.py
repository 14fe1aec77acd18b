"""A real terminal: drive ``edgequest`` in tmux at 80x24 by keystrokes.

Plays the first part of a track (the Lock, two runs, commit, the reveal, Reflect), quits
with ctrl+q, starts the game again and checks that it lands where the player left off.
With the campaign's mission files present it runs the real ``edgequest`` command; before
they exist it runs the same launcher on the stand-in tracks. Skipped without tmux.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from edgequest.campaign import mission_paths
from edgequest.saves.store import read_save, save_path

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")



class Terminal:
    """One tmux server of our own (its own socket), one 80x24 window."""

    def __init__(self, tmp: Path):
        self.socket = f"eq-{uuid.uuid4().hex[:8]}"
        self.tmp = tmp

    def tmux(self, *args: str) -> str:
        # Not the pytest process's COLUMNS and LINES (a plugin sets them for its own apps): a
        # program reads those before the terminal, and would never see the window resized.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20, env=env)
        return done.stdout

    def start(self, command: str) -> None:
        env = "env TERM=xterm-256color COLORTERM= NO_COLOR= EDGEQUEST_PLAYER=tmux "
        script = f"cd {shlex.quote(str(ROOT))} && {env}{command}; echo EXITED $?; sleep 60"
        self.tmux("new-session", "-d", "-s", "eq", "-x", "80", "-y", "24", "bash", "-c", script)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", "eq", *(["-l"] if literal else []), *keys)
        time.sleep(0.15)

    def resize(self, width: int, height: int) -> None:
        self.tmux("resize-window", "-t", "eq", "-x", str(width), "-y", str(height))

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "eq")

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def wait_for_any(self, *texts: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if any(text in shown for text in texts):
                return shown
            time.sleep(0.1)
        raise AssertionError(f"none of {texts!r} appeared; the screen shows:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(tmp_path)
    yield term
    term.close()


def _game_command(tmp_path: Path, track: str | None, monkeypatch) -> tuple[str, str, object]:
    """The command to play, the track to play, and its mission (real campaign if present)."""
    saves = tmp_path / "saves"
    if mission_paths():
        from edgequest.campaign import load_campaign

        campaign = load_campaign()
        track = track or next(iter(campaign))
        command = (f"{shlex.quote(sys.executable)} -m edgequest --track {track} --player tmux "
                   f"--save-dir {shlex.quote(str(saves))} --seed 4")
        return command, track, campaign[track]
    from tests.test_tui_fakes import FAKE_MODELS, STAND_IN_LAUNCHER, mission_toml
    from edgequest.campaign import load_mission_bytes
    from edgequest.simulators import registry

    track = track or "edge-guardian"
    script = tmp_path / "launch.py"
    script.write_text(STAND_IN_LAUNCHER.format(player="tmux", root=str(ROOT), missions=str(tmp_path / "missions"),
                                           track=track, saves=str(saves)))
    for name, model in FAKE_MODELS.items():  # only for loading the mission here
        monkeypatch.setitem(registry.MODELS, name, model)
    mission = load_mission_bytes(mission_toml(track).encode(), track)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}", track, mission


def _to_workbench(terminal: Terminal, part) -> None:
    """From a part's briefing through the Lock (a choice's first answer, or 1% into the range)."""
    terminal.wait_for("Mission briefing")
    terminal.keys("Enter")
    terminal.wait_for("The Lock")
    if part.lock.kind == "choice":
        terminal.keys("Enter")
    else:
        terminal.keys(str(int(part.lock.min + (part.lock.max - part.lock.min) * 0.01) or 1), literal=True)
        terminal.keys("Enter")
    terminal.wait_for("Run 0/")


def test_play_quit_and_resume_in_a_real_terminal(terminal, tmp_path, monkeypatch):
    command, track, mission = _game_command(tmp_path, None, monkeypatch)
    part = mission.part(1)
    terminal.start(command)
    _to_workbench(terminal, part)
    terminal.keys("r")
    terminal.wait_for("last: run 1 ")
    terminal.keys("Right")
    terminal.keys("r")
    terminal.wait_for("last: run 2 ")
    terminal.keys("c")
    terminal.wait_for("Commit the design")
    terminal.keys("End")
    terminal.keys("Enter")
    if "fails the SPEC" in terminal.wait_for_any("The reveal", "fails the SPEC"):
        terminal.keys("y")
    terminal.wait_for("The reveal")
    terminal.keys("Enter")
    terminal.wait_for("Reflect · Part 1")
    terminal.keys("Training stores gradients and optimizer state beside the weights.", literal=True)
    terminal.keys("C-s")
    shown = terminal.wait_for("Part 2/")
    assert "Mission briefing" in shown
    terminal.keys("C-q")
    terminal.wait_for("EXITED 0")

    save = read_save(save_path(tmp_path / "saves", "tmux", track))
    first = save.record.parts[1]
    assert len(first.runs) == 2 and first.commit == 1 and first.reflection.startswith("Training stores")

    terminal.close()
    again = Terminal(tmp_path)
    try:
        again.start(command)
        shown = again.wait_for("Mission briefing")
        assert "Part 2/" in shown  # it lands where the player left off
        again.keys("C-q")
        again.wait_for("EXITED 0")
    finally:
        again.close()


# ------------------------------------------------------------------ the whole campaign

REFLECTION = ("The numbers moved the way the reveal said they would: the budget forced a smaller design, and "
              "the run I committed kept the SPEC's guardrail while spending fewer of the part's runs.")
LEDGER = ("Keeping the data on the device was the path to reliable real-time answers: training fit the "
          "device, the fleet learned without uploading raw data, and the privacy budget held.")


def _labels_shown_whole(screen: str, part) -> set[str]:
    """The control labels the Design box shows whole, each followed by its value."""
    # A row reads "│ <label><spaces>[◀ ]<value>": a cut label would run into the value.
    return {c.label for c in part.controls
            if re.search(r"│ " + re.escape(c.label) + r" +(◀ +)?\S", screen)}


def _play_part(terminal: Terminal, part, number: int) -> None:
    _to_workbench(terminal, part)
    seen_whole: set[str] = set()
    for _ in part.controls:  # each control focused in turn (the Design box scrolls to it)
        seen_whole |= _labels_shown_whole(terminal.screen(), part)
        terminal.keys("Down")
    missing = {c.label for c in part.controls} - seen_whole
    assert not missing, f"part {number}: control labels never shown whole: {missing}\n{terminal.screen()}"
    terminal.keys("r")
    terminal.wait_for("last: run 1 ", timeout=60)
    terminal.keys("c")
    terminal.wait_for("Commit the design")
    terminal.keys("Enter")
    if "fails the SPEC" in terminal.wait_for_any("The reveal", "fails the SPEC"):
        terminal.keys("y")
    terminal.wait_for("The reveal")
    terminal.keys("Enter")
    terminal.wait_for(f"Reflect · Part {number}")
    terminal.keys(REFLECTION, literal=True)
    terminal.keys("C-s")


def _campaign_tracks() -> list:
    if not mission_paths():
        return []
    from edgequest.campaign import load_campaign

    return list(load_campaign())


@pytest.mark.parametrize("track", _campaign_tracks())
def test_the_whole_campaign_of_a_track_by_keys_at_80x24(terminal, tmp_path, track):
    """Every part and the Ledger, by keys, with every control label shown whole."""
    from edgequest.campaign import load_campaign

    mission = load_campaign()[track]
    saves = tmp_path / "saves"
    terminal.start(f"{shlex.quote(sys.executable)} -m edgequest --track {track} --player tmux "
                   f"--save-dir {shlex.quote(str(saves))} --seed 4")
    for part in mission.parts:
        _play_part(terminal, part, part.number)
    terminal.wait_for("The Ledger")
    terminal.keys("Tab")  # the strategy
    terminal.keys("Enter")
    terminal.keys("Tab")  # the text
    terminal.keys(LEDGER, literal=True)
    terminal.keys("C-s")
    terminal.wait_for("Track complete")
    terminal.keys("C-q")
    terminal.wait_for("EXITED 0")
    save = read_save(save_path(saves, "tmux", track))
    assert all(save.record.parts[p.number].commit is not None for p in mission.parts)
    assert save.record.ledger and LEDGER in save.record.ledger


def test_no_key_acts_behind_the_too_small_cover_in_a_real_terminal(terminal, tmp_path, monkeypatch):
    command, track, mission = _game_command(tmp_path, None, monkeypatch)
    terminal.start(command)
    _to_workbench(terminal, mission.part(1))
    terminal.keys("r")
    terminal.wait_for("Run 1/")
    terminal.resize(60, 16)
    terminal.wait_for("needs a terminal of at least 80")
    for key in ("r", "c", "Right", "Enter", "m"):
        terminal.keys(key)
    terminal.resize(80, 24)
    terminal.wait_for("Run 1/")
    terminal.keys("m")  # a key after the cover, with a visible effect: every key before it was handled
    shown = terminal.wait_for("Math Peek")
    assert "Run 1/" in shown and "Run 2/" not in shown and "Commit the design" not in shown
    terminal.keys("C-q")
    terminal.wait_for("EXITED 0")
    save = read_save(save_path(tmp_path / "saves", "tmux", track))
    assert len(save.record.parts[1].runs) == 1  # the keys behind the cover changed nothing
