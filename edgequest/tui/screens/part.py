"""The steps of a part around the workbench: briefing, the Lock, the reveal and Reflect."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from edgequest.campaign.schema import stakeholder_prompt as prompt_line
from edgequest.errors import ShortReflection
from edgequest.game.scoring import REFLECTION_MIN_CHARS, spec_rule
from edgequest.tui import numbers as fmt
from edgequest.tui.actions import bindings
from edgequest.tui.screens.base import PartScreen
from edgequest.tui.widgets.spec import threshold_text
from edgequest.tui.widgets.keybar import KeyBar
from edgequest.tui.widgets.writing import WritingArea


def _briefing_text(session, number: int) -> Text:
    mission = session.mission
    part = mission.part(number)
    text = Text()
    text.append("The crisis\n", style="bold underline")
    text.append(mission.crisis + "\n\n")
    text.append("Briefing\n", style="bold underline")
    text.append(part.briefing + "\n\n")
    text.append("Objective\n", style="bold underline")
    text.append(part.objective + "\n\n")
    text.append("SPEC", style="bold underline")
    text.append(f" ({spec_rule(part)})\n")
    for check in part.spec:
        role = " (guardrail)" if check.role == "guardrail" else ""
        text.append(f"  • {check.label}{role}: {threshold_text(check)}\n")
    text.append("\n")
    text.append(f"Runs: at most {part.budget}; fewer runs score better.\n")
    text.append(f"Stakeholder: {part.stakeholder}\n")
    return text


def _lock_question(game, number: int) -> str:
    """The question with the track's numbers filled in (when the game core can do that)."""
    ask = getattr(game, "lock_question", None)
    return ask(number) if ask is not None else game.part(number).lock.question


class BriefingScreen(PartScreen):
    BINDINGS = bindings("briefing.lock", "nav.tracks")
    HELP = """\
## The briefing

The crisis, this part's objective and its **SPEC**: the targets and guardrails your
committed design must meet. Read it, then press **Enter** for the Lock.
"""

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        with VerticalScroll(id="briefing", classes="page"):
            yield Static(_briefing_text(self.session, self.number))
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#briefing").border_title = "Mission briefing"
        self.query_one("#briefing").focus()

    def action_to_lock(self) -> None:
        self.app.switch_screen(LockScreen(self.number))


class LockNumber(Input):
    """The Lock's number field. Enter is its own binding, so typed digits land first."""

    BINDINGS = bindings("lock.submit")


class LockChoices(OptionList):
    BINDINGS = bindings("lock.choose")


class LockScreen(PartScreen):
    BINDINGS = bindings("nav.tracks")
    HELP = """\
## The Lock

Predict before you experiment. The workbench stays locked until you answer, and the
answer cannot be changed. After you commit a design, the reveal shows your prediction
beside the truth the engine computes, and the Lock's points depend on how close you were.

Type a number and press **Enter**, or pick a choice with the arrows and **Enter**.
"""

    def compose(self) -> ComposeResult:
        lock = self.part.lock
        yield from self.compose_bar()
        with Vertical(id="lock", classes="page"):
            yield Static(Text(_lock_question(self.game, self.number), style="bold"), id="question")
            yield Static("The workbench stays locked until you predict. Your prediction cannot be changed.",
                         classes="dim")
            if lock.kind == "choice":
                yield LockChoices(*[Option(c, id=c) for c in lock.choices], id="answer-choices")
            else:
                unit = f" {lock.unit}" if lock.unit else ""
                answer = LockNumber(placeholder=f"a number from {fmt.number(lock.min)} to {fmt.number(lock.max)}{unit}",
                               id="answer-number")
                answer.cursor_blink = False
                yield answer
                yield Static(f"Unit: {lock.unit}" if lock.unit else "", classes="dim")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#lock").border_title = f"The Lock · Part {self.number}"
        target = self.query("#answer-choices, #answer-number").first()
        target.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._lock_in(event.value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._lock_in(event.option.id)

    def _lock_in(self, raw: object) -> None:
        try:
            value = self.session.lock(self.number, raw)
        except Exception as exc:
            self.notify_error(exc)
            return
        self.notify(f"Locked in: {fmt.number(value, self.part.lock.unit)}. The workbench is open.",
                    title="Prediction locked")
        self.post_message(self.StepDone())


class RevealScreen(PartScreen):
    BINDINGS = bindings("reveal.reflect", "nav.tracks")
    HELP = """\
## The reveal

Your prediction beside the truth, and why. The committed design's SPEC checks and the
part's score so far are shown; the reflection earns the rest.
"""

    def compose(self) -> ComposeResult:
        yield from self.compose_bar()
        with VerticalScroll(id="reveal", classes="page"):
            yield Static(self._reveal_text())
        yield KeyBar()

    def _reveal_text(self) -> Group:
        game = self.game
        reveal = game.reveal(self.number)
        committed = game.committed(self.number)
        score = game.score(self.number)
        part = self.part
        text = Text()
        text.append(reveal.question + "\n\n", style="bold")
        text.append("  Your prediction  ")
        text.append(fmt.number(reveal.answer, reveal.unit) + "\n", style="bold")
        text.append("  The truth        ")
        text.append(fmt.number(reveal.truth, reveal.unit) + "\n", style="bold")
        verdict = "✓ spot on" if reveal.closeness >= 1 else ("~ close" if reveal.closeness > 0 else "✗ far off")
        text.append(f"  Closeness        {verdict} ({reveal.closeness:.0%} of the Lock's points)\n\n")
        if reveal.explain:
            text.append("Why\n", style="bold underline")
            text.append(reveal.explain + "\n\n")
        from edgequest.simulators.registry import model_for

        notes = model_for(part).reveal_notes
        for line in notes(part) if notes else []:
            text.append(line + "\n")
        if committed is not None:
            text.append(f"Committed design: run {committed.index + 1}\n", style="bold underline")
            text.append("  " + ", ".join(f"{part.control(k).label} {v}" for k, v in committed.controls.items()) + "\n")
            for result in committed.checks:
                text.append(f"  {fmt.verdict(result.passed)} ", style="bold green" if result.passed else "bold red")
                text.append(f"{result.check.label}: {fmt.number(result.value, result.check.unit)} "
                            f"{threshold_text(result.check)}\n")
            ratio = committed.metrics.get("mb_per_epoch")
            if isinstance(ratio, (int, float)):
                text.append(f"  Communication-to-compute ratio: {ratio:.3g} MB synced per local epoch "
                            f"({committed.metrics.get('update_format', 'fp32')})\n")
            text.append("\n")
        text.append("Score so far, and how each part of it was computed", style="bold underline")
        # A grid, so a long explanation wraps under itself rather than under the name.
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, justify="right")
        table.add_column(ratio=1)
        for c in score.components:
            table.add_row(f" {c.label}", f"{c.points:.1f} of {c.out_of:g}", c.how)
        table.add_row(Text(" Total", style="bold"), Text(f"{score.points:.1f} of 100", style="bold"),
                      Text("so far", style="bold"))
        return Group(text, table)

    def on_mount(self) -> None:
        self.query_one("#reveal").border_title = f"The reveal · Part {self.number}"
        self.query_one("#reveal").focus()

    def action_to_reflect(self) -> None:
        self.app.switch_screen(ReflectScreen(self.number))


