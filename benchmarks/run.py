"""Every budget of DESIGN.md section 7, measured in one command, beside a reference.

    python benchmarks/run.py              # the whole table, under two minutes on 2 cores
    python benchmarks/run.py --quick      # fewer repeats, about half the time
    python benchmarks/run.py --only part  # only rows whose budget or case name has "part"
    python benchmarks/run.py --markdown   # the same table as Markdown (docs/benchmarks.md)
    python benchmarks/run.py --sessions 20  # 20 games at once: a lab server's memory and CPU

A budget is a number on one machine; a reader on another machine needs to know how fast
that machine is at the same kind of work. So each budget is printed next to a reference
measured in the same run: a bare Textual app's start-up for the first screen (and its
resident memory for the session's), numpy's batched small-matmul rate for simulation runs,
and dp-accounting's RDP accountant for ``epsilon()`` when it is installed. The ratio to the
reference travels between machines far better than the median does.

Every case of every ``benchmarks/bench_*.py`` is run (one warm-up call, then repeats, the
median and the min-max spread); cases that measure a design budget are shown under it,
the others under "components" with their own budgets. The simulation runs are timed
through the game core (``simulate_design``) at each part's largest settings. Exit status
is 0 even when a budget is missed: the row says OVER.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, cache
from pathlib import Path

# One BLAS thread per process, as the game runs (edgequest.cli sets the same before numpy loads).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _folder in (ROOT, BENCH):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from edgequest.cli import pin_blas_threads  # noqa: E402

pin_blas_threads()  # as the edgequest command does, before numpy loads: measure what players run

from _timing import format_seconds, render_table, spread, time_calls  # noqa: E402

# The rows of DESIGN.md section 7, and the two budgets the privacy issue added.
FIRST_SCREEN = "`edgequest` to the first screen <= 0.6 s median"
ONE_RUN = "one run (simulation + score), largest settings: any part <= 250 ms, part 1 <= 50 ms"
CALIBRATED_RUN = "part-3 run with its noise calibration <= 300 ms"
EPSILON = "privacy accountant: epsilon() <= 5 ms a call"
KEYPRESS = "keypress to screen while a run simulates < 50 ms (every press)"
MEMORY = "resident memory of a playing session <= 80 MiB"
IDLE = "idle CPU of a session left open ~0 (<= 20 ms CPU in 4 s)"
GRADING = "grading: one complete save <= 3 s; a folder of saves uses every core"
COMPONENTS = "components: the engine's and the game's own budgets"

RUN_BUDGET_S = 0.250
PART1_BUDGET_S = 0.050
CALIBRATED_BUDGET_S = 0.300
RUN_SEED = 1


@dataclass(frozen=True)
class Settings:
    """How hard to measure: repeats per case and the time a slow case may take."""

    repeats: int = 7
    min_repeats: int = 3
    time_limit_s: float = 1.5
    quick: bool = False

    def scaled(self, full: int, quick: int) -> int:
        return quick if self.quick else full


QUICK = Settings(repeats=3, min_repeats=2, time_limit_s=0.5, quick=True)


@dataclass(frozen=True)
class Reference:
    """A measure of the machine itself, to hold a budget's median against."""

    name: str
    measure: Callable[[Settings], list[float]]
    show: Callable[[float], str]


@dataclass(frozen=True)
class Row:
    """One line of the table: a case measured against a budget.

    ``measure`` returns samples in ``unit`` ("s" wall seconds, "MiB", "cpu" CPU seconds).
    ``judge`` is "median" or "max" (every sample must fit). With ``budget_times_reference``,
    the budget is that many times the reference's median (the folder of saves, whose
    budget is a share of the one-core time).
    """

    section: str
    name: str
    key: str
    measure: Callable[[Settings], list[float]]
    budget: float
    unit: str = "s"
    judge: str = "median"
    reference: Reference | None = None
    budget_times_reference: bool = False


@dataclass
class Result:
    row: Row
    samples: list[float] = field(default_factory=list)
    reference: float | None = None
    error: str | None = None

    @property
    def value(self) -> float:
        if not self.samples:
            return float("nan")
        return max(self.samples) if self.row.judge == "max" else statistics.median(self.samples)

    @property
    def budget(self) -> float:
        if self.row.budget_times_reference:
            return self.row.budget * self.reference if self.reference else float("nan")
        return self.row.budget

    @property
    def status(self) -> str:
        if self.error:
            return "ERROR"
        return "OK" if self.value <= self.budget else "OVER"


