"""A radio button whose choice shows in its shape, not only in its colour (NO_COLOR)."""

from __future__ import annotations

from textual.widgets import RadioButton


class MarkedRadioButton(RadioButton):
    """● when chosen, ○ when not: the two differ without colour."""

    BUTTON_INNER = "○"

    def watch_value(self) -> None:
        self.BUTTON_INNER = "●" if self.value else "○"
        super().watch_value()
