"""The workbench: the part's controls, the run key, the SPEC, the instruments, Math Peek.

A run simulates in a thread worker and posts its outcome back as a message, so keys stay
answered while it works; the bar says "simulating" meanwhile. Charts are drawn from the
game's outcomes (never from widget state), so a resumed game draws the same pictures.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from edgequest.errors import ControlError
from edgequest.tui import numbers as fmt
from edgequest.tui import stepping
from edgequest.tui.actions import bindings
from edgequest.tui.instruments import Instrument, RunView, instruments_for, scalar_metrics
from edgequest.tui.screens.base import PartScreen
from edgequest.tui.widgets.chart import InstrumentChart
from edgequest.tui.widgets.peek import MathPeek
from edgequest.tui.widgets.spec import SpecPanel
from edgequest.tui.widgets.stepper import ARROWS_WIDTH, ControlStepper
from edgequest.tui.widgets.stepper import widths as stepper_widths
from edgequest.tui.widgets.keybar import KeyBar

if TYPE_CHECKING:
    from edgequest.campaign.schema import Control
    from edgequest.game.play import RunOutcome

RUN_SWITCH_INTERVAL_S = 0.0005


class RunFinished(Message):
    """The worker's run is simulated, scored and saved."""

    def __init__(self, outcome: RunOutcome):
        super().__init__()
        self.outcome = outcome


class RunFailed(Message):
    """The worker's run was refused or failed; the game and the save are unchanged."""

    def __init__(self, error: BaseException):
        super().__init__()
        self.error = error


