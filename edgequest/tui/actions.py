"""Every key of the game in one table: bindings, the command palette and help read it.

Each action has a stable id (a player can remap a key by id with ``App.set_keymap``), a
short description for the footer and a tooltip that the help screen and the command
palette show. Only keys that terminals reliably pass through are used.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


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
)

ACTIONS: dict[str, GameAction] = {a.id: a for a in _ALL}


def bindings(*ids: str) -> list[Binding]:
    return [ACTIONS[i].binding() for i in ids]
