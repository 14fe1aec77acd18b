"""The class at a glance: per track and part, the distribution of scores and of the metric.

Drawn with plotext as plain text, so it works over ssh and in a CI log. Colour is left
out unless stdout is a terminal and ``NO_COLOR`` is unset; the bars carry the meaning.
Bins are computed here (numpy) and drawn as labelled bars, so every label is a real
range rather than a tick plotext happened to pick.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from typing import Sequence

import numpy as np

from edgequest.grading.verdict import NOT_GRADABLE, SaveGrade

SCORE_BINS = 10


def draw_histograms(grades: Sequence[SaveGrade], width: int = 80, color: bool = False) -> str:
    """Every (track, part) of the gradable saves: a score chart and a metric chart."""
    scores: dict[tuple[str, int], list[float]] = defaultdict(list)
    metrics: dict[tuple[str, int], list[float]] = defaultdict(list)
    names: dict[tuple[str, int], tuple[str, str, str]] = {}
    for grade in grades:
        for part in grade.parts:
            if part.status == NOT_GRADABLE or grade.track is None:
                continue
            key = (grade.track, part.number)
            names[key] = (part.title, part.metric_name, part.metric_goal)
            scores[key].append(part.points)
            if part.metric_value is not None and math.isfinite(part.metric_value):
                metrics[key].append(part.metric_value)
    if not names:
        return "No gradable parts to draw."
    charts = []
    for key in sorted(names):
        track, number = key
        title, metric, goal = names[key]
        labels, counts = score_bins(scores[key])
        charts.append(_bar_chart(f"{track} part {number} ({title}): points, {_saves(len(scores[key]))}",
                                 labels, counts, "points out of 100", width, color))
        if metrics[key]:
            labels, counts = metric_bins(metrics[key])
            charts.append(_bar_chart(f"{track} part {number}: committed {metric} ({goal} is better)",
                                     labels, counts, metric, width, color))
        else:
            charts.append(f"{track} part {number}: no committed design yet, so no {metric} to draw.")
    return "\n\n".join(charts)


def score_bins(points: Sequence[float]) -> tuple[list[str], list[int]]:
    """Ten bins of ten points; 100 falls in the last."""
    counts = [0] * SCORE_BINS
    for p in points:
        counts[min(SCORE_BINS - 1, max(0, int(p // (100 / SCORE_BINS))))] += 1
    step = 100 // SCORE_BINS
    return [f"{i * step}-{(i + 1) * step}" for i in range(SCORE_BINS)], counts


def metric_bins(values: Sequence[float], bins: int = 8) -> tuple[list[str], list[int]]:
    """Equal-width bins over the values' range (one bar between empty neighbours when all are equal)."""
    array = np.asarray(values, dtype=float)
    low, high = float(array.min()), float(array.max())
    if low == high:
        return [f"<{_short(low)}", _short(low), f">{_short(low)}"], [0, len(values), 0]
    counts, edges = np.histogram(array, bins=bins, range=(low, high))
    return [f"{_short(edges[i])}-{_short(edges[i + 1])}" for i in range(bins)], [int(c) for c in counts]


def _bar_chart(title: str, labels: list[str], counts: list[int], xlabel: str, width: int, color: bool) -> str:
    import plotext as plt

    plt.clear_figure()
    plt.theme("pro" if color else "clear")
    plt.bar(labels, counts, width=0.6)
    top = max(counts) if counts else 0
    step = max(1, math.ceil(top / 5))
    plt.yticks(list(range(0, top + step, step)))
    plt.title(title[: width - 4])
    plt.xlabel(xlabel)
    plt.ylabel("saves")
    plt.plotsize(max(40, width), 12)
    text = plt.build()
    plt.clear_figure()
    return text if color else plt.uncolorize(text)


def _saves(count: int) -> str:
    return f"{count} save" if count == 1 else f"{count} saves"


def _short(value: float) -> str:
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e5 or magnitude < 1e-3:
        return f"{value:.2g}"
    return f"{value:.3g}"


def use_color(stream_is_tty: bool) -> bool:
    return stream_is_tty and not os.environ.get("NO_COLOR")
