"""Numbers as players read them, for every screen and every Math Peek: one formatter.

A value is shown by its magnitude (about four significant digits, thousands separated,
tiny values not rounded to zero), so "0.022 mW of 0.5 mW" never prints as "0.0 mW".
Standard library only: the simulators (which build the Math Peek's numbers) and the
terminal game both use it.
"""

from __future__ import annotations

import math
from typing import Any


def number(value: Any, unit: str = "") -> str:
    """A value in at most about 4 significant digits, with its unit."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        text = "∞" if x > 0 else ("-∞" if x < 0 else "n/a")
    elif x == 0:
        text = "0"
    elif isinstance(value, int) or (x.is_integer() and abs(x) < 1e6):
        text = f"{int(x):,}"
    elif abs(x) >= 1e6:
        text = f"{x:.3g}"
    elif abs(x) >= 100:
        text = f"{x:,.0f}"
    elif abs(x) >= 10:
        text = f"{x:.1f}"
    else:  # 0.001 stays 0.001; only below 0.0001 does it switch to 1.5e-05
        text = f"{x:.3g}"
    if not unit:
        return text
    return f"{text}{unit}" if unit in ("%", "×") else f"{text} {unit}"
