"""A workbench control: one line, arrows or +/- to move it, Enter to type a value."""

from __future__ import annotations

from typing import Mapping, Sequence

from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from edgequest.campaign.schema import Control, Scalar
from edgequest.tui import stepping
from edgequest.tui.actions import bindings

VALUE_WIDTH = 10
ARROWS_WIDTH = 6  # " ◀ " before the value, " ▶" after it, and the leading space


def value_text(control: Control, value: Scalar) -> str:
    """The value with its unit, as the stepper shows it (never cut)."""
    unit = f" {control.unit}" if control.unit and control.kind != "choice" else ""
    return stepping.shown(control, value) + unit


def widths(controls: Sequence[Control], values: Mapping[str, Scalar]) -> tuple[int, int]:
    """The label and value widths that show every label and every reachable value whole."""
    label = max((len(c.label) for c in controls), default=4)
    value = VALUE_WIDTH
    for control in controls:
        if control.kind == "choice":
            samples: list[Scalar] = list(control.choices)
        else:
            samples = [v for v in (control.min, control.max, values.get(control.name)) if v is not None]
            samples += [stepping.step(control, v, d) for v in list(samples) for d in (-1, 1)]
        value = max([value] + [len(value_text(control, v)) for v in samples])
    return label, value


class ControlStepper(Widget, can_focus=True):
    """A choice, integer or number control of the part, within the mission's range."""

    DEFAULT_CSS = """
    ControlStepper { height: 1; width: 1fr; }
    ControlStepper:focus { background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold; }
    """

    BINDINGS = bindings("control.less", "control.more", "control.much_less", "control.much_more", "control.next",
                        "control.previous", "control.edit")

    value: reactive[Scalar] = reactive("", layout=False)

    class Changed(Message):
        def __init__(self, stepper: "ControlStepper"):
            super().__init__()
            self.stepper = stepper

    class EditRequested(Message):
        def __init__(self, stepper: "ControlStepper"):
            super().__init__()
            self.stepper = stepper

    def __init__(self, control: Control, value: Scalar, *, id: str | None = None,
                 label_width: int = 16, value_width: int = VALUE_WIDTH):
        super().__init__(id=id)
        self.control = control
        self.label_width = label_width
        self.value_width = value_width
        self.set_reactive(ControlStepper.value, value)
        self.tooltip = control.help

    def watch_value(self) -> None:
        self.post_message(self.Changed(self))

    def action_step(self, direction: int, big: bool = False) -> None:
        self.value = stepping.step(self.control, self.value, direction, big)

    def action_move(self, direction: int) -> None:
        """Focus the next or previous control of the same column, wrapping at the ends, so
        ↑/↓ never send the focus somewhere the player cannot see."""
        parent = self.parent
        steppers = [w for w in (parent.children if parent is not None else []) if isinstance(w, ControlStepper)]
        if len(steppers) > 1:
            steppers[(steppers.index(self) + direction) % len(steppers)].focus()

    def action_edit(self) -> None:
        self.post_message(self.EditRequested(self))

    def render(self) -> Text:
        shown = value_text(self.control, self.value)
        value_width = max(self.value_width, len(shown))
        label_width = max(self.label_width, (self.size.width or 0) - value_width - 7)
        at_min = self.control.kind == "choice" and self.value == self.control.choices[0] or (
            self.control.kind != "choice" and float(self.value) <= float(self.control.min or 0))
        at_max = self.control.kind == "choice" and self.value == self.control.choices[-1] or (
            self.control.kind != "choice" and float(self.value) >= float(self.control.max or 0))
        text = Text(f" {self.control.label.ljust(label_width)}")
        text.append(" ◀ " if not at_min else "   ")
        text.append(shown.center(value_width), style="bold")
        text.append(" ▶" if not at_max else "  ")
        return text

    def on_click(self, event: events.Click) -> None:
        """The mouse is optional: a click left of the value lowers it, right of it raises it."""
        start = 1 + max(self.label_width, self.size.width - self.value_width - 7)
        if start <= event.x < start + 3:
            self.action_step(-1)
        elif event.x >= start + 3 + self.value_width:
            self.action_step(1)