class WorkbenchScreen(PartScreen):
    BINDINGS = bindings("bench.run", "bench.commit", "bench.peek", "bench.view", "bench.load", "nav.tracks")
    HELP = """\
## The workbench

Set the controls, press **r** to simulate the design, read the instruments and the
**SPEC**, and try again. Each run uses one of the part's runs (the counter shows how many
are used); fewer runs score better. When a design meets the SPEC, press **c** to commit
the run you stand by: that reveals the Lock's truth.

- **↑/↓** or **Tab** move between controls; **←/→** or **-/+** change one
  (**shift+←/→** or **PgUp/PgDn** by five notches; a rank or a batch halves or doubles); **Enter** types an exact value.
- **v** shows the next instrument; **m** shows the Math Peek: the formula behind it,
  with this run's numbers, and its source.
- The **Runs** view lists every run; highlight one and press **l** to load its controls.
- PASS and FAIL are written as **✓ PASS** and **✗ FAIL**.
"""

    simulating: reactive[bool] = reactive(False)
    peek_open: reactive[bool] = reactive(False)

    def __init__(self, number: int):
        super().__init__(number)
        runs = self.game.outcomes(number)
        start = dict(runs[-1].controls) if runs else self.part.defaults
        self._draft: dict[str, Any] = {**start, **self._kept_controls()}
        self._instrument_ids: list[str] = []
        self._hint_shape: tuple[int, int] | None = None  # (width, lines) the hint was last laid out for
        self._label_width, self._value_width = stepper_widths(self.part.controls, self._draft)

    def _kept_controls(self) -> dict[str, Any]:
        """Controls set but not run before the game was left (the session's draft)."""
        kept = self.session.draft(f"controls-{self.number}")
        if not isinstance(kept, dict):
            return {}
        values = {}
        for control in self.part.controls:
            if control.name in kept:
                try:
                    values[control.name] = control.coerce(kept[control.name])
                except ControlError:
                    continue
        return values

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        part = self.part
        yield from self.compose_bar()
        yield Static(id="run-status", classes="bar status")
        with Horizontal(id="bench"):
            with Vertical(id="left"):
                with VerticalScroll(id="controls"):
                    for control in part.controls:
                        yield ControlStepper(control, self._draft[control.name], id=f"control-{control.name}",
                                             label_width=self._label_width, value_width=self._value_width)
                with VerticalScroll(id="spec-box"):
                    yield SpecPanel(part, id="spec")
                yield Static(id="history", classes="dim")
            with Vertical(id="right"):
                yield Static(id="view-line", classes="bar status")
                with TabbedContent(id="views"):
                    for instrument in instruments_for(part, self._latest_metrics()):
                        yield self._pane(instrument)
                    with TabPane("Runs", id="view-runs"):
                        yield DataTable(id="runs", cursor_type="row", zebra_stripes=False)
                    with TabPane("Numbers", id="view-numbers"):
                        with VerticalScroll():
                            yield Static(id="numbers")
                yield MathPeek(part, id="peek")
        yield Static(id="hint")
        yield KeyBar()

    def _pane(self, instrument: Instrument) -> TabPane:
        self._instrument_ids.append(instrument.id)
        return TabPane(
            instrument.tab,
            InstrumentChart(instrument, self.part, id=f"chart-{instrument.id}"),
            Static(id=f"caption-{instrument.id}", classes="caption"),
            id=f"view-{instrument.id}",
        )

    def on_mount(self) -> None:
        # The controls' column is as wide as its longest label and value (plus the border
        # and a one-cell scrollbar); the instruments take the rest of the row.
        left = self.query_one("#left")
        left.styles.min_width = self._label_width + self._value_width + ARROWS_WIDTH + 3
        self.query_one("#controls").border_title = "Design"
        self.query_one("#spec-box").border_title = "SPEC"
        table = self.query_one("#runs", DataTable)
        table.add_columns("Run", "SPEC", "Points", "Controls")
        for outcome in self.game.outcomes(self.number):
            self._add_run_row(outcome)
        first = self.query(ControlStepper).first()
        first.focus()
        self._refresh_results()
        self._show_hint(first)

    # ------------------------------------------------------------------ state shown

    def _latest_metrics(self):
        runs = self.game.outcomes(self.number)
        return runs[-1].metrics if runs else None

    def _views(self) -> list[RunView]:
        return [RunView(o.index + 1, o.controls, o.metrics) for o in self.game.outcomes(self.number)]

    def _refresh_results(self) -> None:
        outcomes = self.game.outcomes(self.number)
        latest = outcomes[-1] if outcomes else None
        self.query_one("#spec", SpecPanel).show_checks(latest.checks if latest else None)
        views = self._views()
        for instrument_id in self._instrument_ids:
            chart = self.query_one(f"#chart-{instrument_id}", InstrumentChart)
            chart.show(views)
            caption = self.query_one(f"#caption-{instrument_id}", Static)
            caption.update(chart.instrument.caption(self.part, views) if views and chart.instrument.applies(
                views[-1].metrics) else "")
        numbers = Text()
        if latest is None:
            numbers.append("No run yet.", style="italic")
        else:
            for key, value in scalar_metrics(latest.metrics):
                numbers.append(f"{key:<28} ", style="bold")
                numbers.append(fmt.number(value) + "\n")
        self.query_one("#numbers", Static).update(numbers)
        history = Text("Runs\n", style="bold")
        for o in outcomes[::-1]:
            mark = "✓ PASS" if o.passed else "✗ FAIL"
            history.append(f"{o.index + 1:>2} {mark} {o.points:>3.0f} pts  ")
            history.append(" ".join(f"{stepping.shown(self.part.control(k), v)}" for k, v in o.controls.items()) + "\n")
        self.query_one("#history", Static).update(history if outcomes else "")
        if self.peek_open:
            self._update_peek()
        self._update_status()

    def _update_peek(self) -> None:
        outcomes = self.game.outcomes(self.number)
        latest = outcomes[-1] if outcomes else None
        self.query_one("#peek", MathPeek).show(
            latest.index if latest else None, latest.controls if latest else None, latest.metrics if latest else None
        )

    def _update_status(self) -> None:
        used = self.game.runs_used(self.number)
        budget = self.part.budget
        status = self.query_one("#run-status", Static)
        if self.simulating:
            status.update(Text(f" Run {used + 1}/{budget} · ◌ SIMULATING… (keys still work)", style="bold reverse"))
            return
        outcomes = self.game.outcomes(self.number)
        text = Text(f" Run {used}/{budget} used")
        if outcomes:
            last = outcomes[-1]
            passed = sum(c.passed for c in last.checks)
            mark = "✓ SPEC met" if last.passed else f"✗ SPEC {passed}/{len(last.checks)}"
            text.append(f" · last: run {last.index + 1} {mark} · {last.points:.0f} pts")
        else:
            text.append(" · ready: press r to run")
        if self._draft_differs():
            text.append(" · controls changed", style="italic")
        status.update(text)

    def _draft_differs(self) -> bool:
        outcomes = self.game.outcomes(self.number)
        return bool(outcomes) and dict(outcomes[-1].controls) != self._draft

    def _add_run_row(self, outcome: RunOutcome) -> None:
        part = self.part
        passed = sum(c.passed for c in outcome.checks)
        verdict = "✓ PASS" if outcome.passed else f"✗ {passed}/{len(outcome.checks)}"
        controls = " ".join(f"{k}={stepping.shown(part.control(k), v)}" for k, v in outcome.controls.items())
        self.query_one("#runs", DataTable).add_row(
            str(outcome.index + 1), verdict, f"{outcome.points:.0f}", controls, key=str(outcome.index)
        )

    @staticmethod
    def _hint_text(control: Control) -> Text:
        hint = Text()
        hint.append(f"{control.label}: ", style="bold")
        hint.append(f"{control.help} ({control.accepted()})")
        return hint

    def _show_hint(self, stepper: ControlStepper) -> None:
        """The focused control's help in the full-width row under the columns.

        The row is as tall as the part's longest help at this width (at most 4 lines), so
        moving the focus repaints one row: the chart keeps its size, and a key pressed while
        a run simulates is not held up by a new layout of the whole workbench.
        """
        widget = self.query_one("#hint", Static)
        width = max(self.app.size.width - 2, 1)  # the row spans the screen, less its padding
        if self._hint_shape is None or self._hint_shape[0] != width:
            lines = max(len(self._hint_text(c).wrap(self.app.console, width)) for c in self.part.controls)
            self._hint_shape = (width, min(lines, 4))
            widget.styles.height = self._hint_shape[1]
        widget.update(self._hint_text(stepper.control), layout=False)

    # ------------------------------------------------------------------ events

    def on_descendant_focus(self, event) -> None:
        if isinstance(event.widget, ControlStepper):
            self._show_hint(event.widget)

    def on_resize(self, event) -> None:  # the size cover (base class) runs too: handlers follow the MRO
        focused = self.focused if isinstance(self.focused, ControlStepper) else None
        self._show_hint(focused or self.query(ControlStepper).first())

    @on(ControlStepper.Changed)
    def _control_changed(self, event: ControlStepper.Changed) -> None:
        self._draft[event.stepper.control.name] = event.stepper.value
        self.session.keep_draft(f"controls-{self.number}", dict(self._draft))
        self._update_status()

    @on(ControlStepper.EditRequested)
    def _edit_control(self, event: ControlStepper.EditRequested) -> None:
        from edgequest.tui.screens.dialogs import EditValueScreen

        stepper = event.stepper

        def done(raw: str | None) -> None:
            if raw is None:
                return
            control = stepper.control
            try:
                stepper.value = control.coerce(raw if control.kind != "choice" else raw.strip())
            except ControlError:  # said with the label the player sees, not the file's name
                self.notify_error(ControlError(f"{control.label}: {raw.strip()!r} is not accepted; "
                                               f"expected {control.accepted()}"))
            except Exception as exc:
                self.notify_error(exc)

        self.app.push_screen(EditValueScreen(stepper.control, stepper.value), done)

    def watch_simulating(self) -> None:
        self.set_class(self.simulating, "-simulating")
        if self.is_mounted:
            self._update_status()
            self.refresh_bindings()

    def watch_peek_open(self, open_: bool) -> None:
        self.set_class(open_, "-peek")
        if not self.is_mounted:
            return
        peek = self.query_one("#peek", MathPeek)
        if open_:
            self._update_peek()
            self._focus_before_peek = self.focused
            peek.focus()  # the keyboard scrolls it; Tab goes back to the controls
        elif self.focused is peek or self.focused is None:
            before = getattr(self, "_focus_before_peek", None)
            (before if before is not None and before.is_attached else self.query(ControlStepper).first()).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("run", "commit", "load_run") and self.simulating:
            return None  # shown dimmed: not now, but soon
        # r with no runs left and c with no run yet stay live: pressing them says why not.
        if action == "load_run":  # only where a run is highlighted: the Runs view
            if not self.is_mounted or self.query_one("#views", TabbedContent).active != "view-runs":
                return False
            return True if self.game.outcomes(self.number) else None
        return True

    # ------------------------------------------------------------------ actions

    def action_run(self) -> None:
        if self.simulating:
            return
        if self.game.runs_left(self.number) <= 0:
            self.notify(f"All {self.part.budget} runs are used: commit one (c).", severity="warning")
            return
        if self.session.read_only:
            self.notify_error(self._read_only_error())
            return
        self.simulating = True
        self._simulate(dict(self._draft))

    def _read_only_error(self) -> Exception:
        from edgequest.errors import SaveError

        return SaveError(f"read-only: {self.session.holder} holds this save; close that session to play here")

    @work(thread=True, exclusive=True, group="run", exit_on_error=False)
    def _simulate(self, controls: dict[str, Any]) -> None:
        """Simulate off the screen's thread; the result comes back as a message.

        While the run holds the GIL (pure-Python steps of a model), the screen's thread
        waits up to the interpreter's switch interval (5 ms) every time it needs the GIL
        back, and answering one key needs it many times: 5 ms becomes ~100 ms of lag. A
        short switch interval during the run keeps keys answered in a few milliseconds,
        at a small cost to the run; it is restored as soon as the run ends.
        """
        interval = sys.getswitchinterval()
        sys.setswitchinterval(RUN_SWITCH_INTERVAL_S)
        try:
            outcome = self.session.run(self.number, controls)
        except Exception as exc:  # shown as a notice; the game and the save are unchanged
            self.post_message(RunFailed(exc))
            return
        finally:
            sys.setswitchinterval(interval)
        self.post_message(RunFinished(outcome))

    @on(RunFinished)
    async def _run_finished(self, message: RunFinished) -> None:
        outcome = message.outcome
        self.simulating = False
        self._add_run_row(outcome)
        await self._ensure_instruments(outcome.metrics)
        self._refresh_results()
        self._show_view_line()
        left = self.game.runs_left(self.number)
        if left == 0:
            self.notify("That was your last run: commit the design you stand by (c).", severity="warning")

    @on(RunFailed)
    def _run_failed(self, message: RunFailed) -> None:
        self.simulating = False
        self.notify_error(message.error)

    async def _ensure_instruments(self, metrics) -> None:
        """A run may measure more than expected (a crisis view): add its tab once."""
        tabs = self.query_one("#views", TabbedContent)
        for instrument in instruments_for(self.part, metrics):
            if instrument.id not in self._instrument_ids:
                await tabs.add_pane(self._pane(instrument), before="view-runs")

    def action_commit(self) -> None:
        from edgequest.tui.screens.dialogs import CommitScreen

        if self.simulating:
            return
        if not self.game.outcomes(self.number):
            self.notify("Nothing to commit yet: run a design first (r).", severity="warning")
            return

        def done(index: int | None) -> None:
            if index is None:
                return
            try:
                self.session.commit(self.number, index)
            except Exception as exc:
                self.notify_error(exc)
                return
            self.post_message(self.StepDone())

        self.app.push_screen(CommitScreen(self.part, self.game.outcomes(self.number)), done)

    def action_peek(self) -> None:
        self.peek_open = not self.peek_open

    def _panes(self) -> list[str]:
        return [f"view-{i}" for i in self._instrument_ids] + ["view-runs", "view-numbers"]

    def action_next_view(self) -> None:
        tabs = self.query_one("#views", TabbedContent)
        panes = self._panes()
        if tabs.active in panes:
            tabs.active = panes[(panes.index(tabs.active) + 1) % len(panes)]

    @on(TabbedContent.TabActivated)
    def _view_changed(self) -> None:
        self.refresh_bindings()  # l (load a run) acts only in the Runs view
        self._show_view_line()

    def _show_view_line(self) -> None:
        """Below 120 columns the tab names do not all fit: one line names the view and the next."""
        tabs = self.query_one("#views", TabbedContent)
        panes = self._panes()
        if tabs.active not in panes:
            return
        i = panes.index(tabs.active)

        def name(pane_id: str) -> str:
            return str(tabs.get_tab(pane_id).label.plain)

        self.query_one("#view-line", Static).update(
            f" {i + 1}/{len(panes)} {name(panes[i])} · v: {name(panes[(i + 1) % len(panes)])}")

    def action_load_run(self) -> None:
        table = self.query_one("#runs", DataTable)
        outcomes = self.game.outcomes(self.number)
        if not outcomes or self.query_one("#views", TabbedContent).active != "view-runs":
            return
        index = table.cursor_row if 0 <= table.cursor_row < len(outcomes) else len(outcomes) - 1
        controls = outcomes[index].controls
        if dict(controls) == self._draft:
            self.notify(f"The workbench already holds run {index + 1}'s controls.")
            return
        changed = [f"{self.part.control(k).label} {stepping.shown(self.part.control(k), v)}"
                   for k, v in controls.items() if self._draft.get(k) != v]
        for name, value in controls.items():
            self.query_one(f"#control-{name}", ControlStepper).value = value
        self.notify(f"Run {index + 1}'s controls are back on the workbench ({'; '.join(changed)}). "
                    "Press r to run them.", title="Loaded")
