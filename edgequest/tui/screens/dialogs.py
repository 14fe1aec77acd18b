"""Small dialogs over a screen: commit a run, type a value, confirm, a save that can't resume, help."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from edgequest.campaign.schema import Control, Part, Scalar
from edgequest.tui import stepping
from edgequest.tui.actions import ACTIONS, bindings
from edgequest.tui.screens.base import EdgeModal
from edgequest.tui.widgets.keybar import KeyBar
from edgequest.tui.widgets.stepper import value_text

if TYPE_CHECKING:
    from edgequest.game.play import RunOutcome

_CLOSE = ACTIONS["dialog.cancel"].binding()


def best_run(outcomes: Sequence[Any]) -> Any:
    """The run to offer first: the best-scoring run that meets the SPEC, else the best one."""
    passing = [o for o in outcomes if o.passed]
    return max(passing or outcomes, key=lambda o: (o.points, -o.index))


class CommitScreen(EdgeModal):
    """Choose the run to stand by: the best passing run is highlighted; a failing run is
    committed only when asked again (y)."""

    BINDINGS = [_CLOSE, ACTIONS["dialog.confirm"].binding()]

    def __init__(self, part: Part, outcomes: Sequence[RunOutcome]):
        super().__init__()
        self.part = part
        self.outcomes = list(outcomes)
        self.asking: int | None = None  # the failing run we asked about

    def compose(self) -> ComposeResult:
        best = best_run(self.outcomes)
        options = []
        for o in self.outcomes:
            passed = sum(c.passed for c in o.checks)
            verdict = "✓ PASS" if o.passed else f"✗ FAIL {passed}/{len(o.checks)}"
            star = "  ★ best" if o is best else ""
            options.append(Option(Text(f"Run {o.index + 1:>2}  {verdict:<12} {o.points:>3.0f} pts{star}"),
                                  id=str(o.index)))
        with Vertical(id="dialog"):
            yield Static(Text("Commit the design you stand by", style="bold"))
            yield Static("Committing reveals the Lock's truth and closes the workbench of this part.", classes="dim")
            yield OptionList(*options, id="commit-runs")
            yield Static(id="commit-detail")
            yield Static(id="commit-hint", classes="dim")

    def on_mount(self) -> None:
        runs = self.query_one("#commit-runs", OptionList)
        runs.highlighted = self.outcomes.index(best_run(self.outcomes))
        runs.focus()
        self._show_hint()

    def _outcome(self, index: int) -> Any:
        return next(o for o in self.outcomes if o.index == index)

    def _show_hint(self) -> None:
        hint = self.query_one("#commit-hint", Static)
        if self.asking is None:
            hint.update("Enter commits the highlighted run · Esc cancels")
            return
        hint.update(Text(f"Run {self.asking + 1} fails the SPEC. Commit it anyway? y commits · "
                         "Esc or ↑/↓ chooses again", style="bold"))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        outcome = self._outcome(int(event.option.id or 0))
        self.query_one("#commit-detail", Static).update(
            " · ".join(f"{self.part.control(k).label} {value_text(self.part.control(k), v)}"
                       for k, v in outcome.controls.items()))
        if self.asking is not None and self.asking != outcome.index:
            self.asking = None
            self._show_hint()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        outcome = self._outcome(int(event.option.id or 0))
        if outcome.passed or self.asking == outcome.index:
            self.dismiss(outcome.index)
            return
        self.asking = outcome.index
        self._show_hint()

    def action_confirm(self) -> None:
        if self.asking is not None:
            self.dismiss(self.asking)

    def action_close(self) -> None:
        if self.asking is not None:
            self.asking = None
            self._show_hint()
            return
        self.dismiss(None)


class EditValueScreen(EdgeModal):
    """Type an exact value for a control; the mission's accepted range is shown."""

    BINDINGS = [_CLOSE]

    def __init__(self, control: Control, value: Scalar):
        super().__init__()
        self.control = control
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.control.label, style="bold"))
            yield Static(f"{self.control.help}\nAccepted: {self.control.accepted()}", classes="dim")
            field = Input(value=stepping.shown(self.control, self.value).replace(",", ""), id="value")
            field.cursor_blink = False
            yield field
            yield Static("Enter sets the value · Esc cancels", classes="dim")

    def on_mount(self) -> None:
        self.query_one("#value", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmScreen(EdgeModal):
    """A yes-or-no question; the safe answer (no) has the focus, and Esc means no."""

    BINDINGS = [_CLOSE]

    def __init__(self, title: str, question: str, yes: str, no: str):
        super().__init__()
        self.title_text, self.question, self.yes, self.no = title, question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"))
            yield Static(self.question)
            with Horizontal(classes="buttons"):
                yield Button(self.yes, id="yes", variant="warning")
                yield Button(self.no, id="no", variant="primary")
            yield Static(f"Tab moves between the buttons, Enter presses one · Esc: {self.no}", classes="dim")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_close(self) -> None:
        self.dismiss(False)


class ResumeProblemScreen(EdgeModal):
    """A save that cannot be resumed: say why, offer a fresh start that keeps the old file."""

    BINDINGS = [_CLOSE]

    def __init__(self, reason: str, can_start_fresh: bool, path: str):
        super().__init__()
        self.reason = reason
        self.can_start_fresh = can_start_fresh
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text("This save cannot be resumed", style="bold"))
            yield Static(f"{self.reason[:600]}\n\nSave: {self.path}")
            if self.can_start_fresh:
                yield Static("Start a fresh game on this track? The old save is kept beside it, untouched.",
                             classes="dim")
            with Horizontal(classes="buttons"):
                if self.can_start_fresh:
                    yield Button("Start fresh", id="fresh", variant="warning")
                yield Button("Back to tracks", id="back")

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "fresh")

    def action_close(self) -> None:
        self.dismiss(False)


