"""Every key comes from the one table (tui/actions.py), and a player's keymap remaps it by id."""

from __future__ import annotations

import inspect
import pkgutil
from importlib import import_module

import pytest
from textual.binding import Binding
from textual.dom import DOMNode

import edgequest.tui
from edgequest.errors import EdgeQuestError
from edgequest.tui.actions import ACTIONS, check_keymap, keymap_path, read_keymap
from edgequest.tui.app import EdgeQuestApp
from tests.test_tui_fakes import fake_campaign, fake_models  # noqa: F401 (fixture)
from tests.test_tui_play import SIZE, run_async, settle


def our_nodes() -> list[type[DOMNode]]:
    """Every app, screen and widget class defined in edgequest.tui."""
    found = []
    for info in pkgutil.walk_packages(edgequest.tui.__path__, "edgequest.tui."):
        module = import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, DOMNode):
                found.append(cls)
    return found


def test_every_binding_of_ours_is_a_row_of_the_key_table():
    nodes = our_nodes()
    assert {"ControlStepper", "HelpScreen", "CommitScreen", "WorkbenchScreen", "EdgeQuestApp"} <= {
        n.__name__ for n in nodes}
    for node in nodes:
        for binding in node.__dict__.get("BINDINGS", []):
            assert isinstance(binding, Binding), (node.__name__, binding)
            assert binding.id in ACTIONS, f"{node.__name__}: binding {binding.key!r} has no id in tui/actions.py"
            assert binding == ACTIONS[binding.id].binding(), (node.__name__, binding.id)


def test_a_keymap_file_is_read_and_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert keymap_path() == tmp_path / "edgequest" / "keys.toml"
    assert read_keymap() == {}  # no file: the table's keys
    keymap_path().parent.mkdir()
    keymap_path().write_text('[keys]\n"bench.run" = "f5"\n"nav.tracks" = "escape,backspace"\n')
    assert read_keymap() == {"bench.run": "f5", "nav.tracks": "escape,backspace"}


@pytest.mark.parametrize("text, says", [
    ('[keys]\n"bench.runn" = "f5"\n', "keys.bench.runn: no such action; accepted: app.quit"),
    ('[keys]\n"bench.run" = 5\n', "keys.bench.run: got 5; accepted: key names"),
    ('[keys]\n"bench.run" = "f5,,r"\n', "accepted: key names separated by commas"),
    ('"bench.run" = "f5"\n', "expected one table [keys]"),
    ("[keys\n", "not a readable TOML keymap"),
])
def test_a_bad_keymap_says_what_is_wrong_and_what_is_accepted(tmp_path, text, says):
    path = tmp_path / "keys.toml"
    path.write_text(text)
    with pytest.raises(EdgeQuestError, match="keys.toml") as caught:
        read_keymap(path)
    assert says in str(caught.value)


def test_check_keymap_refuses_what_is_not_a_table():
    with pytest.raises(EdgeQuestError, match="expected one table"):
        check_keymap(["keys"], "here")


@run_async
async def test_a_remapped_key_runs_and_the_old_one_does_not(fake_models, tmp_path):
    app = EdgeQuestApp(fake_campaign(), tmp_path, "ada", seed=3, track="cloud-titan",
                       keymap={"bench.run": "f5", "control.more": "k"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter", *"5000", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "WorkbenchScreen"
        await pilot.press("r")
        await settle(pilot)
        assert not app.session.game.outcomes(1)
        await pilot.press("down", "k")  # the rank control, one notch up with the remapped key
        await pilot.press("f5")
        await settle(pilot)
        runs = app.session.game.outcomes(1)
        assert len(runs) == 1
        rank = app.session.mission.part(1).control("rank")
        assert runs[0].controls["rank"] == rank.default + rank.step
        await pilot.press("f1")
        await pilot.pause()
        assert "| `f5` | Run |" in app.screen.query_one("Markdown").source


def test_the_game_refuses_a_bad_keymap_before_taking_the_screen(tmp_path):
    import os
    import pty
    import select
    import subprocess
    import sys

    (tmp_path / "edgequest").mkdir()
    (tmp_path / "edgequest" / "keys.toml").write_text('[keys]\n"bench.rn" = "f5"\n')
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    # A real terminal on stdin and stdout (the game refuses to start without one), stderr apart.
    leader, follower = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "edgequest", "--save-dir", str(tmp_path / "saves")],
                              stdin=follower, stdout=follower, stderr=subprocess.PIPE, text=True, env=env,
                              timeout=120)
        shown = b""
        while select.select([leader], [], [], 0.2)[0]:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 2
    assert "keys.bench.rn: no such action" in done.stderr and "Traceback" not in done.stderr
    assert shown == b""  # the screen was never taken