def show(value: float, unit: str) -> str:
    if value != value:
        return "-"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit == "cpu":
        return format_seconds(value) + " CPU"
    return format_seconds(value)


def span(low: float, high: float, unit: str) -> str:
    """"low-high" with the unit once when both ends share it: "12.1-13.0 ms"."""
    a, b = show(low, unit), show(high, unit)
    a_number, _, a_unit = a.partition(" ")
    b_number, _, b_unit = b.partition(" ")
    return f"{a_number}-{b}" if a_unit == b_unit else f"{a}-{b}"


# ----------------------------------------------------------------------------- references

_BARE_APP = """
import os, sys
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("bare-textual-ready")

    def on_mount(self):
        self.call_after_refresh(self.done)

    def done(self):
        status = open("/proc/self/status").read()
        kib = next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]
        with open(os.environ["EDGEQUEST_BARE_RSS"], "w") as out:
            out.write(kib)
        self.exit()

Bare().run()
"""


@cache
def _bare_textual(repeats: int) -> tuple[tuple[float, ...], float]:
    """(seconds to the first screen for each start, resident MiB) of a minimal Textual app.

    Started exactly as the game is by the first-screen case (a pseudo-terminal of 80x24,
    ``python -c``), and timed the same way: until its text is on the terminal.
    """
    import bench_tui

    times, rss_kib = [], []
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        os.environ["EDGEQUEST_BARE_RSS"] = str(rss_file)
        try:
            for i in range(repeats + 1):
                app = bench_tui.PtyGame([sys.executable, "-c", _BARE_APP])
                try:
                    seconds = app.wait_for("bare-textual-ready")
                    app.proc.wait(timeout=10)
                finally:
                    app.close()
                if i:  # the first start warms the disk cache, as the game's first does
                    times.append(seconds)
                    rss_kib.append(float(rss_file.read_text()))
        finally:
            os.environ.pop("EDGEQUEST_BARE_RSS", None)
    return tuple(times), statistics.median(rss_kib) / 1024


BARE_START = Reference(
    "bare Textual app",
    lambda s: list(_bare_textual(s.scaled(7, 3))[0]),
    lambda v: f"bare Textual app {format_seconds(v)}",
)
BARE_MEMORY = Reference(
    "bare Textual app",
    lambda s: [_bare_textual(s.scaled(7, 3))[1]],
    lambda v: f"bare Textual app {v:.1f} MiB",
)


def _numpy_seconds_per_gflop(settings: Settings) -> list[float]:
    """Seconds numpy needs for 1 GFLOP of batched float32 matmuls on the fleet engine's shapes."""
    import bench_fleet

    data = bench_fleet._fleet()
    shape = (50, data.n_classes, data.n_features + 1, bench_fleet.BATCH_SIZE)
    return [1.0 / bench_fleet.numpy_batched_matmul_gflops(*shape) for _ in range(settings.scaled(5, 3))]


NUMPY = Reference(
    "numpy batched matmul",
    _numpy_seconds_per_gflop,
    lambda v: f"numpy {1.0 / v:.0f} GFLOP/s",
)


def _dp_accounting_seconds(settings: Settings) -> list[float]:
    """dp-accounting's RdpAccountant on the Abadi et al. MNIST call (q 0.01, sigma 4, 10k steps)."""
    import bench_privacy

    reference = bench_privacy._dp_accounting_epsilon()
    if reference is None:
        return []
    return time_calls(lambda: reference(0.01, 4.0, 10_000), settings.scaled(5, 3))


DP_ACCOUNTING = Reference(
    "dp-accounting",
    _dp_accounting_seconds,
    lambda v: f"dp-accounting {format_seconds(v)}",
)


# ----------------------------------------------------------------------------- simulation runs

