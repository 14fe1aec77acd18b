"""Every key of the game in one table: bindings, the command palette and help read it.

Each action has a stable id, a short description for the footer and a tooltip that the
help screen and the command palette show. Only keys that terminals reliably pass through
are used. A player remaps keys by id in a small TOML file (:func:`keymap_path`)::

    [keys]
    "bench.run" = "f5"
    "nav.tracks" = "escape,backspace"

which the app applies with Textual's ``App.set_keymap``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding, BindingType

from edgequest.errors import EdgeQuestError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MAX_KEYMAP_BYTES = 64 * 1024


@dataclass(frozen=True)
class GameAction:
    id: str
    keys: str
    action: str
    description: str
    tooltip: str
    show: bool = True
    key_display: str | None = None
    priority: bool = False

    def binding(self) -> Binding:
        return Binding(
            self.keys, self.action, self.description, show=self.show, key_display=self.key_display,
            priority=self.priority, tooltip=self.tooltip, id=self.id,
        )


_ALL = (
    GameAction("app.quit", "ctrl+q", "quit", "Quit", "Leave EdgeQuest. Every move is already saved.",
               priority=True),
    GameAction("app.help", "f1,question_mark", "help", "Help", "Keys and how to play this screen.",
               key_display="F1/?"),
    GameAction("app.report", "e", "export_report", "Export report",
               "Write this track's lab report (HTML, with its charts) into the save folder.", show=False),
    GameAction("nav.tracks", "escape", "tracks", "Tracks", "Back to the track choice; your game stays saved."),
    GameAction("title.play", "enter", "select", "Play", "Play the highlighted track, resuming where you left off."),
    GameAction("briefing.lock", "enter", "to_lock", "To the Lock",
               "Go on to the Lock: predict before the workbench opens."),
    GameAction("lock.submit", "enter", "submit", "Lock in", "Lock in your prediction; it cannot be changed."),
    GameAction("lock.choose", "enter", "select", "Lock in", "Lock in the highlighted answer; it cannot be changed."),
    GameAction("bench.run", "r", "run", "Run", "Simulate the design on the controls (uses one run of the budget)."),
    GameAction("bench.commit", "c", "commit", "Commit", "Choose the run you stand by; this reveals the truth."),
    GameAction("bench.peek", "m", "peek", "Math Peek", "Show or hide the formula behind the instrument."),
    GameAction("bench.view", "v", "next_view", "View", "Show the next instrument."),
    GameAction("bench.load", "l", "load_run", "Load",
               "Put the controls of the run highlighted in Runs back on the workbench."),
    GameAction("reveal.reflect", "enter", "to_reflect", "Reflect", "Go on to write your reflection."),
    GameAction("text.submit", "ctrl+s", "submit", "Submit", "Submit the text (also: Tab to the button, Enter)."),
    GameAction("done.next", "enter", "next", "Continue", "Go on."),
    # A workbench control (widgets/stepper.py).
    GameAction("control.less", "left,minus", "step(-1)", "Less", "Move the control down one notch.", show=False),
    GameAction("control.more", "right,plus,equals_sign", "step(1)", "More", "Move the control up one notch.",
               show=False),
    GameAction("control.much_less", "shift+left,pagedown", "step(-1, True)", "Much less",
               "Move the control down five notches (a rank or a batch: halve it).", show=False),
    GameAction("control.much_more", "shift+right,pageup", "step(1, True)", "Much more",
               "Move the control up five notches (a rank or a batch: double it).", show=False),
    GameAction("control.next", "down", "move(1)", "Next", "The next control (from the last, the first).",
               show=False),
    GameAction("control.previous", "up", "move(-1)", "Previous", "The previous control (from the first, the last).",
               show=False),
    GameAction("control.edit", "enter", "edit", "Type value", "Type an exact value for this control."),
    # Dialogs (screens/dialogs.py).
    GameAction("dialog.cancel", "escape", "close", "Cancel", "Close this without doing anything."),
    GameAction("dialog.confirm", "y", "confirm", "Commit anyway", "Commit the failing run asked about.", show=False),
    GameAction("help.close", "f1,question_mark,q", "close", "Close", "Close help.", show=False),
)

ACTIONS: dict[str, GameAction] = {a.id: a for a in _ALL}


def bindings(*ids: str) -> list[BindingType]:
    return [ACTIONS[i].binding() for i in ids]


def keymap_path() -> Path:
    """Where a player's keymap lives: ``$XDG_CONFIG_HOME/edgequest/keys.toml``
    (``~/.config/edgequest/keys.toml`` when the variable is unset)."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "edgequest" / "keys.toml"


def read_keymap(path: Path | None = None) -> dict[str, str]:
    """A player's keymap (binding id -> keys), checked against the table; ``{}`` without a file.

    Raises :class:`~edgequest.errors.EdgeQuestError` naming the file, the entry and what
    is accepted, so the game says what is wrong before it takes the screen.
    """
    path = keymap_path() if path is None else path
    if not path.is_file():
        return {}
    try:
        if path.stat().st_size > MAX_KEYMAP_BYTES:
            raise EdgeQuestError(f"{path}: larger than {MAX_KEYMAP_BYTES} bytes; a keymap is a few lines")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EdgeQuestError(f"{path}: not a readable TOML keymap ({exc})") from None
    return check_keymap(data, str(path))


def check_keymap(data: object, source: str) -> dict[str, str]:
    """``data`` (a TOML document) as a keymap: a ``[keys]`` table of known ids to key lists."""
    keys = data.get("keys") if isinstance(data, dict) and set(data) <= {"keys"} else None
    if not isinstance(keys, dict):
        raise EdgeQuestError(f'{source}: expected one table [keys] of action ids, e.g. "bench.run" = "f5"')
    keymap = {}
    for action_id, value in keys.items():
        if action_id not in ACTIONS:
            raise EdgeQuestError(f"{source}: keys.{action_id}: no such action; accepted: {', '.join(ACTIONS)}")
        parts = value.split(",") if isinstance(value, str) else []
        if not parts or any(not p or p != p.strip() or len(p) > 40 for p in parts):
            raise EdgeQuestError(f"{source}: keys.{action_id}: got {value!r}; accepted: key names separated by "
                                 'commas, e.g. "f5" or "ctrl+r,f5"')
        keymap[action_id] = value
    return keymap