class HelpScreen(EdgeModal):
    """Help in Markdown: how to play the screen below, then its keys (from the actions table)."""

    BINDINGS = bindings("dialog.cancel", "help.close")

    def __init__(self, under: Screen, keymap: Mapping[str, str] | None = None):
        super().__init__()
        self.under = under
        self.keymap = dict(keymap or {})

    def compose(self) -> ComposeResult:
        from textual.widgets import Markdown  # markdown-it is not needed until help opens

        with Vertical(id="help"):
            with VerticalScroll(id="help-scroll"):
                yield Markdown(help_markdown(self.under, self.keymap))
            yield Static("Esc closes help", classes="dim")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "EdgeQuest help"
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)


GENERAL_HELP = """\
## Playing EdgeQuest

Each part goes: **briefing → the Lock** (predict first) **→ the workbench** (at most the
part's budget of runs) **→ commit → the reveal → Reflect**. After part 3, the **Ledger**.
Every move (a prediction, a run, a commit, a reflection, the Ledger) is saved as you make
it. Controls you changed but have not run, and a reflection or Ledger you are still
typing, are kept as drafts beside the save. Quit any time with **ctrl+q** (or lose the
connection) and start again: you resume where you were, drafts included. **ctrl+p** opens the command palette (actions and themes).
"""


# Textual's own keys, said in the game's words (its descriptions are terse and have no tooltip).
_WORDS = {
    "app.focus_next": ("Next field", "Move to the next control, field or button."),
    "app.focus_previous": ("Previous field", "Move to the previous control, field or button."),
}


def help_markdown(screen: Screen, keymap: Mapping[str, str] | None = None) -> str:
    """The help page of a screen: its text, then every key it answers (the player's own keys
    where ``keymap`` remaps them)."""
    keymap = keymap or {}
    lines = [getattr(screen, "HELP", "") or "", GENERAL_HELP, "## Keys on this screen", "",
             "| Key | Action | What it does |", "|---|---|---|"]
    seen = set()
    for node in [screen, *screen.query("*")]:
        for binding in getattr(node, "BINDINGS", []):
            if not isinstance(binding, Binding) or not binding.description:
                continue
            ident = binding.id or (binding.action if binding.action in _WORDS else None)
            if ident is None or ident in seen:  # widgets' own scrolling keys are not listed
                continue
            seen.add(ident)
            key = keymap[ident].replace(",", " / ") if ident in keymap else (
                binding.key_display or binding.key.replace(",", " / "))
            description, tooltip = _WORDS.get(binding.action, (binding.description, binding.tooltip))
            lines.append(f"| `{key}` | {description} | {tooltip or description} |")
    for action_id in ("app.help", "app.report", "app.quit"):
        action = ACTIONS[action_id]
        key = keymap[action_id].replace(",", " / ") if action_id in keymap else action.key_display or action.keys
        lines.append(f"| `{key}` | {action.description} | {action.tooltip} |")
    if "app.focus_next" not in seen:
        lines.append("| `tab / shift+tab` | Next / previous field | Move to the next (or previous) control, "
                     "field or button. |")
    lines.append("| `ctrl+p` | Commands | The command palette: the game's actions and the themes. |")
    return "\n".join(lines) + "\n"
