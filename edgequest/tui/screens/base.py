"""What every EdgeQuest screen shares: the size check, the help text, the track's session.

A screen never calls back into the app to move the game along: it posts one of the
messages below (:class:`EdgeScreen.StepDone`, ...) and the app, their parent, decides
which screen comes next, as Textual's widgets do with theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import events
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from edgequest.errors import EdgeQuestError

if TYPE_CHECKING:
    from edgequest.session import Session
    from edgequest.tui.app import EdgeQuestApp

MIN_WIDTH = 80
MIN_HEIGHT = 24


class TooSmall(Static):
    """Covers the screen, saying what size is needed, while the terminal is below it."""

    def update_size(self, width: int, height: int) -> None:
        self.update(
            f"EdgeQuest needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}.\n"
            f"This one is {width}×{height}.\n\nMake the window larger (or the font smaller).\n"
            "ctrl+q quits; your game is saved."
        )


class SizeChecked(Screen):
    """Mount a :class:`TooSmall` cover and keep its text true on every resize."""

    def _mount_size_check(self) -> None:
        cover = TooSmall(id="too-small")
        self.mount(cover)
        cover.update_size(*self.app.size)

    def _resize_size_check(self, event: events.Resize) -> None:
        try:
            self.query_one("#too-small", TooSmall).update_size(event.size.width, event.size.height)
        except Exception:
            pass


class EdgeScreen(SizeChecked):
    class StepDone(Message):
        """The game moved on (a Lock, a reflection, a commit): show the step it is at now."""

    class TracksWanted(Message):
        """Back to the track choice; the game stays saved."""

    class TrackChosen(Message):
        """The player chose a track to play (or resume)."""

        def __init__(self, track_id: str) -> None:
            super().__init__()
            self.track_id = track_id

    def on_mount(self) -> None:
        self._mount_size_check()

    def on_resize(self, event: events.Resize) -> None:
        self._resize_size_check(event)

    @property
    def edge_app(self) -> EdgeQuestApp:
        """The app, for what it holds (the campaign, the player, the session); to move the
        game along, post a message instead."""
        return cast("EdgeQuestApp", self.app)

    def action_tracks(self) -> None:
        self.post_message(self.TracksWanted())

    def notify_error(self, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, EdgeQuestError) else f"unexpected problem: {type(exc).__name__}: {exc}"
        self.notify(message, title="Not done", severity="error", timeout=8)


class EdgeModal(SizeChecked, ModalScreen):
    def on_mount(self) -> None:
        self._mount_size_check()

    def on_resize(self, event: events.Resize) -> None:
        self._resize_size_check(event)


class PartScreen(EdgeScreen):
    """A screen of one part of the current track: it shows the track and any read-only note."""

    def __init__(self, number: int):
        super().__init__()
        self.number = number

    @property
    def session(self) -> "Session":
        session = self.edge_app.session
        assert session is not None
        return session

    @property
    def game(self):
        return self.session.game

    @property
    def part(self):
        return self.session.mission.part(self.number)

    def compose_bar(self, right: str = "") -> ComposeResult:
        mission = self.session.mission
        left = f" {mission.name} · Part {self.number}/{len(mission.parts)} · {self.part.title}"
        yield Static(left, id="bar-left", classes="bar")
        if self.session.read_only:
            yield Static(f" READ-ONLY: {self.session.holder} holds this save; moves here are not saved.",
                         id="read-only", classes="banner")
