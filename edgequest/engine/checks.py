"""Argument checks at the engine's boundary: one message shape for every model.

A public engine function checks what it is given and then trusts it. Each check returns
the value in its plain Python type (an ``int``, a ``float``, a ``str``) or raises
``ValueError`` with one message shape, ``"<name>: got <value>; accepted: <what>"``, so
the game core can show the player what was wrong and what would have been accepted.
Booleans are refused where numbers are expected (``True`` is an ``int`` to Python, never
a batch size to a person), and so is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeGuard, TypeVar

import numpy as np

_Choice = TypeVar("_Choice")


def is_int(value: object) -> TypeGuard[int | np.integer]:
    """An integer (Python or numpy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_real(value: object) -> TypeGuard[int | float | np.integer | np.floating]:
    """A real number (Python or numpy, int or float), not a bool; NaN still counts here."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_int(name: str, value: object, low: int, high: int | None = None, accepted: str | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (no upper end when ``high`` is None).

    Args:
        name: the argument's name, as the message shows it.
        value: what the caller gave.
        low, high: the inclusive range.
        accepted: the message's "accepted" part, where the range alone says too little
            (e.g. ``"1, 2 or 4 bytes per element"``).
    """
    if not is_int(value) or int(value) < low or (high is not None and int(value) > high):
        what = accepted or (f"an integer >= {low}" if high is None else f"an integer in {low}..{high}")
        raise ValueError(f"{name}: got {value!r}; accepted: {what}")
    return int(value)


def check_number(
    name: str,
    value: object,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    allow_inf: bool = False,
    accepted: str | None = None,
) -> float:
    """``value`` as a ``float`` in ``[low, high]`` (``(low, high]`` with ``low_open``).

    NaN is always refused; infinities unless ``allow_inf`` (and the range holds them).

    Args:
        name: the argument's name, as the message shows it.
        value: what the caller gave.
        low, high: the range, inclusive unless ``low_open``.
        low_open: refuse ``low`` itself (a rate that must be positive).
        allow_inf: accept an infinite value inside the range (a Dirichlet alpha of inf is IID).
        accepted: the message's "accepted" part, where the range alone says too little.
    """
    number = float(value) if is_real(value) else math.nan
    inside = (low < number if low_open else low <= number) and number <= high
    if math.isnan(number) or (math.isinf(number) and not allow_inf) or not inside:
        left = "(" if low_open else "["
        what = accepted or (f"a finite number in {left}{low:g}, {high:g}]" if not allow_inf
                            else f"a number in {left}{low:g}, {high:g}]")
        raise ValueError(f"{name}: got {value!r}; accepted: {what}")
    return number


def check_choice(name: str, value: _Choice, accepted: Sequence[str]) -> _Choice:
    """``value`` when it is one of ``accepted`` (the option names a model knows)."""
    if isinstance(value, str) and value in accepted:
        return value
    raise ValueError(f"{name}: got {value!r}; accepted: {', '.join(accepted)}")


def check_generator(rng: object) -> np.random.Generator:
    """The caller's numpy Generator: the engine's only source of randomness."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: got {type(rng).__name__}; accepted: a numpy.random.Generator")
    return rng
