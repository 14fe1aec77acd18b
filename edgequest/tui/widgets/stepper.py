"""A workbench control: one line, arrows or +/- to move it, Enter to type a value."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from edgequest.campaign.schema import Control, Scalar
from edgequest.tui import stepping
from edgequest.tui.actions import bindings

VALUE_WIDTH = 10


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

    def __init__(self, control: Control, value: Scalar, *, id: str | None = None):
        super().__init__(id=id)
        self.control = control
        self.set_reactive(ControlStepper.value, value)
        self.tooltip = control.help

    def watch_value(self) -> None:
        self.post_message(self.Changed(self))

    def action_step(self, direction: int, big: bool = False) -> None:
        self.value = stepping.step(self.control, self.value, direction, big)

    def action_edit(self) -> None:
        self.post_message(self.EditRequested(self))

    def render(self) -> Text:
        width = self.size.width or 30
        shown = stepping.shown(self.control, self.value)
        unit = f" {self.control.unit}" if self.control.unit and self.control.kind != "choice" else ""
        value = (shown + unit)[:VALUE_WIDTH].center(VALUE_WIDTH)
        label_width = max(4, width - VALUE_WIDTH - 5)
        label = self.control.label[:label_width].ljust(label_width)
        at_min = self.control.kind == "choice" and self.value == self.control.choices[0] or (
            self.control.kind != "choice" and float(self.value) <= float(self.control.min or 0))
        at_max = self.control.kind == "choice" and self.value == self.control.choices[-1] or (
            self.control.kind != "choice" and float(self.value) >= float(self.control.max or 0))
        text = Text(f" {label}")
        text.append(" ◀ " if not at_min else "   ")
        text.append(value, style="bold")
        text.append(" ▶" if not at_max else "  ")
        return text

    def on_click(self, event: events.Click) -> None:
        """The mouse is optional: a click left of the value lowers it, right of it raises it."""
        width = self.size.width
        if event.x >= width - 3:
            self.action_step(1)
        elif event.x >= width - VALUE_WIDTH - 5:
            if event.x <= width - VALUE_WIDTH - 2:
                self.action_step(-1)
