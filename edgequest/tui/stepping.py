"""How a control moves one notch: the arithmetic behind the workbench's +/- keys.

Kept apart from the widget so that tests (and the pilot tests' expected records) can
compute where a key press lands without a screen.
"""

from __future__ import annotations

import math
from functools import lru_cache

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


def is_power_of_two_range(control: Control) -> bool:
    """An integer like a rank or a batch (1 to 64, default 16) steps through powers of two."""
    def power(x: object) -> bool:
        return (isinstance(x, (int, float)) and not isinstance(x, bool) and float(x).is_integer() and x >= 1
                and (int(x) & (int(x) - 1)) == 0)

    return (
        control.kind == "int" and control.step is None and control.min is not None and control.min >= 1
        and control.max is not None and control.max >= 8 and power(control.max) and power(control.default)
    )


def _power_of_two_neighbour(value: float, direction: int) -> float:
    """The next power of two above (direction > 0) or below ``value`` (an odd typed value snaps)."""
    exp = math.log2(max(value, 1.0))
    return 2.0 ** (math.floor(exp + 1e-9) + 1 if direction > 0 else math.ceil(exp - 1e-9) - 1)


def _grid_neighbour(value: float, step_size: float, direction: int) -> float:
    """The next multiple of ``step_size`` above or below ``value`` (the grid starts at 0)."""
    k = value / step_size
    k = math.floor(k + 1e-9) + 1 if direction > 0 else math.ceil(k - 1e-9) - 1
    return k * step_size


def _small_step(control: Control, x: float, direction: int) -> float:
    if is_power_of_two_range(control):
        x = _power_of_two_neighbour(x, direction)
    elif is_wide_range(control):
        x = _ladder_neighbour(x, direction)
    else:
        x = _grid_neighbour(x, default_step(control), direction)
    assert control.min is not None and control.max is not None
    return float(f"{min(control.max, max(control.min, x)):.10g}")


@lru_cache(maxsize=256)
def notches(control: Control) -> tuple[float, ...]:
    """Every value one-notch steps reach from the minimum to the maximum, in order."""
    assert control.min is not None and control.max is not None
    values = [float(control.min)]
    while values[-1] < control.max and len(values) < 10_000:
        values.append(_small_step(control, values[-1], +1))
    return tuple(values)


def step(control: Control, value: Scalar, direction: int, big: bool = False) -> Scalar:
    """``value`` moved one notch (five with ``big``) up or down, kept within the range.

    A wide range steps on a 1-2-5 ladder, a rank or a batch through powers of two (one
    doubling, with ``big`` too: 16 goes to 8 or 32), anything else on multiples of its
    step. Moves are consistent both ways: a notch down then a notch up comes back.
    """
    if control.kind == "choice":
        choices = list(control.choices)
        i = choices.index(value) if value in choices else 0
        return choices[min(len(choices) - 1, max(0, i + direction))]
    x = _small_step(control, float(value), direction)  # a typed, off-notch value snaps here
    if big and not is_power_of_two_range(control):
        values = notches(control)
        here = min(range(len(values)), key=lambda i: abs(values[i] - x))
        x = values[min(len(values) - 1, max(0, here + 4 * (1 if direction > 0 else -1)))]
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
