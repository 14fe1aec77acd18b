"""The SPEC panel: each target with its value, PASS or FAIL said in a symbol and a word."""

from __future__ import annotations

import textwrap
from typing import Sequence

from rich.text import Text
from textual.widgets import Static

from edgequest.campaign.schema import Part, SpecCheck
from edgequest.tui import numbers as fmt


def threshold_text(check: SpecCheck) -> str:
    return f"{fmt.op_symbol(check.op)} {fmt.number(check.threshold, check.unit)}"


def spec_lines(part: Part, checks: Sequence | None, width: int = 0) -> Text:
    """Each check: the verdict and label, then the value against the threshold.

    Given the panel's ``width``, a long label wraps under itself (indented past the
    verdict) instead of being cut, so every SPEC line reads in full at 80 columns.
    """
    text = Text()
    indent = " " * 7
    for i, check in enumerate(part.spec):
        result = checks[i] if checks is not None and i < len(checks) else None
        passed = None if result is None else result.passed
        style = "" if passed is None else ("bold green" if passed else "bold red")
        role = " (guard)" if check.role == "guardrail" else ""
        text.append(fmt.verdict(passed), style=style)
        label = f"{check.label}{role}"
        lines = textwrap.wrap(label, max(10, width - len(indent))) if width > len(indent) + 10 else [label]
        text.append(" " + ("\n" + indent).join(lines or [""]) + "\n")
        value = "no run yet" if result is None else fmt.number(result.value, check.unit)
        text.append(f"{indent}{value} {threshold_text(check)}\n", style="dim" if result is None else "")
    return text


class SpecPanel(Static):
    DEFAULT_CSS = "SpecPanel { height: auto; }"

    def __init__(self, part: Part, *, id: str | None = None):
        super().__init__(id=id)
        self.part = part
        self.border_title = "SPEC"
        self._checks: Sequence | None = None
        self._width = 0
        self.show_checks(None)

    def show_checks(self, checks: Sequence | None) -> None:
        self._checks = checks
        self.update(spec_lines(self.part, checks, self._width))

    def on_resize(self) -> None:
        if self.size.width != self._width:
            self._width = self.size.width
            self.update(spec_lines(self.part, self._checks, self._width))
