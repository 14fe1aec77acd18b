"""The workbench's instruments drawn as inline SVG, for a report that prints.

Each instrument in :mod:`edgequest.tui.instruments` draws by calling plotext on a
figure. Here the same draw function is handed a :class:`Recorder` instead: it keeps what
the instrument asked for (stacked bars, curves, points, limit lines and their labels,
axis titles, ranges), and :func:`render` writes that as one self-contained ``<svg>``
element. The report's charts therefore show the very series, limits and words the
terminal shows, only sharper. No fonts, scripts or images are fetched: the text uses the
reader's own sans-serif face, and every mark carries a ``<title>`` with its value.

Meaning never rests on colour alone, as in the terminal: bars keep their row names and
values in words, curves and points their legend, limit lines their labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Any, Sequence

from edgequest.campaign.schema import Part
from edgequest.tui import numbers as fmt
from edgequest.tui.instruments import Instrument, RunView

WIDTH = 640
_COLOURS = {
    "blue": "#1f5fbf", "magenta": "#a0309a", "yellow": "#b8860b", "cyan": "#0e7c93",
    "red": "#c62828", "green": "#2e7d32", "gray": "#9e9e9e", "white": "#b0b0b0", "default": "#333333",
}
# How solid a bar segment is, by the terminal's block character (a shade in words there too).
_SHADE = {"█": 1.0, "▓": 0.8, "▒": 0.6, "░": 0.4, "·": 0.3, "═": 0.9}


class ChartError(Exception):
    """An instrument asked for something this SVG writer does not draw."""


@dataclass
class _Bars:
    categories: list[str]
    series: list[list[float]]
    markers: list[str]
    colours: list[str]
    names: list[str] | None


@dataclass
class _Series:
    kind: str  # "line" or "points"
    xs: list[float]
    ys: list[float]
    marker: str
    colour: str
    label: str | None
    side: str = "left"  # the y axis it is read against: "left" or "right"


@dataclass
class Recorder:
    """Stands in for plotext: records the calls the instruments make (plotext 5's names)."""

    bars: _Bars | None = None
    series: list[_Series] = field(default_factory=list)
    hlines: list[tuple[float, str]] = field(default_factory=list)
    vlines: list[tuple[float, str]] = field(default_factory=list)
    texts: list[tuple[str, float, float, str, str]] = field(default_factory=list)
    x_title: str = ""
    y_title: str = ""
    y2_title: str = ""  # the right axis's title, where a series is read against it
    x_range: tuple[float, float] | None = None
    y_range: tuple[float, float] | None = None
    x_log: bool = False
    x_ticks: list[tuple[float, str]] | None = None  # where the instrument placed its own x ticks

    def stacked_bar(self, categories: Sequence[Any], series: Sequence[Sequence[float]], *,
                    orientation: str = "v", marker: Sequence[str] | None = None,
                    color: Sequence[str] | None = None, labels: Sequence[str] | None = None,
                    width: float | None = None) -> None:
        if orientation not in ("h", "horizontal"):
            raise ChartError("only horizontal stacked bars are drawn")
        n = len(series)
        self.bars = _Bars(
            categories=[str(c) for c in categories], series=[[float(v) for v in s] for s in series],
            markers=list(marker or ["█"] * n), colours=list(color or ["default"] * n),
            names=list(labels) if labels else None,
        )

    def plot(self, xs: Sequence[float], ys: Sequence[float], *, marker: str = "●", color: str = "default",
             label: str | None = None, yside: str = "left") -> None:
        self.series.append(_Series("line", [float(x) for x in xs], [float(y) for y in ys], marker, color, label,
                                   _side(yside)))

    def scatter(self, xs: Sequence[float], ys: Sequence[float], *, marker: str = "●", color: str = "default",
                label: str | None = None, yside: str = "left") -> None:
        self.series.append(_Series("points", [float(x) for x in xs], [float(y) for y in ys], marker, color, label,
                                   _side(yside)))

    def hline(self, y: float, color: str = "default") -> None:
        self.hlines.append((float(y), color))

    def vline(self, x: float, color: str = "default") -> None:
        self.vlines.append((float(x), color))

    def text(self, label: str, x: float, y: float, *, color: str = "default", alignment: str = "left") -> None:
        self.texts.append((str(label), float(x), float(y), color, alignment))

    def xlabel(self, label: str) -> None:
        self.x_title = str(label)

    def ylabel(self, label: str, yside: str = "left") -> None:
        if _side(yside) == "right":
            self.y2_title = str(label)
        else:
            self.y_title = str(label)

    def xlim(self, lo: float, hi: float) -> None:
        self.x_range = (float(lo), float(hi))

    def ylim(self, lo: float, hi: float) -> None:
        self.y_range = (float(lo), float(hi))

    def xticks(self, ticks: Sequence[float], labels: Sequence[str] | None = None) -> None:
        names = list(labels) if labels is not None else [_axis_label(float(t)) for t in ticks]
        self.x_ticks = [(float(t), str(name)) for t, name in zip(ticks, names)]

    def plotsize(self, width: int | None = None, height: int | None = None) -> None:
        """The SVG has its own size: a text chart's size is not asked for or kept."""
        return None

    def xscale(self, scale: str) -> None:
        self.x_log = scale == "log"


def _side(yside: str) -> str:
    if yside not in ("left", "right"):
        raise ChartError(f"yside: got {yside!r}; accepted: left, right")
    return yside


def instrument_svg(instrument: Instrument, part: Part, runs: Sequence[RunView], title: str) -> str:
    """The instrument drawn for ``runs`` (the highlighted run last) as an ``<svg>`` element."""
    recorder = Recorder()
    try:
        instrument.draw(recorder, part, runs, False)
    except (TypeError, AttributeError) as exc:  # a plotext call the recorder does not know
        raise ChartError(f"{instrument.id}: {exc}") from None
    return render(recorder, title)


def render(fig: Recorder, title: str) -> str:
    if fig.bars is not None:
        return _render_bars(fig, fig.bars, title)
    if fig.series:
        return _render_xy(fig, title)
    raise ChartError("the instrument drew nothing")


# ------------------------------------------------------------------ pieces


def _colour(name: str) -> str:
    return _COLOURS.get(name, _COLOURS["default"])


def _t(text: str) -> str:
    return escape(text, quote=True)


def _f(x: float) -> str:
    return f"{x:.1f}"


def _open(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" font-family="sans-serif" font-size="11" class="chart">',
        f"<title>{_t(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering ``lo`` to ``hi``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 5, 10)), key=lambda s: abs(math.log(s / raw)))
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


def _axis_label(value: float) -> str:
    return fmt.number(round(value, 10))


# ------------------------------------------------------------------ horizontal stacked bars


def _render_bars(fig: Recorder, bars: _Bars, title: str) -> str:
    n = len(bars.categories)
    row_h = 26
    left = 16 + 7 * max((len(c) for c in bars.categories), default=4)
    right, top = 84, 34 if bars.names else 14
    plot_w = WIDTH - left - right
    height = top + n * row_h + 46
    totals = [sum(s[i] for s in bars.series if i < len(s)) for i in range(n)]
    lo, hi = fig.x_range if fig.x_range else (0.0, max(totals + [1e-12]))
    ticks = nice_ticks(lo, hi)
    hi = max(hi, ticks[-1]) if not fig.x_range else hi

    def sx(x: float) -> float:
        return left + (min(max(x, lo), hi) - lo) / (hi - lo) * plot_w

    out = _open(WIDTH, height, title)
    bottom = top + n * row_h
    for tick in ticks:
        out.append(f'<line x1="{_f(sx(tick))}" y1="{top}" x2="{_f(sx(tick))}" y2="{bottom}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{_f(sx(tick))}" y="{bottom + 14}" text-anchor="middle" fill="#444">'
                   f"{_t(_axis_label(tick))}</text>")
    for i, category in enumerate(bars.categories):
        y = top + (n - 1 - i) * row_h  # plotext puts the first category at the bottom
        out.append(f'<text x="{left - 6}" y="{_f(y + row_h / 2 + 4)}" text-anchor="end" fill="#222">'
                   f"{_t(category)}</text>")
        cursor, shown = 0.0, []
        for j, values in enumerate(bars.series):
            value = values[i] if i < len(values) else 0.0
            if value <= 0:
                continue
            start, cursor = cursor, cursor + value
            marker = bars.markers[j] if j < len(bars.markers) else "█"
            if not marker.strip():
                continue  # the waterfall's invisible offset
            name = bars.names[j] if bars.names and j < len(bars.names) else category
            shown.append((value, name))
            x0, x1 = sx(start), sx(cursor)
            colour = _colour(bars.colours[j] if j < len(bars.colours) else "default")
            out.append(
                f'<rect x="{_f(x0)}" y="{_f(y + 5)}" width="{_f(max(x1 - x0, 0.8))}" height="{row_h - 10}" '
                f'fill="{colour}" fill-opacity="{_SHADE.get(marker, 1.0)}" stroke="{colour}">'
                f"<title>{_t(f'{name}: {fmt.number(value)}')}</title></rect>"
            )
            if len(shown) > 1 or (bars.names and x1 - x0 > 38):
                if x1 - x0 > 38:
                    out.append(f'<text x="{_f((x0 + x1) / 2)}" y="{_f(y + row_h / 2 + 4)}" text-anchor="middle" '
                               f'fill="#000">{_t(fmt.number(value))}</text>')
        if len(shown) == 1 or (shown and not bars.names):
            total = sum(v for v, _ in shown)
            out.append(f'<text x="{_f(sx(cursor) + 5)}" y="{_f(y + row_h / 2 + 4)}" fill="#222">'
                       f"{_t(fmt.number(total))}</text>")
    for x, colour in fig.vlines:  # a limit (a budget, a policy) across the bars
        out.append(f'<line x1="{_f(sx(x))}" y1="{top}" x2="{_f(sx(x))}" y2="{bottom}" '
                   f'stroke="{_colour(colour)}" stroke-width="1.5" stroke-dasharray="6 4">'
                   f"<title>{_t(fmt.number(x))}</title></line>")
    out.append(f'<line x1="{left}" y1="{bottom}" x2="{left + plot_w}" y2="{bottom}" stroke="#888"/>')
    out.append(f'<text x="{_f(left + plot_w / 2)}" y="{bottom + 34}" text-anchor="middle" fill="#222">'
               f"{_t(fig.x_title)}</text>")
    if bars.names:
        entries = [(name, _colour(bars.colours[j]), _SHADE.get(bars.markers[j], 1.0))
                   for j, name in enumerate(bars.names)]
        x = left
        for name, colour, shade in entries:
            out.append(f'<rect x="{x}" y="10" width="12" height="12" fill="{colour}" fill-opacity="{shade}" '
                       f'stroke="{colour}"/>')
            out.append(f'<text x="{x + 16}" y="20" fill="#222">{_t(name)}</text>')
            x += 28 + 7 * len(name)
    out.append("</svg>")
    return "\n".join(out)


# ------------------------------------------------------------------ curves and points


def _render_xy(fig: Recorder, title: str) -> str:
    twin = any(s.side == "right" for s in fig.series)  # a right axis needs room for its ticks and title
    left, right, top, plot_h = 58, 58 if twin else 24, 34, 230
    plot_w = WIDTH - left - right
    height = top + plot_h + 46
    xs = [x for s in fig.series for x in s.xs] + [x for x, _ in fig.vlines]
    ys = [y for s in fig.series if s.side == "left" for y in s.ys] + [y for y, _ in fig.hlines]
    right_ys = [y for s in fig.series if s.side == "right" for y in s.ys]
    log = bool(fig.x_log and xs and min(xs) > 0)
    x_lo, x_hi = fig.x_range or _padded(xs, log)
    y_lo, y_hi = fig.y_range or _padded(ys, False)
    r_lo, r_hi = _padded(right_ys, False)

    def tx(x: float) -> float:
        return math.log10(x) if log else x

    def sx(x: float) -> float:
        return left + (tx(x) - tx(x_lo)) / ((tx(x_hi) - tx(x_lo)) or 1.0) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y_lo) / ((y_hi - y_lo) or 1.0) * plot_h

    def sy_right(y: float) -> float:
        return top + plot_h - (y - r_lo) / ((r_hi - r_lo) or 1.0) * plot_h

    out = _open(WIDTH, height, title)
    bottom = top + plot_h
    x_ticks = fig.x_ticks or [(t, _axis_label(t)) for t in (_log_ticks(x_lo, x_hi) if log else nice_ticks(x_lo, x_hi))]
    for tick, name in x_ticks:
        if x_lo <= tick <= x_hi:
            out.append(f'<line x1="{_f(sx(tick))}" y1="{top}" x2="{_f(sx(tick))}" y2="{bottom}" stroke="#e6e6e6"/>')
            out.append(f'<text x="{_f(sx(tick))}" y="{bottom + 14}" text-anchor="middle" fill="#444">'
                       f"{_t(name)}</text>")
    for tick in nice_ticks(y_lo, y_hi):
        if y_lo <= tick <= y_hi:
            out.append(f'<line x1="{left}" y1="{_f(sy(tick))}" x2="{left + plot_w}" y2="{_f(sy(tick))}" '
                       'stroke="#e6e6e6"/>')
            out.append(f'<text x="{left - 6}" y="{_f(sy(tick) + 4)}" text-anchor="end" fill="#444">'
                       f"{_t(_axis_label(tick))}</text>")
    if right_ys:
        for tick in nice_ticks(r_lo, r_hi):
            if r_lo <= tick <= r_hi:
                out.append(f'<text x="{left + plot_w + 4}" y="{_f(sy_right(tick) + 4)}" text-anchor="start" '
                           f'fill="#444">{_t(_axis_label(tick))}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>')
    for y, colour in fig.hlines:
        out.append(f'<line x1="{left}" y1="{_f(sy(y))}" x2="{left + plot_w}" y2="{_f(sy(y))}" '
                   f'stroke="{_colour(colour)}" stroke-width="1.5" stroke-dasharray="6 4">'
                   f"<title>{_t(fmt.number(y))}</title></line>")
    for x, colour in fig.vlines:
        out.append(f'<line x1="{_f(sx(x))}" y1="{top}" x2="{_f(sx(x))}" y2="{bottom}" '
                   f'stroke="{_colour(colour)}" stroke-width="1.5" stroke-dasharray="6 4">'
                   f"<title>{_t(fmt.number(x))}</title></line>")
    for series in fig.series:
        out.extend(_series_marks(series, sx, sy_right if series.side == "right" else sy))
    for label, x, y, colour, alignment in fig.texts:
        anchor = "end" if alignment == "right" else "start"
        dx = -4 if anchor == "end" else 4
        out.append(f'<text x="{_f(sx(x) + dx)}" y="{_f(sy(y) - 4)}" text-anchor="{anchor}" '
                   f'fill="{_colour(colour)}" font-weight="bold">{_t(label)}</text>')
    out.append(f'<text x="{_f(left + plot_w / 2)}" y="{bottom + 34}" text-anchor="middle" fill="#222">'
               f"{_t(fig.x_title)}</text>")
    out.append(f'<text x="14" y="{_f(top + plot_h / 2)}" text-anchor="middle" fill="#222" '
               f'transform="rotate(-90 14 {_f(top + plot_h / 2)})">{_t(fig.y_title)}</text>')
    if fig.y2_title:
        x2 = WIDTH - 6
        out.append(f'<text x="{x2}" y="{_f(top + plot_h / 2)}" text-anchor="middle" fill="#222" '
                   f'transform="rotate(90 {x2} {_f(top + plot_h / 2)})">{_t(fig.y2_title)}</text>')
    x = left
    for series in fig.series:
        if series.label:
            out.extend(_legend_mark(series, x + 6, 18))
            out.append(f'<text x="{x + 16}" y="22" fill="#222">{_t(series.label)}</text>')
            x += 30 + 7 * len(series.label)
    out.append("</svg>")
    return "\n".join(out)


def _padded(values: list[float], log: bool) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    if log:
        return lo / 1.3, hi * 1.3
    pad = (hi - lo) * 0.05 or max(abs(hi) * 0.05, 1e-3)
    return lo - pad, hi + pad


def _log_ticks(lo: float, hi: float) -> list[float]:
    ticks = []
    for power in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for mantissa in (1, 2, 5):
            ticks.append(mantissa * 10.0 ** power)
    return ticks


def _series_marks(series: _Series, sx, sy) -> list[str]:
    colour = _colour(series.colour)
    bold = series.marker == "●"
    out = []
    points = [(sx(x), sy(y), x, y) for x, y in zip(series.xs, series.ys) if math.isfinite(x) and math.isfinite(y)]
    if series.kind == "line" and len(points) > 1:
        path = " ".join(f"{_f(px)},{_f(py)}" for px, py, _, _ in points)
        dash = "" if bold else ' stroke-dasharray="2 2"'
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{2 if bold else 1}"{dash}/>')
    if series.kind == "points" or bold:
        radius = 4.5 if series.kind == "points" else 2.2
        fill = colour if bold else "#ffffff"
        for px, py, x, y in points:
            out.append(f'<circle cx="{_f(px)}" cy="{_f(py)}" r="{radius}" fill="{fill}" stroke="{colour}" '
                       f'stroke-width="1.5"><title>{_t(f"{fmt.number(x)}, {fmt.number(y)}")}</title></circle>')
    return out


def _legend_mark(series: _Series, x: float, y: float) -> list[str]:
    colour = _colour(series.colour)
    fill = colour if series.marker == "●" else "#ffffff"
    return [f'<circle cx="{_f(x)}" cy="{_f(y)}" r="4.5" fill="{fill}" stroke="{colour}" stroke-width="1.5"/>']
