"""Numbers as players read them: short, with units, and pass/fail said in words."""

from __future__ import annotations

from edgequest.numbers import number

__all__ = ["number", "memory", "percent", "verdict", "op_symbol", "PASS", "FAIL", "NOT_RUN"]

PASS = "✓ PASS"
FAIL = "✗ FAIL"
NOT_RUN = "· ----"

_OPS = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}


def op_symbol(op: str) -> str:
    return _OPS.get(op, op)


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
