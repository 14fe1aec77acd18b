"""The SPEC panel: each target with its value, PASS or FAIL said in a symbol and a word."""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.widgets import Static

from edgequest.campaign.schema import Part, SpecCheck
from edgequest.tui import numbers as fmt


def threshold_text(check: SpecCheck) -> str:
    return f"{fmt.op_symbol(check.op)} {fmt.number(check.threshold, check.unit)}"


def spec_lines(part: Part, checks: Sequence | None) -> Text:
    """Two lines per check: the verdict and label, then the value against the threshold."""
    # One check = two unwrapped lines (long labels end in "…"), so a narrow column still
    # shows every check with its value.
    text = Text(no_wrap=True, overflow="ellipsis")
    for i, check in enumerate(part.spec):
        result = checks[i] if checks is not None and i < len(checks) else None
        passed = None if result is None else result.passed
        style = "" if passed is None else ("bold green" if passed else "bold red")
        role = " (guard)" if check.role == "guardrail" else ""
        text.append(fmt.verdict(passed), style=style)
        text.append(f" {check.label}{role}\n")
        value = "no run yet" if result is None else fmt.number(result.value, check.unit)
        text.append(f"       {value} {threshold_text(check)}\n", style="dim" if result is None else "")
    return text


class SpecPanel(Static):
    DEFAULT_CSS = "SpecPanel { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, part: Part, *, id: str | None = None):
        super().__init__(id=id)
        self.part = part
        self.border_title = "SPEC"
        self.show_checks(None)

    def show_checks(self, checks: Sequence | None) -> None:
        self.update(spec_lines(self.part, checks))
