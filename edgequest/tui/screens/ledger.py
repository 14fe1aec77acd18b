"""The Ledger: every committed design side by side, and the strategy the player defends."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, RadioSet, Static, TextArea

from edgequest.game.ledger import STRATEGIES
from edgequest.tui import numbers as fmt
from edgequest.tui import stepping
from edgequest.tui.actions import bindings
from edgequest.tui.screens.base import EdgeScreen
from edgequest.tui.widgets.keybar import KeyBar
from edgequest.tui.widgets.radio import MarkedRadioButton
from edgequest.tui.widgets.writing import WritingArea


def designs_table(game) -> Table:
    """One column per part: its committed run, controls, SPEC verdicts and points."""
    table = Table(expand=True, show_lines=False, pad_edge=False)
    table.add_column("", style="bold", no_wrap=True)
    mission = game.mission
    for part in mission.parts:
        table.add_column(f"{part.number} {part.title}", overflow="fold")
    rows: dict[str, list[str]] = {"Run": [], "Design": [], "SPEC": [], "Points": []}
    for part in mission.parts:
        committed = game.committed(part.number)
        if committed is None:
            for key in rows:
                rows[key].append("—")
            continue
        rows["Run"].append(f"{committed.index + 1} of {len(game.outcomes(part.number))}")
        rows["Design"].append("\n".join(f"{part.control(k).label} {stepping.shown(part.control(k), v)}"
                                        for k, v in committed.controls.items()))
        rows["SPEC"].append("\n".join(f"{fmt.verdict(c.passed)} {c.check.label}" for c in committed.checks))
        rows["Points"].append(f"{game.score(part.number).points:.1f}")
    for key, cells in rows.items():
        table.add_row(key, *cells)
    return table


class LedgerScreen(EdgeScreen):
    BINDINGS = bindings("text.submit", "nav.tracks")
    HELP = """\
## The Ledger

Every part's committed design, side by side. Choose the strategy you stand by
(personalization or privacy first) and defend it: why was data locality your path to
real-time reliability? **ctrl+s** submits. The Ledger closes the track.
"""

    @property
    def session(self):
        return self.edge_app.session

    def compose(self) -> ComposeResult:
        game = self.session.game
        mission = game.mission
        yield Static(f" {mission.name} · The Ledger", classes="bar")
        if self.session.read_only:
            yield Static(f" READ-ONLY: {self.session.holder} holds this save; moves here are not saved.",
                         classes="banner")
        with VerticalScroll(id="ledger", classes="page"):
            yield Static(designs_table(game), id="designs")
            if game.finished:
                yield Static(self._summary(), id="summary")
            else:
                yield Static(Text(mission.ledger_prompt, style="bold"), id="ledger-prompt")
                with RadioSet(id="strategy"):  # nothing preselected: the player chooses
                    for name in STRATEGIES:
                        yield MarkedRadioButton(name, value=False, id=f"strategy-{name.lower()}")
                area = WritingArea(id="ledger-text", soft_wrap=True, tab_behavior="focus",
                                placeholder="Defend your strategy here…")
                area.cursor_blink = False
                yield area
                with Horizontal(classes="buttons"):
                    yield Button("Submit the Ledger", id="submit", variant="primary")
        yield KeyBar()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "submit" and self.session.game.finished:
            return False  # submitted: ^s leaves the key bar
        return True

    def on_mount(self) -> None:
        self.query_one("#ledger").border_title = "The Ledger"
        kept = self.session.draft("ledger")
        if isinstance(kept, str) and kept and not self.session.game.finished:
            self.query_one("#ledger-text", TextArea).load_text(kept)
        # The designs come first: the page opens at the top; Tab reaches the strategy.
        self.query_one("#ledger").focus()

    def _summary(self) -> Text:
        game = self.session.game
        text = Text()
        text.append("\nYour strategy\n", style="bold underline")
        text.append((game.record.ledger or "") + "\n\n")
        text.append("Score\n", style="bold underline")
        for part in game.mission.parts:
            text.append(f"  Part {part.number}: {game.score(part.number).points:.1f} of 100\n")
        text.append(f"  Track total: {game.total_points():.1f} of 100\n", style="bold")
        text.append(f"\nYour save: {self.session.path}\n", style="dim")
        return text

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.session.keep_draft("ledger", event.text_area.text or None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()

    def action_submit(self) -> None:
        if self.session.game.finished:
            return
        radio = self.query_one("#strategy", RadioSet)
        strategy = STRATEGIES[radio.pressed_index] if radio.pressed_index >= 0 else None
        body = self.query_one("#ledger-text", TextArea).text
        try:
            self.session.submit_ledger(strategy, body)
        except Exception as exc:
            self.notify_error(exc)
            return
        self.notify(f"Track complete: {self.session.game.total_points():.1f} of 100.", title="Ledger submitted")
        self.post_message(self.StepDone())