def heaviest_design(part) -> dict[str, object]:
    """A part's largest settings: every number at its maximum, every choice at its slowest.

    The slowest choice is found one choice control at a time, each option timed as the
    best of two calls through the game core; an option replaces the current one only when
    it is at least 10% slower, so near-ties keep the mission's default and the design
    timed stays the same from one run of this command to the next.
    """
    from edgequest.game.play import simulate_design

    design: dict[str, object] = {
        c.name: (c.default if c.kind == "choice" else (int(c.max) if c.kind == "int" else float(c.max)))
        for c in part.controls
    }

    def cost(candidate: dict[str, object]) -> float:
        return min(time_calls(lambda: simulate_design(part, candidate, RUN_SEED), 2, warmups=0))

    for control in part.controls:
        if control.kind != "choice":
            continue
        slowest = cost(design)
        for option in control.choices:
            if option == design[control.name]:
                continue
            candidate = {**design, control.name: option}
            seconds = cost(candidate)
            if seconds > 1.1 * slowest:
                design, slowest = candidate, seconds
    return design


_DESIGNS: dict[str, dict[str, object]] = {}


def _run_rows() -> list[Row]:
    from edgequest.campaign import load_campaign
    from edgequest.game.play import simulate_design

    rows = []
    for track, mission in load_campaign().items():
        for part in mission.parts:
            key = f"run {track} {part.number}"

            def measure(settings: Settings, part=part, key=key) -> list[float]:
                design = _DESIGNS.setdefault(key, heaviest_design(part))
                return time_calls(lambda: simulate_design(part, design, RUN_SEED), settings.repeats,
                                  min_repeats=settings.min_repeats, time_limit_s=settings.time_limit_s)

            rows.append(Row(ONE_RUN, f"{track} part {part.number} ({part.model}), largest settings", key, measure,
                            PART1_BUDGET_S if part.number == 1 else RUN_BUDGET_S, reference=NUMPY))
    return rows


# ----------------------------------------------------------------------------- the grading folder

FOLDER_SAVES_PER_CORE = 4
FOLDER_RUNS_PER_PART = 1


