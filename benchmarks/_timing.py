"""How every benchmark here times a case and prints its table: one place, one method.

A case is timed by calling it once to warm it up (first-call allocations, caches, BLAS
threads), then repeatedly; its median is what the budgets of DESIGN.md section 7 are
about, and the spread (min to max) says how far a second run of the same command can be
expected to land. The bench_*.py scripts and the project-wide ``benchmarks/run.py`` use
these functions, so a median printed by one matches a median printed by the other.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

Case = tuple[str, Callable[[], object], float]
"""(name, zero-argument callable, budget in seconds): what every ``cases()`` returns."""


def time_calls(
    function: Callable[[], object],
    repeats: int,
    *,
    warmups: int = 1,
    min_repeats: int = 1,
    time_limit_s: float | None = None,
) -> list[float]:
    """Wall seconds of ``repeats`` calls of ``function`` after ``warmups`` untimed calls.

    With ``time_limit_s``, stop early once the timed calls have used that much time and at
    least ``min_repeats`` were made: a slow case then gets fewer samples instead of
    stretching the whole run.
    """
    for _ in range(warmups):
        function()
    samples: list[float] = []
    spent = 0.0
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
        spent += samples[-1]
        if time_limit_s is not None and spent >= time_limit_s and len(samples) >= min_repeats:
            break
    return samples


def median_seconds(function: Callable[[], object], repeats: int = 7) -> float:
    """Median wall seconds of ``repeats`` calls after one warm-up call."""
    return statistics.median(time_calls(function, repeats))


def spread(samples: Sequence[float]) -> tuple[float, float]:
    """(lowest, highest) of the samples: the noise a reader can hold a median against."""
    return min(samples), max(samples)


def format_seconds(seconds: float) -> str:
    """A duration with three significant figures, in ms below one second."""
    if seconds != seconds:  # NaN: nothing measured
        return "-"
    if abs(seconds) >= 1.0:
        return f"{seconds:.2f} s"
    ms = seconds * 1e3
    if abs(ms) >= 100:
        return f"{ms:.0f} ms"
    if abs(ms) >= 10:
        return f"{ms:.1f} ms"
    if abs(ms) >= 1:
        return f"{ms:.2f} ms"
    return f"{ms:.3f} ms"


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    markdown: bool = False,
    right: Sequence[int] = (),
) -> str:
    """Rows of strings as aligned plain text, or as a Markdown table.

    ``right`` lists the columns (by index) that hold numbers and align to the right. A row
    of a single string is a section heading that spans the table.
    """
    width = len(headers)
    cells = [list(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join("---:" if i in right else "---" for i in range(width)) + "|"]
        for row in cells:
            if len(row) == 1:
                lines.append("| **" + row[0] + "** |" + " |" * (width - 1))
            else:
                lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        return "\n".join(lines)
    full = [r for r in cells if len(r) == width]
    widths = [max([len(headers[i])] + [len(r[i]) for r in full]) for i in range(width)]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    for row in cells:
        out.append(row[0] if len(row) == 1 else line(row))
    return "\n".join(out)


def print_budget_table(rows: Sequence[tuple[str, float, float]]) -> int:
    """Print (case, median seconds, budget seconds) rows with their ratio; return how many are over.

    The table every bench_*.py prints when run on its own.
    """
    table = [
        (name, format_seconds(median), format_seconds(budget), f"{median / budget:.2f}",
         "OK" if median <= budget else "OVER")
        for name, median, budget in rows
    ]
    print(render_table(("case", "median", "budget", "ratio", ""), table, right=(1, 2, 3)))
    return sum(median > budget for _, median, budget in rows)