class ReflectScreen(PartScreen):
    BINDINGS = bindings("text.submit", "nav.tracks")
    HELP = f"""\
## Reflect

Answer the part's stakeholder in a few sentences of your own. A reflection of at least
{REFLECTION_MIN_CHARS} characters earns the reflection's points; its quality is read by
your instructor. **ctrl+s** submits (or **Tab** to the button and **Enter**).
"""

    def compose(self) -> ComposeResult:
        part = self.part
        yield from self.compose_bar()
        with Vertical(id="reflect", classes="page"):
            yield Static(Text(prompt_line(part.stakeholder, part.reflect_prompt), style="bold"), id="prompt")
            area = WritingArea(id="reflection", soft_wrap=True, tab_behavior="focus",
                            placeholder=f"Write to {part.stakeholder} here…")
            area.cursor_blink = False
            yield area
            with Horizontal(classes="buttons"):
                yield Static("", id="count", classes="dim")
                yield Button("Submit reflection", id="submit", variant="primary")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#reflect").border_title = f"Reflect · Part {self.number}"
        area = self.query_one("#reflection", TextArea)
        kept = self.session.draft(f"reflection-{self.number}")
        if isinstance(kept, str) and kept:
            area.load_text(kept)  # typed before the game was left: kept as a draft
            area.move_cursor(area.document.end)
        area.focus()
        self._count()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.session.keep_draft(f"reflection-{self.number}", event.text_area.text or None)
        self._count()

    def _count(self) -> None:
        n = len(self.query_one("#reflection", TextArea).text.strip())
        mark = "✓" if n >= REFLECTION_MIN_CHARS else "·"
        self.query_one("#count", Static).update(f"{mark} {n} characters (at least {REFLECTION_MIN_CHARS} earn the points)")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()

    def action_submit(self) -> None:
        self._submit(confirm_short=False)

    def _submit(self, confirm_short: bool) -> None:
        from edgequest.tui.screens.dialogs import ConfirmScreen

        text = self.query_one("#reflection", TextArea).text
        try:
            self.session.reflect(self.number, text, confirm_short=confirm_short)
        except ShortReflection as short:
            question = (f"Your reflection has {short.chars} characters; at least {short.minimum} earn the "
                        "reflection's points. Submitting ends the part. Your draft stays here if you keep writing.")
            self.app.push_screen(ConfirmScreen("A short reflection", question, "Submit anyway", "Keep writing"),
                                 lambda yes: self._submit(confirm_short=True) if yes else None)
            return
        except Exception as exc:
            self.notify_error(exc)
            return
        points = self.game.score(self.number).points
        self.notify(f"Part {self.number} scored {points:.1f} of 100.", title="Part complete")
        self.post_message(self.StepDone())