@lru_cache(maxsize=1)
def _small_class_folder() -> tuple[Path, int]:
    """A folder of small complete saves (one run a part), four per core, played once through the game."""
    import bench_grading

    missions, _, _ = bench_grading._missions()
    folder = Path(tempfile.mkdtemp(prefix="edgequest-bench-folder-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    count = FOLDER_SAVES_PER_CORE * (os.cpu_count() or 1)
    for i in range(count):
        mission = missions[i % len(missions)]
        game = bench_grading.play_complete(mission, 2000 + i, FOLDER_RUNS_PER_PART)
        bench_grading._write(folder, f"student{i:02d}", mission, game)
    return folder, count


def _grade_folder(jobs: int) -> Callable[[], object]:
    def grade() -> object:
        import bench_grading
        from edgequest.grading.grade import grade_paths

        folder, count = _small_class_folder()
        grades = grade_paths([folder], bench_grading._missions()[1], jobs=jobs)
        assert len(grades) == count and all(g.gradable for g in grades)
        return grades

    return grade


@cache
def _folder_timings(jobs: int, repeats: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Wall seconds grading the folder with ``jobs`` processes and with one, taken in turns.

    Alternating the two puts any load from other processes on both alike, so their ratio
    (the point of this row) is steadier than either time.
    """
    many, one = _grade_folder(jobs), _grade_folder(1)
    one()  # warm-up: the missions' caches, in the parent the workers are forked from
    many_s, one_s = [], []
    for _ in range(repeats):
        many_s += time_calls(many, 1, warmups=0)
        one_s += time_calls(one, 1, warmups=0)
    return tuple(many_s), tuple(one_s)


def _folder_rows() -> list[Row]:
    cores = os.cpu_count() or 1
    one_core = Reference(
        "the same folder on one core",
        lambda s: list(_folder_timings(cores, s.scaled(3, 1))[1]),
        lambda v: f"--jobs 1: {format_seconds(v)}",
    )
    count = FOLDER_SAVES_PER_CORE * cores
    # Every core used means the time on N cores is near 1/N of the time on one; 0.2 more
    # leaves room for the process pool's start-up and for saves of unequal cost (on two
    # cores: a speed-up of at least 1.4).
    share = min(1.0, 1.0 / cores + 0.2)
    return [Row(GRADING, f"folder of {count} saves, --jobs {cores} (budget {share:.2f} x --jobs 1)",
                "grading folder", lambda s: list(_folder_timings(cores, s.scaled(3, 1))[0]),
                share, reference=one_core, budget_times_reference=True)]


# ----------------------------------------------------------------------------- gathering the rows

def bench_modules() -> list[str]:
    """The names of every benchmarks/bench_*.py, in a stable order."""
    return sorted(p.stem for p in BENCH.glob("bench_*.py"))


def _returned(function: Callable[[], float]) -> float:
    """A measure that returns its own value (the TUI's), read even when it reports a miss.

    The TUI bench raises AssertionError over budget; its message starts with the value.
    """
    try:
        return float(function())
    except AssertionError as exc:
        found = re.search(r"\d+(?:\.\d+)?", str(exc))
        if not found:
            raise
        return float(found.group())


def _values(function: Callable[[], float], full: int, quick: int, warmups: int = 1) -> Callable[[Settings], list[float]]:
    def measure(settings: Settings) -> list[float]:
        for _ in range(warmups):
            _returned(function)
        return [_returned(function) for _ in range(settings.scaled(full, quick))]

    return measure


def _wall(function: Callable[[], object], full: int | None = None, quick: int | None = None
          ) -> Callable[[Settings], list[float]]:
    """Wall time of calls; with ``full``/``quick``, exactly that many (a slow end-to-end case)."""
    def measure(settings: Settings) -> list[float]:
        if full is None:
            return time_calls(function, settings.repeats, min_repeats=settings.min_repeats,
                              time_limit_s=settings.time_limit_s)
        return time_calls(function, settings.scaled(full, quick or full))

    return measure


def _close_keypress_app() -> None:
    """Stop the keypress case's app, which put stand-in part models in the registry."""
    import bench_tui

    if bench_tui._BUSY is not None:
        bench_tui._BUSY.close()
        bench_tui._BUSY = None


def gather_rows(modules: Sequence[str] | None = None) -> tuple[list[Row], list[str]]:
    """Every row of the table in the order it is measured and printed, and notes on skipped cases."""
    design: dict[str, list[Row]] = {s: [] for s in (FIRST_SCREEN, ONE_RUN, CALIBRATED_RUN, EPSILON, KEYPRESS,
                                                     MEMORY, IDLE, GRADING)}
    components: list[Row] = []
    notes: list[str] = []
    for module_name in modules if modules is not None else bench_modules():
        module = importlib.import_module(module_name)
        for name, function, budget in module.cases():
            key = f"{module_name}: {name}"
            if module_name == "bench_tui":
                if function is module.first_screen:
                    design[FIRST_SCREEN].append(Row(FIRST_SCREEN, name, key, _values(function, 7, 3), budget,
                                                    reference=BARE_START))
                elif function is module.keypress_while_simulating:
                    design[KEYPRESS].append(Row(KEYPRESS, name, key, _values(function, 15, 7), budget, judge="max"))
                elif function is module.memory_after_part:
                    design[MEMORY].append(Row(MEMORY, "one part played (Pilot, 80x24), fresh process", key,
                                              _values(function, 3, 1, warmups=0), module.MEMORY_BUDGET_MIB,
                                              unit="MiB", reference=BARE_MEMORY))
                elif function is module.idle_cpu:
                    design[IDLE].append(Row(IDLE, "2 s on the Lock + 2 s on the workbench (pty)", key,
                                            _values(function, 2, 1, warmups=0), module.IDLE_CPU_BUDGET_S,
                                            unit="cpu"))
                else:
                    components.append(Row(COMPONENTS, name, key, _wall(function), budget))
            elif module_name == "bench_privacy" and name.startswith("privacy.epsilon"):
                design[EPSILON].append(Row(EPSILON, name, key, _wall(function), budget, reference=DP_ACCOUNTING))
            elif module_name == "bench_grading":
                if function is getattr(module, "grade_one", None):
                    design[GRADING].append(Row(GRADING, name.removeprefix("grading: "), key,
                                               _wall(function, 3, 1), budget))
                else:
                    notes.append(f"not run here (too long for this command; run benchmarks/{module_name}.py): {name}")
            else:
                components.append(Row(COMPONENTS, name, key, _wall(function), budget))
    if design[GRADING]:
        design[GRADING] += _folder_rows()
    else:
        notes.append("no grading benchmark (benchmarks/bench_grading.py) in this checkout")
    design[ONE_RUN] = _run_rows()
    design[CALIBRATED_RUN] = [_slowest_part3_row(design[ONE_RUN])]
    rows = [row for section in design.values() for row in section] + components
    return rows, notes


def _slowest_part3_row(runs: list[Row]) -> Row:
    part3 = [r for r in runs if r.key.endswith(" 3")]

    def measure(settings: Settings) -> list[float]:
        measured = {r.name: _measured(r, settings) for r in part3}
        slowest = max(measured, key=lambda name: statistics.median(measured[name]))
        _SLOWEST.append(slowest)
        return measured[slowest]

    return Row(CALIBRATED_RUN, "the slowest part-3 run (calibration included)", "run slowest part 3", measure,
               CALIBRATED_BUDGET_S, reference=NUMPY)


_MEASURED: dict[str, list[float]] = {}
_SLOWEST: list[str] = []  # which part-3 run the calibration row is
_REFERENCES: dict[str, list[float]] = {}


def _measured(row: Row, settings: Settings) -> list[float]:
    if row.key not in _MEASURED:
        _MEASURED[row.key] = row.measure(settings)
    return _MEASURED[row.key]


def measure_row(row: Row, settings: Settings) -> Result:
    """Measure one row (once; a row shown twice reuses its samples) and its reference."""
    result = Result(row)
    try:
        result.samples = list(_measured(row, settings))
        if row.reference is not None:
            if id(row.reference) not in _REFERENCES:
                _REFERENCES[id(row.reference)] = row.reference.measure(settings)
            ref = _REFERENCES[id(row.reference)]
            result.reference = statistics.median(ref) if ref else None
    except Exception as exc:  # a broken case is a row marked ERROR, not a lost table
        result.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    if row.section == KEYPRESS:
        _close_keypress_app()
    return result


# ----------------------------------------------------------------------------- the table

HEADERS = ("case", "median", "min-max", "budget", "ratio", "", "reference (same run)", "x ref")


def table_rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    """The table's lines: a heading per budget, then one line per case."""
    lines: list[tuple[str, ...]] = []
    section = None
    for r in results:
        if r.row.section != section:
            section = r.row.section
            lines.append((section,))
        unit = r.row.unit
        if r.error:
            lines.append((r.row.name, "-", "-", show(r.budget, unit), "-", "ERROR", r.error, "-"))
            continue
        low, high = spread(r.samples) if r.samples else (float("nan"), float("nan"))
        value = show(r.value, unit) + (" (max)" if r.row.judge == "max" else "")
        if r.reference is not None and r.row.reference is not None:
            reference, times = r.row.reference.show(r.reference), f"{r.value / r.reference:.2f}"
        elif r.row.reference is not None:
            reference, times = f"{r.row.reference.name}: not available", "-"
        else:
            reference, times = "", ""
        lines.append((r.row.name, value, span(low, high, unit),
                      show(r.budget, unit), f"{r.value / r.budget:.2f}", r.status, reference, times))
    return lines


def machine() -> str:
    """One line naming what was measured on: the numbers mean nothing without it."""
    from importlib import metadata

    cpu = platform.processor() or "?"
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    versions = []
    for package in ("numpy", "textual", "dp-accounting"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    return (f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, " + ", ".join(versions))


def machine_busy_s() -> float:
    """CPU seconds every process on the machine has used since boot (from /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process and of the children it has waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def busy_warning(others_cpu_s: float, elapsed_s: float) -> str | None:
    """A warning when other processes shared the cores: the medians are then too high.

    numpy's BLAS threads make it worse than the share suggests: with one of two cores
    taken, a simulation run can take half as long again, and its spread widens.
    """
    share = others_cpu_s / (elapsed_s * (os.cpu_count() or 1)) if elapsed_s > 0 else 0.0
    if not share >= 0.05:  # also quiet when /proc/stat could not be read (NaN)
        return None
    return (f"warning: other processes used {100 * share:.0f}% of the machine's CPU during this run, so "
            "medians may be high and spreads wide; run again on an idle machine")


def report(results: Sequence[Result], notes: Sequence[str], elapsed_s: float, markdown: bool,
           others_cpu_s: float = 0.0) -> str:
    body = render_table(HEADERS, table_rows(results), markdown=markdown, right=(1, 2, 3, 4, 7))
    designs = [f"{key.removeprefix('run ').replace(' ', ' part ', 1)}: "
               + ", ".join(f"{k}={v}" for k, v in design.items()) for key, design in _DESIGNS.items()]
    over = [r for r in results if r.status != "OK"]
    lines = [f"machine: {machine()}", "", body, ""]
    if designs:
        lines += ["largest settings timed (numbers at their maximum, choices at their slowest):"]
        lines += [f"- {d}" for d in designs] + [""]
    lines += [f"- the slowest part-3 run is {name}" for name in _SLOWEST[-1:]]
    lines += [f"- {n}" for n in notes]
    warning = busy_warning(others_cpu_s, elapsed_s)
    if warning:
        lines += [warning]
    lines += [f"{len(results)} rows in {elapsed_s:.0f} s; "
              + (f"{len(over)} over budget or broken: " + "; ".join(r.row.name for r in over) if over
                 else "every row within budget")]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- a lab server

def _prepared_saves(save_dir: Path, sessions: int) -> list[tuple[str, str]]:
    """(player, track) of ``sessions`` saves that resume on part 2's workbench.

    Part 1 is done and part 2's Lock answered, so a session opens straight on the
    workbench whose default design is the heaviest of the game (part 2 defaults to its
    largest fleet): the worst case for a class pressing Run at once.
    """
    from edgequest.campaign import load_campaign
    from edgequest.game.play import Game
    from edgequest.saves.store import SaveSlot

    def answer(lock):
        if lock.kind == "choice":
            return lock.choices[0]
        return lock.min if lock.min is not None else 1

    campaign = load_campaign()
    tracks = sorted(campaign)
    players = []
    for i in range(sessions):
        track, player = tracks[i % len(tracks)], f"student{i:02d}"
        mission = campaign[track]
        game = Game(mission, seed=100 + i)
        game.answer_lock(1, answer(mission.parts[0].lock))
        game.run(1, {})
        game.commit(1)
        game.reflect(1, "The committed design is the one that met the most of the SPEC in one run.")
        game.answer_lock(2, answer(mission.parts[1].lock))
        with SaveSlot.open(save_dir, player, mission.id) as slot:
            slot.write(mission.id, mission.sha256, game.record)
        players.append((player, track))
    return players


def _process_memory_mib(pid: int) -> tuple[float, float, float]:
    """(resident, proportional, private) MiB of a process, from /proc.

    Resident counts shared pages (the Python binary, numpy's libraries) in every process;
    proportional (PSS) divides them among the processes that share them, so PSS summed
    over the sessions is what they cost the server together; private is what each adds.
    """
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            fields[name] = float(rest.split()[0])
    private = fields.get("Private_Clean", 0.0) + fields.get("Private_Dirty", 0.0)
    return fields.get("Rss", 0.0) / 1024, fields.get("Pss", 0.0) / 1024, private / 1024


def _available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return float(line.split()[1]) / 1024
    return float("nan")


def _arrivals(games: list, text: str, since: float) -> list[float]:
    """Seconds from ``since`` until ``text`` reached each game's screen, watched side by side."""
    from concurrent.futures import ThreadPoolExecutor

    def arrival(game) -> float:
        game.wait_for(text, timeout=300)
        return time.perf_counter() - since

    with ThreadPoolExecutor(max_workers=len(games)) as pool:
        return list(pool.map(arrival, games))


def lab_server(sessions: int, idle_s: float = 10.0) -> str:
    """Start ``sessions`` real games in pseudo-terminals, as students on one server would.

    Measures, for the instructors' guide: each session's memory (resident, proportional,
    private) on the workbench before and after a run; the CPU all of them use together
    while left idle; and how long the last of them waits when every one presses Run at
    the same moment (a class told "go").
    """
    import bench_tui

    lines = [f"machine: {machine()}", f"{sessions} sessions of `edgequest`, each in its own 80x24 pseudo-terminal"]
    with tempfile.TemporaryDirectory(prefix="edgequest-lab-") as tmp:
        save_dir = Path(tmp) / "saves"
        players = _prepared_saves(save_dir, sessions)
        before_mib = _available_mib()
        games = []
        try:
            starts = []
            for player, track in players:
                game = bench_tui.PtyGame([sys.executable, "-m", "edgequest", "--player", player, "--save-dir",
                                          str(save_dir), "--track", track])
                games.append(game)
                starts.append(game.wait_for("Run 0/", timeout=120))
            time.sleep(2.0)
            on_bench = [_process_memory_mib(g.proc.pid) for g in games]
            together_mib = before_mib - _available_mib()
            cpu_before = [g.cpu_seconds() for g in games]
            time.sleep(idle_s)
            idle_cpu_s = sum(g.cpu_seconds() - c for g, c in zip(games, cpu_before))
            cpu_before = [g.cpu_seconds() for g in games]
            pressed = time.perf_counter()
            for game in games:
                game.send("r")
            waits = _arrivals(games, "last: run 1", pressed)
            run_cpu_s = [g.cpu_seconds() - c for g, c in zip(games, cpu_before)]
            time.sleep(1.0)
            after_run = [_process_memory_mib(g.proc.pid) for g in games]
            together_after_mib = before_mib - _available_mib()
        finally:
            for game in games:
                game.close()

    def column(values: list[tuple[float, float, float]], i: int) -> str:
        picked = [v[i] for v in values]
        return f"{statistics.median(picked):.1f} ({min(picked):.1f}-{max(picked):.1f})"

    rows = [
        ("resident (RSS), MiB", column(on_bench, 0), column(after_run, 0)),
        ("proportional (PSS), MiB", column(on_bench, 1), column(after_run, 1)),
        ("private, MiB", column(on_bench, 2), column(after_run, 2)),
    ]
    lines += ["", "per session, median (min-max):", "",
              render_table(("memory", "on the workbench", "after one run"), rows, right=(1, 2)), ""]
    lines += [
        f"all {sessions} together: PSS summed {sum(v[1] for v in on_bench):.0f} MiB on the workbench, "
        f"{sum(v[1] for v in after_run):.0f} MiB after a run; the server's available memory fell by "
        f"{together_mib:.0f} MiB, then {together_after_mib:.0f} MiB",
        f"start-up to the workbench: median {format_seconds(statistics.median(starts))} (one at a time)",
        f"idle: {format_seconds(idle_cpu_s)} CPU for all {sessions} sessions over {idle_s:.0f} s "
        f"({100 * idle_cpu_s / idle_s / (os.cpu_count() or 1):.2f}% of the machine)",
        f"all press Run at once (part 2 at its default, largest fleet): one run costs "
        f"{format_seconds(statistics.median(run_cpu_s))} CPU; the first result after {format_seconds(min(waits))}, "
        f"the median {format_seconds(statistics.median(waits))}, the last {format_seconds(max(waits))}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure every budget of DESIGN.md section 7 on this machine.")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a rougher table, about half the time)")
    parser.add_argument("--only", metavar="SUBSTRING", help="only rows whose budget or case name contains this")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--sessions", type=int, metavar="N",
                        help="instead of the table: run N games at once, as on a lab server, and report "
                             "their memory, idle CPU and waits (the instructors' guide's figures)")
    args = parser.parse_args(argv)
    if args.sessions is not None:
        if not 1 <= args.sessions <= 500:
            parser.error(f"--sessions {args.sessions}: give a number of sessions from 1 to 500")
        print(lab_server(args.sessions))
        return 0
    settings = QUICK if args.quick else Settings()

    started, busy_before, own_before = time.perf_counter(), machine_busy_s(), own_cpu_s()
    rows, notes = gather_rows()
    if args.only:
        wanted = args.only.lower()
        rows = [r for r in rows if wanted in r.name.lower() or wanted in r.section.lower()]
    results = []
    progress = sys.stderr.isatty()  # a person watching gets a progress line; logs stay clean
    for i, row in enumerate(rows, 1):
        if progress:
            sys.stderr.write(f"\r\x1b[K[{i}/{len(rows)}] {row.name[:60]}")
            sys.stderr.flush()
        results.append(measure_row(row, settings))
    if progress:
        sys.stderr.write("\r\x1b[K")
    _close_keypress_app()
    others_cpu_s = (machine_busy_s() - busy_before) - (own_cpu_s() - own_before)
    print(report(results, notes, time.perf_counter() - started, args.markdown, others_cpu_s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
