"""The workbench's instruments: which apply to a part's runs, and how plotext draws each.

An instrument is chosen by the metrics a run produced, not by the model's name, so a
part shows whatever its model measures. Each instrument declares the metrics it needs
(all present, or it is not offered) and the ones its caption shows when present, by the
names of the models' contract (``edgequest/simulators/metrics.py``);
``tests/test_metrics_contract.py`` checks that the real models provide them and that an
instrument reads nothing else, so a renamed metric fails a test, not a chart.

Each ``draw`` function makes plotext calls on a cleared figure of a given size; the
chart widget builds the text and caches it. Meaning never rests on colour alone: every
series has its own marker, lines are labelled in words, and captions say PASS or FAIL.
This module imports no Textual, so it is tested and benchmarked on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from edgequest.campaign.schema import Part
from edgequest.tui import numbers as fmt

Metrics = Mapping[str, Any]


@dataclass(frozen=True)
class RunView:
    """What an instrument needs of one run: its number (1-based), controls and metrics."""

    number: int
    controls: Mapping[str, Any]
    metrics: Metrics


Draw = Callable[[Any, Part, Sequence[RunView], bool], None]
Caption = Callable[[Part, Sequence[RunView]], str]


@dataclass(frozen=True)
class Instrument:
    """One chart of the workbench and its caption.

    ``needs``: the metrics it draws (contract names, ``memory_mb.total``); it applies to a
    run that has every one (a finite number, a flag, or a non-empty series). ``shows``:
    the metrics its drawing or caption adds when a run has them.
    """

    id: str
    tab: str
    title: str
    needs: frozenset[str]
    draw: Draw
    caption: Caption
    shows: frozenset[str] = frozenset()

    def applies(self, metrics: Metrics) -> bool:
        return all(_present(metrics, name) for name in self.needs)


def _present(metrics: Metrics, name: str) -> bool:
    value: Any = metrics
    for key in name.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return False
        value = value[key]
    if isinstance(value, (list, tuple)):
        return bool(value)
    return _num({"value": value}, "value") is not None


def _num(metrics: Metrics, *path: str) -> float | None:
    value: Any = metrics
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return float(value)
    return None


def _threshold(part: Part, metric: str) -> float | None:
    for check in part.spec:
        if check.metric == metric:
            return check.threshold
    return None


def _colours(nocolor: bool, *names: str) -> list[str]:
    return ["default"] * len(names) if nocolor else list(names)


# Lines on a chart are named in its caption, never by text drawn on the plot: plotext writes
# text over whatever is there (a legend, another label, a point), so at 80 columns labels on
# the plot collide. The caption's key says which line is which, in words.

def _line(plt: Any, axis: str, value: float, colour: str, nocolor: bool) -> None:
    """A horizontal ("h") or vertical ("v") limit line; its name goes in the caption."""
    (plt.hline if axis == "h" else plt.vline)(value, "default" if nocolor else colour)


def line_key(*lines: tuple[str, str, float | None, str]) -> str:
    """The caption's key to a chart's lines: ("h" or "v", name, value, unit) each."""
    shown = [f"{'─' if axis == 'h' else '│'} {name} {fmt.number(value, unit)}"
             for axis, name, value, unit in lines if value is not None]
    return "lines: " + ", ".join(shown) if shown else ""


def runs_key(runs: Sequence[RunView], earlier: str) -> str:
    """The caption's key to the runs' markers (plotext's legend would sit on the lines)."""
    return f"● run {runs[-1].number}" + (f", {earlier} earlier runs" if len(runs) > 1 else "")


def _x_ticks(plt: Any, lo: float, hi: float, log: bool, whole: bool = False) -> None:
    """Three x ticks (ends and middle) written by the shared formatter: "85,899", not "85899.0"
    (``whole``: a count such as rounds, whose middle tick is a whole number too)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return
    mid = math.sqrt(lo * hi) if log and lo > 0 else (lo + hi) / 2
    mid = float(round(mid)) if whole else mid
    ticks = [lo, mid, hi]
    plt.xticks(ticks, [fmt.number(t) for t in ticks])


def _fit_rows(plt: Any, n: int, xlabel: bool = True) -> float:
    """Size a horizontal bar chart so each of its ``n`` rows gets whole text lines, and return
    the bar width to draw. plotext otherwise rounds a bar and its label to different lines,
    and a row reads as its neighbour's (the inference bar as long as the total). The chart
    keeps the top of its area; what is left below stays blank."""
    size = plt.plotsize()
    if not isinstance(size, (tuple, list)) or len(size) != 2 or not all(isinstance(v, int) for v in size):
        return 0.7  # not plotext (the report's recorder): nothing to fit
    width, height = size
    frame = 4 if xlabel else 3  # the box's top, the x axis, its ticks (and its label)
    per_row = max(1, (height - frame) // max(n, 1))
    plt.plotsize(width, per_row * n + frame)
    return 0.4 if per_row == 1 else 0.7


def _join(*bits: str) -> str:
    return " · ".join(b for b in bits if b)


# ------------------------------------------------------------------ part 1: memory

_MEMORY_PARTS = (
    ("weights", "weights", "█", "blue"),
    ("gradients", "grads", "▓", "magenta"),
    ("optimizer", "optim", "▒", "yellow"),
    ("activations", "activ", "░", "cyan"),
)


def _draw_memory(plt: Any, part: Part, runs: Sequence[RunView], nocolor: bool) -> None:
    """A waterfall: each buffer starts where the last ended, then the total and the budget."""
    m = runs[-1].metrics
    present = [(key, label, marker, colour) for key, label, marker, colour in _MEMORY_PARTS
               if _num(m, "memory_mb", key) is not None]
    values = [_num(m, "memory_mb", key) or 0.0 for key, *_ in present]
    total = _num(m, "memory_mb", "total") or sum(values)
    budget = _num(m, "budget_mb")
    inference = _num(m, "inference_mb")
    scale = max([total] + [v for v in (budget, inference) if v is not None])
    unit, div = ("GB", 1000.0) if scale >= 20_000 else ("MB", 1.0)
    rows = [label for _, label, _, _ in present] + ["TOTAL"]
    extra = [(name, v) for name, v in (("infer", inference), ("budget", budget)) if v is not None]
    rows += [name for name, _ in extra]
    n = len(rows)
    series_values: list[list[float]] = []
    offset = [0.0] * n
    running = 0.0
    for i, v in enumerate(values):
        offset[i] = running / div
        running += v
    series_values.append(offset)
    for i, v in enumerate(values):  # one series per buffer: its own row and its share of TOTAL
        row = [0.0] * n
        row[i] = v / div
        row[len(present)] = v / div
        series_values.append(row)
    for j, (_, v) in enumerate(extra):
        row = [0.0] * n
        row[len(present) + 1 + j] = v / div
        series_values.append(row)
    markers = [" "] + [mk for _, _, mk, _ in present] + ["·" if name == "infer" else "═" for name, _ in extra]
    colours = ["default"] + _colours(nocolor, *[c for *_, c in present]) + _colours(
        nocolor, *["white" if name == "infer" else "red" for name, _ in extra]
    )
    # plotext draws the first category at the bottom: reverse so the waterfall reads down.
    plt.stacked_bar(
        rows[::-1], [s[::-1] for s in series_values], orientation="h",
        marker=markers, color=colours, width=_fit_rows(plt, n),
    )
    _x_ticks(plt, 0.0, scale / div, False)
    plt.xlabel(f"memory ({unit})")


def _memory_caption(part: Part, runs: Sequence[RunView]) -> str:
    m = runs[-1].metrics
    total = _num(m, "memory_mb", "total")
    budget = _num(m, "budget_mb")
    scale = max(v for v in (total or 0, budget or 0, 1))
    bits = [f"total {fmt.memory(total, scale)}"]
    if budget is not None:
        bits.append(f"budget {fmt.memory(budget, scale)}")
    fits = m.get("fits")
    if isinstance(fits, bool):
        bits.append("✓ FITS" if fits else "✗ DOES NOT FIT")
    stored, transient = _num(m, "memory_mb", "stored_activations"), _num(m, "memory_mb", "transient")
    if stored is not None and transient is not None:
        phase = "fwd" if m.get("peak_phase") == "forward" else "bwd"
        bits.append(f"activ {phase} peak: {fmt.memory(stored, scale)} stored + {fmt.memory(transient, scale)} transient")
    amp = _num(m, "amplification")
    if amp is not None:
        bits.append(f"MAF ×{amp:.1f}")
    acc = _num(m, "accuracy")
    if acc is not None:
        before = _num(m, "accuracy_before")
        bits.append(f"accuracy {fmt.percent(acc)}" + (f" (was {fmt.percent(before)})" if before is not None else ""))
        low, high = _num(m, "accuracy_low"), _num(m, "accuracy_high")
        if low is not None and high is not None:
            bits.append(f"other fine-tunes of this design {fmt.percent(low)}–{fmt.percent(high)}")
    return " · ".join(bits)


MEMORY_MAP = Instrument(
    "memory", "Memory map", "On-device memory waterfall",
    frozenset({"memory_mb.weights", "memory_mb.gradients", "memory_mb.optimizer", "memory_mb.activations",
               "memory_mb.total"}),
    _draw_memory, _memory_caption,
    shows=frozenset({"budget_mb", "inference_mb", "fits", "amplification", "accuracy", "accuracy_before",
                     "accuracy_low", "accuracy_high", "memory_mb.stored_activations", "memory_mb.transient",
                     "peak_phase"}),
)


# ------------------------------------------------------------------ part 1 crises

_CACHE_TIERS = (("hbm_hit_rate", "HBM hit", "█", "green"), ("host_hit_rate", "host hit", "▒", "yellow"),
                ("miss_rate", "SSD miss", "░", "red"))


def _draw_cache(plt: Any, part: Part, runs: Sequence[RunView], nocolor: bool) -> None:
    """Where each adapter request is served, run by run (latest on top)."""
    shown = runs[-6:]
    labels = [f"run {r.number}" for r in shown]
    series = [[100 * (_num(r.metrics, "cache", key) or 0.0) for r in shown] for key, *_ in _CACHE_TIERS]
    # The tiers' key is in the caption: plotext's legend would sit on the bars.
    plt.stacked_bar(labels, series, orientation="h", marker=[mk for _, _, mk, _ in _CACHE_TIERS],
                    color=_colours(nocolor, *[c for *_, c in _CACHE_TIERS]), width=_fit_rows(plt, len(shown)))
    plt.xlim(0, 100)
    plt.xlabel("adapter requests (%)")


def _cache_caption(part: Part, runs: Sequence[RunView]) -> str:
    m = runs[-1].metrics
    bits = [" ".join(f"{mk} {name}" for _, name, mk, _ in _CACHE_TIERS),
            f"HBM {fmt.percent(_num(m, 'cache', 'hbm_hit_rate'))}", f"miss {fmt.percent(_num(m, 'cache', 'miss_rate'))}"]
    for key, unit, label in (("added_latency_ms", "ms", "added latency"), ("tokens_per_s", "tok/s", ""),
                             ("adapter_mb", "MB", "adapter")):
        v = _num(m, key)
        if v is not None:
            bits.append(f"{label} {fmt.number(v, unit)}".strip())
    return " · ".join(bits)


def _bars_per_run(plt: Any, runs: Sequence[RunView], key: str, line: float | None, line_label: str,
                  unit: str, nocolor: bool, colour: str = "cyan") -> None:
    shown = runs[-8:]
    labels = [f"run {r.number}" for r in shown]
    values = [_num(r.metrics, key) or 0.0 for r in shown]
    markers = ["█" if i == len(shown) - 1 else "░" for i in range(len(shown))]
    colours = _colours(nocolor, *([colour if i == len(shown) - 1 else "gray" for i in range(len(shown))]))
    series = [[v if j == i else 0.0 for j in range(len(shown))] for i, v in enumerate(values)]
    plt.stacked_bar(labels[::-1], [s[::-1] for s in series], orientation="h", marker=markers,
                    color=colours, width=_fit_rows(plt, len(shown)))
    top = max(values + [0.0])
    if line is not None:  # the limit is a line across the bars (named in the caption), not a bar
        _line(plt, "v", line, "red", nocolor)
        top = max(values + [line]) * 1.08 or 1.0
        plt.xlim(0, top)
    _x_ticks(plt, 0.0, top, False)
    plt.xlabel(unit)


def _draw_battery(plt: Any, part: Part, runs: Sequence[RunView], nocolor: bool) -> None:
    """Battery spent on learning per day, each run, against the policy line."""
    limit = _threshold(part, "battery_pct_per_day")
    _bars_per_run(plt, runs, "battery_pct_per_day", limit, "policy", "battery per day (%)", nocolor, "green")


def _battery_caption(part: Part, runs: Sequence[RunView]) -> str:
    m = runs[-1].metrics
    bits = [f"battery/day {fmt.number(_num(m, 'battery_pct_per_day'), '%')}"]
    limit = _threshold(part, "battery_pct_per_day")
    if limit is not None:
        value = _num(m, "battery_pct_per_day")
        bits.append(f"policy ≤ {fmt.number(limit, '%')} " + ("✓ PASS" if value is not None and value <= limit else "✗ FAIL"))
        bits.append(line_key(("v", "policy", limit, "%")))
    for key, unit, label in (("session_wh", "Wh", "session"), ("drain_ratio", "×", "drain vs inference")):
        v = _num(m, key)
        if v is not None:
            bits.append(f"{label} {fmt.number(v, unit)}")
    return " · ".join(bits)


def _draw_sram(plt: Any, part: Part, runs: Sequence[RunView], nocolor: bool) -> None:
    """On-chip SRAM the training step needs, each run, against the chip's SRAM."""
    budget = _num(runs[-1].metrics, "sram_budget_kb")
    _bars_per_run(plt, runs, "sram_kb", budget, "SRAM", "SRAM (KiB)", nocolor, "magenta")


def _sram_caption(part: Part, runs: Sequence[RunView]) -> str:
    m = runs[-1].metrics
    bits = [f"SRAM {fmt.number(_num(m, 'sram_kb'), 'KiB')} of {fmt.number(_num(m, 'sram_budget_kb'), 'KiB')}",
            line_key(("v", "SRAM", _num(m, "sram_budget_kb"), "KiB"))]
    fits = m.get("fits_sram")
    if isinstance(fits, bool):
        bits.append("✓ FITS" if fits else "✗ DOES NOT FIT")
    flash = _num(m, "flash_kb")
    if flash is not None:
        bits.append(f"flash {fmt.number(flash, 'KiB')}")
    return " · ".join(bits)


# ------------------------------------------------------------------ parts 2 and 3: curves

def _curve(m: Metrics, x_key: str, y_key: str = "accuracy") -> tuple[list[float], list[float]]:
    xs: list[float] = []
    ys: list[float] = []
    curve = m.get("curve")
    if not isinstance(curve, (list, tuple)):
        return xs, ys
    for point in curve:
        if isinstance(point, Mapping):
            x, y = _num(point, x_key), _num(point, y_key)
            if x is not None and y is not None:
                xs.append(x)
                ys.append(y)
    return xs, ys


def _fleet_axis(runs: Sequence[RunView]) -> tuple[str, float, str]:
    """(curve key, scale, label) of the x axis: GB, MB when little moves, rounds when nothing does."""
    most = max((max(_curve(r.metrics, "gb")[0], default=0.0) for r in runs[-4:]), default=0.0)
    if most <= 0:  # learning alone: no bytes to plot against
        return "round", 1.0, "round (nothing sent)"
    if most < 1:
        return "gb", 1e3, "MB transferred"
    return "gb", 1.0, "GB transferred"


def _draw_fleet(plt: Any, part: Part, runs: Sequence[RunView], nocolor: bool) -> None:
    """Fleet accuracy against data moved: the latest run bold, earlier runs faint."""
    latest = runs[-1].metrics
    earlier = runs[-4:-1]
    key, scale, label = _fleet_axis(runs)

    def curve_of(m: Metrics, y_key: str = "accuracy") -> tuple[list[float], list[float]]:
        xs, ys = _curve(m, key, y_key)
        return [x * scale for x in xs], ys

    for run in earlier:
        xs, ys = curve_of(run.metrics)
        if xs:
            plt.plot(xs, ys, marker="·", color="default" if nocolor else "gray", label=None)
    xs, ys = curve_of(latest)
    reference = latest.get("iid_curve")
    if isinstance(reference, (list, tuple)) and xs:  # the same design on IID data, at the same bytes per round
        iid = [_num(point, "accuracy") for point in reference if isinstance(point, Mapping)]
        pairs = [(x, y) for x, y in zip(xs, iid) if y is not None]
        if pairs:  # named in the caption, as every line here
            plt.plot([x for x, _ in pairs], [y for _, y in pairs], marker="+", color="default" if nocolor else "white")
    plt.plot(xs, ys, marker="●", color="default" if nocolor else "cyan")
    target = _num(latest, "target_accuracy") or _threshold(part, "accuracy")
    cap = _num(latest, "data_cap_gb")
    if target is not None:
        _line(plt, "h", target, "green", nocolor)
    if cap is not None and key == "gb":
        _line(plt, "v", cap * scale, "red", nocolor)
    loss_xs, loss = curve_of(latest, "loss")
    if loss_xs:  # training loss on the right axis, beside the accuracy it explains
        plt.plot(loss_xs, loss, marker="x", color="default" if nocolor else "magenta", yside="right")
        plt.ylabel("loss (nats)", yside="right")
    shown_xs = [x for run in (*earlier, runs[-1]) for x in curve_of(run.metrics)[0]]
    if cap is not None and key == "gb":
        shown_xs.append(cap * scale)
    if shown_xs and key != "round":  # "1,022" rather than plotext's "1022.4"
        lo, hi = min(shown_xs), max(shown_xs)
        plt.xlim(lo, hi)
        _x_ticks(plt, lo, hi, False)
    plt.xlabel(label)
    plt.ylabel("accuracy")


def _fleet_caption(part: Part, runs: Sequence[RunView]) -> str:
    m = runs[-1].metrics
    bits = [f"accuracy {fmt.percent(_num(m, 'accuracy'))}"]
    target = _num(m, "target_accuracy")
    if target is not None:
        bits.append(f"target {fmt.percent(target)}")
    gb, cap = _num(m, "gb_transferred"), _num(m, "data_cap_gb")
    if gb is not None:
        bits.append(f"{fmt.number(gb, 'GB')}" + (f" of {fmt.number(cap, 'GB')} cap" if cap is not None else ""))
    within = m.get("within_cap")
    if isinstance(within, bool):
        bits.append("✓ WITHIN CAP" if within else "✗ OVER CAP")
    if "rounds_to_target" in m:
        r = m.get("rounds_to_target")
        bits.append(f"target in {r} rounds" if r is not None else "target not reached")
    wasted = _num(m, "wasted_energy_share")
    if wasted is not None:
        bits.append(f"wasted energy {fmt.percent(wasted)}")
    alpha, loss = _num(m, "alpha"), _num(m, "loss")
    if alpha is not None:
        bits.append(f"skew alpha {fmt.number(alpha)}")
    if isinstance(m.get("iid_curve"), (list, tuple)) and m["iid_curve"]:
        bits.append(f"+ same design on IID data: {fmt.percent(_num(m['iid_curve'][-1], 'accuracy'))}")
    if loss is not None:
        bits.append(f"x training loss (right axis) {fmt.number(loss)}")
    target = _num(m, "target_accuracy") or _threshold(part, "accuracy")
    bits.append(line_key(("h", "target", target, ""), ("v", "cap", cap, "GB")))
    bits.append(runs_key(runs, "·"))
    return _join(*bits)


def _draw_ble(plt: Any, part: Part, runs: Sequence[RunView], nocolor: bool) -> None:
    """Radio power each run spends syncing over BLE, against the hearable's power budget."""
    line = _num(runs[-1].metrics, "power_budget_mw")
    _bars_per_run(plt, runs, "radio_mw", line, "budget", "radio power (mW)", nocolor, "blue")


def _ble_caption(part: Part, runs: Sequence[RunView]) -> str:
    m = runs[-1].metrics
    bits = []
    for key, unit, label in (("airtime_s_per_sync", "s", "airtime/sync"), ("radio_mw", "mW", "radio"),
                             ("power_budget_mw", "mW", "budget")):
        v = _num(m, key)
        if v is not None:
            bits.append(f"{label} {fmt.number(v, unit)}")
    radio, budget = _num(m, "radio_mw"), _num(m, "power_budget_mw")
    if radio is not None and budget is not None:
        bits.append("✓ WITHIN POWER" if radio <= budget else "✗ OVER POWER")
        bits.append(line_key(("v", "budget", budget, "mW")))
    return " · ".join(bits)


def _draw_tradeoff(plt: Any, points: Sequence[tuple[float, float, int]], limit: float | None, limit_label: str,
                   target: float | None, xlabel: str, nocolor: bool) -> None:
    """One point per run (the latest filled), a vertical limit on x and the SPEC's accuracy line.

    The privacy frontier (accuracy against epsilon, the officer's line) and the memory-accuracy
    frontier (accuracy against training memory, the device's budget) are both this picture.
    """
    earlier, (x_last, y_last, _) = points[:-1], points[-1]
    xs = [x for x, _, _ in points] + ([limit] if limit is not None else [])
    ys = [y for _, y, _ in points] + ([target] if target is not None else [])
    if earlier:
        plt.scatter([x for x, _, _ in earlier], [y for _, y, _ in earlier], marker="○",
                    color="default" if nocolor else "gray")
    plt.scatter([x_last], [y_last], marker="●", color="default" if nocolor else "cyan")
    if limit is not None:
        _line(plt, "v", limit, "red", nocolor)
    if target is not None:
        _line(plt, "h", target, "green", nocolor)
    lo, hi = min(xs), max(xs)
    log = lo > 0 and hi / lo > 20
    if log:
        plt.xscale("log")
    _x_ticks(plt, lo, hi, log)
    pad_y = max(0.02, (max(ys) - min(ys)) * 0.15)
    plt.ylim(max(0.0, min(ys) - pad_y), min(1.0, max(ys) + pad_y))
    plt.xlabel(xlabel)
    plt.ylabel("accuracy")


def _draw_privacy(plt: Any, part: Part, runs: Sequence[RunView], nocolor: bool) -> None:
    """Accuracy against epsilon, one point per run, with the Privacy Officer's line."""
    points = [(float(r.metrics["epsilon"]), float(r.metrics["accuracy"]), r.number) for r in runs
              if PRIVACY_FRONTIER.applies(r.metrics)]
    limit = _threshold(part, "epsilon")
    target = _num(runs[-1].metrics, "target_accuracy") or _threshold(part, "accuracy")
    _draw_tradeoff(plt, points, 1.0 if limit is None else limit, "officer", target,
                   "epsilon (smaller = more private)", nocolor)


def _privacy_caption(part: Part, runs: Sequence[RunView]) -> str:
    m = runs[-1].metrics
    eps = _num(m, "epsilon")
    limit = _threshold(part, "epsilon")
    limit = 1.0 if limit is None else limit
    bits = [f"ε {fmt.number(eps)}" + ("" if eps is None else (" ✓ < officer's " if eps < limit else " ✗ ≥ officer's ") + fmt.number(limit))]
    acc, target = _num(m, "accuracy"), _num(m, "target_accuracy")
    bits.append(f"accuracy {fmt.percent(acc)}" + (f" (SPEC {fmt.percent(target)})" if target is not None else ""))
    for path, label in ((("noise_multiplier",), "σ"), (("compute_to_target", "client_epochs"),
                                                          "client-epochs to target")):
        v = _num(m, *path)
        if v is not None:
            bits.append(f"{label} {fmt.number(v)}")
    target = _num(m, "target_accuracy") or _threshold(part, "accuracy")
    bits.append(line_key(("v", "officer's ε", limit, ""), ("h", "SPEC", target, "")))
    bits.append(runs_key(runs, "○"))
    return _join(*bits)


PRIVACY_FRONTIER = Instrument(
    "privacy", "Privacy frontier", "Privacy frontier: accuracy against epsilon", frozenset({"epsilon", "accuracy"}),
    _draw_privacy, _privacy_caption,
    shows=frozenset({"target_accuracy", "noise_multiplier", "compute_to_target.client_epochs"}),
)


def _frontier_budget_mb(part: Part, m: Metrics) -> float | None:
    sram = _num(m, "sram_budget_kb")
    return sram * 1024 / 1e6 if sram is not None else _num(m, "budget_mb")


def _draw_frontier(plt: Any, part: Part, runs: Sequence[RunView], nocolor: bool) -> None:
    """Accuracy against training memory, one point per run: the memory-accuracy frontier."""
    points = [(float(r.metrics["memory_mb"]["total"]), float(r.metrics["accuracy"]), r.number) for r in runs
              if FRONTIER_CHART.applies(r.metrics)]
    _draw_tradeoff(plt, points, _frontier_budget_mb(part, runs[-1].metrics), "budget",
                   _threshold(part, "accuracy"), "training memory (MB)", nocolor)


def _frontier_caption(part: Part, runs: Sequence[RunView]) -> str:
    fitting = [r for r in runs if FRONTIER_CHART.applies(r.metrics) and r.metrics.get("fits")]
    best = max(fitting, key=lambda r: r.metrics["accuracy"], default=None)
    m = runs[-1].metrics
    head = f"run {runs[-1].number}: {fmt.number(_num(m, 'memory_mb', 'total'), 'MB')}, accuracy {fmt.percent(_num(m, 'accuracy'))}"
    key = line_key(("v", "budget", _frontier_budget_mb(part, m), "MB"), ("h", "SPEC", _threshold(part, "accuracy"), ""))
    if best is None:
        return _join(head, "no run fits the budget yet", key, runs_key(runs, "○"))
    return _join(head, f"best that fits: run {best.number}, {fmt.percent(best.metrics['accuracy'])}", key,
                 runs_key(runs, "○"))


FRONTIER_CHART = Instrument(
    "frontier", "Frontier", "Memory-accuracy frontier across your runs", frozenset({"memory_mb.total", "accuracy"}),
    _draw_frontier, _frontier_caption, shows=frozenset({"budget_mb", "sram_budget_kb", "fits"}),
)


def _draw_convergence(plt: Any, part: Part, runs: Sequence[RunView], nocolor: bool) -> None:
    """Accuracy round by round: what the noise costs in compute to reach the target."""
    for run in runs[-4:-1]:
        xs, ys = _curve(run.metrics, "round")
        if xs:
            plt.plot(xs, ys, marker="·", color="default" if nocolor else "gray")
    bx, by = _curve(runs[-1].metrics, "round", "baseline_accuracy")
    if bx:  # the same design without clipping or noise: what privacy costs, drawn
        plt.plot(bx, by, marker="+", color="default" if nocolor else "magenta")  # "+ no privacy" in the caption
    xs, ys = _curve(runs[-1].metrics, "round")
    plt.plot(xs, ys, marker="●", color="default" if nocolor else "cyan")
    target = _num(runs[-1].metrics, "target_accuracy")
    if target is not None:
        _line(plt, "h", target, "green", nocolor)
    rounds = [x for run in runs[-4:] for x in _curve(run.metrics, "round")[0]]
    if rounds:  # "25", not plotext's "25.5"
        plt.xlim(min(rounds), max(rounds))
        _x_ticks(plt, min(rounds), max(rounds), False, whole=True)
    plt.xlabel("round")
    plt.ylabel("accuracy")


def _to_target(m: Metrics, key: str) -> str:
    rounds, c = _num(m, key, "rounds"), _num(m, key, "client_epochs")
    if rounds is None or c is None:
        return "never"
    epochs = f"{c / 1e6:.3g}M" if c >= 1e6 else (f"{c / 1e3:.3g}k" if c >= 1e3 else f"{c:.0f}")
    return f"{rounds:.0f} rounds, {epochs} client-epochs"


def _convergence_caption(part: Part, runs: Sequence[RunView]) -> str:
    m = runs[-1].metrics
    final = fmt.percent(_num(m, "accuracy"))
    if _num(m, "baseline_accuracy") is None:
        head = f"to target: {_to_target(m, 'compute_to_target')} · final {final}"
    else:
        head = (f"to target: {_to_target(m, 'compute_to_target')} (+ no privacy: "
                f"{_to_target(m, 'baseline_compute_to_target')}) · final {final} vs "
                f"{fmt.percent(_num(m, 'baseline_accuracy'))}")
    return _join(head, line_key(("h", "target", _num(m, "target_accuracy"), "")), runs_key(runs, "·"))


INSTRUMENTS: tuple[Instrument, ...] = (
    MEMORY_MAP,
    FRONTIER_CHART,
    Instrument("cache", "Adapter cache", "Adapter cache: where requests are served",
               frozenset({"cache.hbm_hit_rate", "cache.host_hit_rate", "cache.miss_rate"}), _draw_cache,
               _cache_caption, shows=frozenset({"added_latency_ms", "tokens_per_s", "adapter_mb"})),
    Instrument("battery", "Battery", "Battery spent learning, per day", frozenset({"battery_pct_per_day"}),
               _draw_battery, _battery_caption, shows=frozenset({"session_wh", "drain_ratio"})),
    Instrument("sram", "SRAM", "On-chip SRAM of a training step", frozenset({"sram_kb", "sram_budget_kb"}), _draw_sram,
               _sram_caption, shows=frozenset({"fits_sram", "flash_kb"})),
    Instrument("fleet", "Fleet", "Fleet accuracy against GB transferred", frozenset({"gb_transferred", "curve"}),
               _draw_fleet, _fleet_caption,
               shows=frozenset({"accuracy", "target_accuracy", "data_cap_gb", "within_cap", "rounds_to_target",
                                "wasted_energy_share", "alpha", "iid_curve", "loss"})),
    Instrument("ble", "BLE airtime", "BLE sync cost against the power budget", frozenset({"radio_mw"}), _draw_ble,
               _ble_caption, shows=frozenset({"power_budget_mw", "airtime_s_per_sync"})),
    PRIVACY_FRONTIER,
    Instrument("convergence", "Convergence", "Accuracy round by round", frozenset({"curve", "epsilon", "accuracy"}),
               _draw_convergence, _convergence_caption,
               shows=frozenset({"target_accuracy", "compute_to_target.client_epochs", "compute_to_target.rounds",
                                "baseline_accuracy", "baseline_compute_to_target.client_epochs",
                                "baseline_compute_to_target.rounds"})),
)

# What each part's model is expected to draw before its first run, so the tabs are
# laid out (and explained) from the start rather than appearing after a run.
EXPECTED = {"frontier": ("memory", "frontier"), "fleet": ("fleet",), "privacy": ("privacy", "convergence")}


def instruments_for(part: Part, metrics: Metrics | None) -> list[Instrument]:
    """The instruments for a part: those its latest run's metrics can draw (or expected)."""
    if metrics is None:
        wanted = EXPECTED.get(part.model, ())
        return [i for i in INSTRUMENTS if i.id in wanted]
    wanted = EXPECTED.get(part.model, ())
    found = [i for i in INSTRUMENTS if i.applies(metrics)]
    # the part's own instrument first (a privacy run also has a GB curve, but is not a fleet part)
    return sorted(found, key=lambda i: (i.id not in wanted, wanted.index(i.id) if i.id in wanted else 0))


def build_chart(instrument: Instrument, part: Part, runs: Sequence[RunView], width: int, height: int,
                nocolor: bool) -> str:
    """plotext's text for an instrument at a size (ANSI colour codes unless ``nocolor``)."""
    import plotext as plt

    plt.clf()
    plt.plotsize(max(width, 10), max(height, 5))
    plt.theme("clear")
    instrument.draw(plt, part, runs, nocolor)
    text = plt.build()
    plt.clf()
    lines = text.splitlines()
    if len(lines) < max(height, 5):  # a bar chart may fit its rows in less: the rest stays blank
        lines += [" " * max(width, 10)] * (max(height, 5) - len(lines))
        return "\n".join(lines)
    return text


def scalar_metrics(metrics: Metrics) -> list[tuple[str, Any]]:
    """Every number a run produced, flattened one level (``memory_mb.total``), for 'Numbers'."""
    rows: list[tuple[str, Any]] = []
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            for sub, inner in value.items():
                if not isinstance(inner, (Mapping, list, tuple)):
                    rows.append((f"{key}.{sub}", inner))
        elif not isinstance(value, (list, tuple)):
            rows.append((key, value))
    return rows
