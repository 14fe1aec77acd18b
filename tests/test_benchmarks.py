"""The benchmark command's plumbing, without running a single real benchmark.

``benchmarks/run.py`` imports every ``benchmarks/bench_*.py``; a bench module whose
``cases()`` breaks, or a table that mislabels a missed budget, would only show up in a
two-minute run. These tests catch both in a second: they check the shape of every
module's cases (without calling them) and drive run.py's measuring and table code with a
trivial case list.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import _timing  # noqa: E402
import run  # noqa: E402

MODULES = sorted(p.stem for p in BENCH.glob("bench_*.py"))


def test_every_bench_module_is_found():
    assert run.bench_modules() == MODULES
    assert {"bench_memory", "bench_personal", "bench_fleet", "bench_privacy", "bench_tui"} <= set(MODULES)


@pytest.mark.parametrize("module_name", MODULES)
def test_cases_are_well_formed(module_name):
    cases = importlib.import_module(module_name).cases()
    assert cases, f"{module_name}.cases() is empty"
    names = [name for name, _, _ in cases]
    assert len(set(names)) == len(names), f"{module_name}: two cases share a name"
    for case in cases:
        assert isinstance(case, tuple) and len(case) == 3, case
        name, function, budget = case
        assert isinstance(name, str) and name.strip()
        assert callable(function)
        assert isinstance(budget, (int, float)) and not isinstance(budget, bool)
        assert math.isfinite(budget) and budget > 0, (name, budget)


def test_time_calls_warms_up_then_repeats():
    calls = []
    samples = _timing.time_calls(lambda: calls.append(1), 5, warmups=2)
    assert len(calls) == 7 and len(samples) == 5
    assert all(s >= 0 for s in samples)


def test_time_calls_stops_a_slow_case_after_its_minimum():
    samples = _timing.time_calls(lambda: None, 50, warmups=0, min_repeats=3, time_limit_s=0.0)
    assert len(samples) == 3


def test_durations_are_printed_in_sensible_units():
    assert _timing.format_seconds(1.234) == "1.23 s"
    assert _timing.format_seconds(0.25) == "250 ms"
    assert _timing.format_seconds(0.0123) == "12.3 ms"
    assert _timing.format_seconds(0.00123) == "1.23 ms"
    assert _timing.format_seconds(0.000123) == "0.123 ms"
    assert run.span(0.0121, 0.0130, "s") == "12.1-13.0 ms"
    assert run.span(0.5, 1.5, "s") == "500 ms-1.50 s"
    assert run.span(70.0, 71.0, "MiB") == "70.0-71.0 MiB"


def _rows(reference: run.Reference | None = None) -> list[run.Row]:
    def fixed(*values):
        return lambda settings: list(values)

    return [
        run.Row("fast things <= 10 ms", "inside", "a", fixed(0.004, 0.005, 0.006), 0.010, reference=reference),
        run.Row("fast things <= 10 ms", "outside", "b", fixed(0.020, 0.030, 0.025), 0.010),
        run.Row("every press < 5 ms", "presses", "c", fixed(0.001, 0.002, 0.009), 0.005, judge="max"),
        run.Row("memory", "a session", "d", fixed(70.0), 80.0, unit="MiB"),
    ]


def test_the_table_marks_each_budget_ok_or_over_and_keeps_the_order():
    run._MEASURED.clear()
    reference = run.Reference("a reference", lambda s: [0.002, 0.002, 0.003], lambda v: f"ref {v * 1e3:.0f} ms")
    results = [run.measure_row(row, run.QUICK) for row in _rows(reference)]
    assert [r.status for r in results] == ["OK", "OVER", "OVER", "OK"]
    assert results[0].value == pytest.approx(0.005)
    assert results[2].value == pytest.approx(0.009)  # judged by its worst press, not its median
    assert results[0].reference == pytest.approx(0.002)

    lines = run.table_rows(results)
    assert lines[0] == ("fast things <= 10 ms",)
    inside = lines[1]
    assert inside[:6] == ("inside", "5.00 ms", "4.00-6.00 ms", "10.0 ms", "0.50", "OK")
    assert inside[6:] == ("ref 2 ms", "2.50")
    assert lines[2][0] == "outside" and lines[2][5] == "OVER" and lines[2][4] == "2.50"
    assert ("every press < 5 ms",) in lines and ("memory",) in lines
    assert lines[-1][:6] == ("a session", "70.0 MiB", "70.0-70.0 MiB", "80.0 MiB", "0.88", "OK")


def test_a_broken_case_is_a_row_marked_error_not_a_lost_table():
    run._MEASURED.clear()

    def broken(settings):
        raise RuntimeError("no terminal\nmore detail")

    result = run.measure_row(run.Row("s", "broken", "broken", broken, 1.0), run.QUICK)
    assert result.status == "ERROR" and result.error == "RuntimeError: no terminal"
    assert run.table_rows([result])[1][5] == "ERROR"


def test_a_budget_can_be_a_share_of_its_reference():
    run._MEASURED.clear()
    one_core = run.Reference("one core", lambda s: [2.0], lambda v: f"{v} s")
    row = run.Row("folder", "two cores", "f", lambda s: [1.1], 0.6, reference=one_core, budget_times_reference=True)
    result = run.measure_row(row, run.QUICK)
    assert result.budget == pytest.approx(1.2) and result.status == "OK"


@pytest.mark.parametrize("markdown", [False, True])
def test_the_report_prints_machine_table_and_summary(markdown):
    run._MEASURED.clear()
    results = [run.measure_row(row, run.QUICK) for row in _rows()]
    text = run.report(results, ["a note"], 1.0, markdown=markdown)
    assert text.startswith("machine: ") and "Python" in text and "numpy" in text
    assert "- a note" in text
    assert "2 over budget or broken: outside; presses" in text
    if markdown:
        assert "| case | median | min-max | budget | ratio |" in text
        assert "| **fast things <= 10 ms** |" in text
    else:
        header = next(line for line in text.splitlines() if line.startswith("case"))
        assert "reference (same run)" in header


def test_the_design_rows_exist_without_measuring_them():
    """Every budget of DESIGN.md section 7 has at least one row (nothing is run here)."""
    rows, _ = run.gather_rows()
    sections = {row.section for row in rows}
    for section in (run.FIRST_SCREEN, run.ONE_RUN, run.CALIBRATED_RUN, run.EPSILON, run.KEYPRESS,
                    run.MEMORY, run.IDLE, run.GRADING):
        assert section in sections, section
    runs = [row for row in rows if row.section == run.ONE_RUN]
    assert len(runs) == 12  # four tracks, three parts
    assert sorted({row.budget for row in runs}) == [run.PART1_BUDGET_S, run.RUN_BUDGET_S]


def test_the_command_line_filters_before_measuring(monkeypatch, capsys):
    measured = []
    trivial = [run.Row("s", "kept", "k", lambda s: measured.append("kept") or [0.001], 1.0),
               run.Row("s", "dropped", "d", lambda s: measured.append("dropped") or [0.001], 1.0)]
    monkeypatch.setattr(run, "gather_rows", lambda: (trivial, []))
    run._MEASURED.clear()
    assert run.main(["--quick", "--only", "kept", "--markdown"]) == 0
    assert measured == ["kept"]
    out = capsys.readouterr().out
    assert "| kept |" in out and "dropped" not in out


def test_a_busy_machine_is_called_out():
    cores = os.cpu_count() or 1
    assert run.busy_warning(0.0, 60.0) is None
    assert run.busy_warning(float("nan"), 60.0) is None
    assert "other processes used 50% of the machine's CPU" in run.busy_warning(30.0 * cores, 60.0)
    assert run.machine_busy_s() > 0 and run.own_cpu_s() > 0


@pytest.mark.parametrize("sessions", ["0", "501", "many"])
def test_a_bad_number_of_sessions_is_refused_before_anything_starts(sessions, capsys):
    with pytest.raises(SystemExit) as exit_:
        run.main(["--sessions", sessions])
    assert exit_.value.code == 2
    assert "--sessions" in capsys.readouterr().err


def test_the_tui_benchmark_runs_without_pytest_or_the_tests_and_pins_blas_threads():
    import subprocess
    import sys

    code = ("import os, sys\nsys.modules['pytest'] = None\nsys.modules['tests'] = None\n"
            "for v in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.pop(v, None)\n"
            "sys.path.insert(0, 'benchmarks')\nimport run, bench_tui\n"
            "print(os.environ['OPENBLAS_NUM_THREADS'], len(bench_tui.cases()))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "4"]
