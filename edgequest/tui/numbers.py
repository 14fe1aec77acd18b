"""Numbers as players read them: short, with units, and pass/fail said in words."""

from __future__ import annotations

import math
from typing import Any

PASS = "✓ PASS"
FAIL = "✗ FAIL"
NOT_RUN = "· ----"

_OPS = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}


def op_symbol(op: str) -> str:
    return _OPS.get(op, op)


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


def memory(mb: float | None, scale_mb: float | None = None) -> str:
    """Megabytes, shown in GB when the scale of the picture is tens of gigabytes.

    The engine counts 1 MB = 10^6 bytes, so 1 GB here is 1000 MB (10^9 bytes), as the SPEC's
    figures are: 85,899 MB shows as 85.9 GB, never 83.9.
    """
    if mb is None:
        return "—"
    if (scale_mb if scale_mb is not None else mb) >= 20_000:
        return number(mb / 1000, "GB")
    return number(mb, "MB")


def percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * float(share):.1f}%"


def verdict(passed: bool | None) -> str:
    """Pass or fail as a symbol and a word, so the meaning survives without colour."""
    if passed is None:
        return NOT_RUN
    return PASS if passed else FAIL
