"""How a control moves one notch: the arithmetic behind the workbench's +/- keys.

Kept apart from the widget so that tests (and the pilot tests' expected records) can
compute where a key press lands without a screen.
"""

from __future__ import annotations

import math

from edgequest.campaign.schema import Control, Scalar

_LADDER = (1.0, 2.0, 5.0)


def is_wide_range(control: Control) -> bool:
    """A range spanning two decades or more (10 to 10,000 clients) steps on a 1-2-5 ladder."""
    return (
        control.kind != "choice" and control.step is None and control.min is not None
        and control.max is not None and control.min > 0 and control.max / control.min >= 100
    )


def default_step(control: Control) -> float:
    if control.step is not None:
        return float(control.step)
    assert control.min is not None and control.max is not None
    if control.kind == "int":
        return float(max(1, _nice((control.max - control.min) / 20)))
    return _nice((control.max - control.min) / 20)


def _nice(x: float) -> float:
    if x <= 0:
        return 1.0
    exp = math.floor(math.log10(x))
    base = x / 10**exp
    mant = min(_LADDER, key=lambda m: abs(m - base))
    return mant * 10**exp


def _ladder_neighbour(value: float, direction: int) -> float:
    """The next value on the 1-2-5 ladder above (direction > 0) or below ``value``."""
    exp = math.floor(math.log10(value)) if value > 0 else 0
    candidates = sorted({m * 10**e for e in range(exp - 1, exp + 2) for m in _LADDER})
    if direction > 0:
        return next((c for c in candidates if c > value * (1 + 1e-9)), candidates[-1])
    return next((c for c in reversed(candidates) if c < value * (1 - 1e-9)), candidates[0])


def step(control: Control, value: Scalar, direction: int, big: bool = False) -> Scalar:
    """``value`` moved one notch (five with ``big``) up or down, kept within the range."""
    if control.kind == "choice":
        choices = list(control.choices)
        i = choices.index(value) if value in choices else 0
        return choices[min(len(choices) - 1, max(0, i + direction))]
    assert control.min is not None and control.max is not None
    x = float(value)
    notches = 5 if big else 1
    for _ in range(notches):
        if is_wide_range(control):
            x = _ladder_neighbour(x, direction)
        else:
            s = default_step(control)
            # snap to the grid of steps from the minimum, so 0.85 + 0.05 is 0.9, not 0.9000001
            k = round((x - control.min) / s) + direction
            x = control.min + k * s
        x = min(control.max, max(control.min, x))
    if control.kind == "int":
        return int(round(x))
    return float(f"{x:.10g}")


def shown(control: Control, value: Scalar) -> str:
    """A control's value as the workbench prints it."""
    if control.kind == "choice":
        return str(value)
    if control.kind == "int":
        return f"{int(value):,}"
    x = float(value)
    return f"{x:g}"
