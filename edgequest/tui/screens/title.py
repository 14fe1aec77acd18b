"""The title: four tracks, each with its persona, North Star, crisis and the player's progress.

This is the first screen, so it reads saves for progress without replaying them (no
numpy, no simulation) and imports nothing heavy.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from edgequest.session import TrackProgress, track_progress
from edgequest.tui.actions import bindings
from edgequest.tui.screens.base import EdgeScreen
from edgequest.tui.widgets.keybar import KeyBar


HOW_TO_PLAY = (
    "How a part goes: read the briefing, lock in a prediction (the Lock), then run designs on "
    "the workbench (at most 10 runs), commit the one you stand by, see the truth revealed, and "
    "reflect. After part 3 the Ledger sets your designs side by side. Every move is saved; "
    "F1 or ? opens help on any screen."
)


class TrackList(OptionList):
    """The tracks; Enter plays one (the binding is the list's own, so it reads in order)."""

    BINDINGS = bindings("title.play")


class TitleScreen(EdgeScreen):
    # Enter plays the highlighted track wherever the focus is (Tab to the details too).
    BINDINGS = bindings("title.play")
    HELP = """\
## Choosing a track

Each track is one persona facing this lab's crisis on its own device, with its own
numbers. Every track plays the same three parts: the **Memory-Accuracy Frontier**,
**Non-IID Convergence** and the **Privacy Frontier**, then the **Ledger**.

Use the arrow keys to pick a track and **Enter** to play it. A track you started
resumes where you left off; your moves are saved after every action.
"""

    def compose(self) -> ComposeResult:
        app = self.edge_app
        yield Static(" EdgeQuest · Edge Intelligence: On-Device Learning & Federated Fleets", classes="bar")
        with Vertical(id="title-body"):
            yield TrackList(*self._options(), id="tracks")
            with VerticalScroll(id="track-detail"):
                yield Static(id="detail")
                yield Static(HOW_TO_PLAY, id="how-to", classes="dim")
            yield Static(f" player {app.player} · saves in {app.save_dir}", id="title-foot", classes="dim")
        yield KeyBar()

    def _options(self) -> list[Option]:
        app = self.edge_app
        options = []
        for mission in app.campaign.values():
            progress = track_progress(mission, app.save_dir, app.player)
            options.append(Option(_track_line(mission, progress), id=mission.id))
        return options

    def on_mount(self) -> None:
        tracks = self.query_one("#tracks", OptionList)
        tracks.border_title = "Choose your track"
        self.query_one("#track-detail").border_title = "Track"
        tracks.focus()
        current = self.edge_app.session.mission.id if self.edge_app.session else None
        ids = list(self.edge_app.campaign)
        tracks.highlighted = ids.index(current) if current in ids else 0

        self.call_after_refresh(self._warm_up)

    @work(thread=True, exit_on_error=False)
    def _warm_up(self) -> None:
        """Import the game core, numpy and plotext while the player reads the title, so
        opening a track is immediate. The title itself never waits for them: this starts
        only once the title is drawn (before, it would compete with the drawing)."""
        if self.edge_app.warm_up is not None:
            self.edge_app.warm_up()
        import plotext  # noqa: F401

        import edgequest.game.play  # noqa: F401
        import edgequest.simulators.registry  # noqa: F401

    def on_screen_resume(self) -> None:
        """Progress may have moved while a track was open: read it again."""
        tracks = self.query_one("#tracks", OptionList)
        highlighted = tracks.highlighted
        tracks.clear_options()
        tracks.add_options(self._options())
        tracks.highlighted = highlighted

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        mission = self.edge_app.campaign.get(event.option.id or "")
        if mission is None:
            return
        self.query_one("#track-detail").border_title = f"{mission.name} · {mission.persona}"
        detail = Text()
        for label, value in (("North Star", mission.north_star), ("Crisis", mission.crisis),
                             ("Device", mission.device_name)):
            detail.append(f"{label}: ", style="bold")
            detail.append(value + "\n")
        detail.append("Parts: ", style="bold")
        detail.append(" · ".join(f"{p.number} {p.title}" for p in mission.parts))
        self.query_one("#detail", Static).update(detail)

    def action_select(self) -> None:
        tracks = self.query_one("#tracks", OptionList)
        if tracks.highlighted is not None:
            track_id = tracks.get_option_at_index(tracks.highlighted).id
            if track_id:
                self.post_message(self.TrackChosen(track_id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.post_message(self.TrackChosen(event.option.id))


def _track_line(mission, progress: TrackProgress) -> Text:
    text = Text()
    text.append(f"{mission.name:<15}", style="bold")
    text.append(f" {mission.persona:<17}")
    done = "■" * progress.parts_done + "□" * (progress.parts_total - progress.parts_done)
    text.append(f" {done} ")
    text.append(progress.summary, style="italic")
    return text
