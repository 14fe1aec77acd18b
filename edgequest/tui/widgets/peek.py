"""Math Peek: the formula behind the instrument, the same formula with this run's numbers."""

from __future__ import annotations

from typing import Any, Mapping

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from edgequest.campaign.schema import Part
from edgequest.errors import EdgeQuestError


def peek_text(part: Part, controls: Mapping[str, Any] | None, metrics: Mapping[str, Any] | None) -> Text:
    if metrics is None or controls is None:
        return Text("Math Peek shows the formula behind the instrument with your numbers in it.\n"
                    "Run a design (r) to fill in the numbers.", style="italic")
    try:
        from edgequest.simulators.registry import model_for

        peeks = model_for(part).math_peek(part, controls, metrics)
    except EdgeQuestError as exc:
        return Text(f"No Math Peek: {exc}")
    except Exception as exc:  # a model's formatting bug must not take the workbench down
        return Text(f"No Math Peek: the model could not format its numbers ({type(exc).__name__}).")
    if not peeks:
        return Text("This part's model has no Math Peek yet.", style="italic")
    text = Text()
    for i, peek in enumerate(peeks):
        if i:
            text.append("\n")
        text.append(peek.title + "\n", style="bold")
        text.append("  " + peek.formula + "\n")
        text.append("  = " + peek.substituted + "\n", style="bold")
        text.append("  Source: " + peek.source + "\n", style="dim italic")
    return text


class MathPeek(VerticalScroll, can_focus=True):
    """Focusable, so ↑/↓, PgUp/PgDn and Home/End scroll the formulas below the fold."""

    DEFAULT_CSS = """
    MathPeek { height: 1fr; }
    MathPeek > Static { width: 1fr; }
    """

    def __init__(self, part: Part, *, id: str | None = None):
        super().__init__(id=id)
        self.part = part
        self.border_title = "Math Peek · ↑/↓ · m closes"  # whole in the 80-column panel
        self._body = Static(peek_text(part, None, None))
        self._shown: tuple | None = None

    def compose(self):
        yield self._body

    def show(self, run_number: int | None, controls: Mapping[str, Any] | None,
             metrics: Mapping[str, Any] | None) -> None:
        if self._shown == (run_number,):
            return
        self._shown = (run_number,)
        self._body.update(peek_text(self.part, controls, metrics))
