"""Grade many saves across processes, with a progress bar on a terminal only.

Replaying is CPU-bound numpy work, so a class folder is shared among ``jobs`` worker
processes (default: every core). On Linux the workers are forked: they inherit the
imported engine and the registered part models, and start in milliseconds instead of
re-importing numpy. Each save is one task and results come back in the order given, so
the results file does not depend on ``jobs``. The workers ignore Ctrl-C; the parent
cancels what is left.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Sequence, TextIO

from edgequest.grading.library import MissionResolver
from edgequest.grading.verdict import SaveGrade, NO_SIGNING, Signing, grade_file, not_gradable


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


def grade_all(
    paths: Sequence[Path], library: MissionResolver, jobs: int | None = None, progress: TextIO | None = None,
    signing: Signing = NO_SIGNING,
) -> list[SaveGrade]:
    """The verdict of every save in ``paths``, in order. ``progress``: a terminal to draw on."""
    jobs = default_jobs() if jobs is None else jobs
    bar = _ProgressBar(len(paths), progress) if progress is not None and paths else None
    if jobs <= 1 or len(paths) <= 1:
        grades = []
        for path in paths:
            grades.append(grade_file(path, library, False, signing))
            if bar:
                bar.step()
        if bar:
            bar.done()
        return grades
    results: list[SaveGrade | None] = [None] * len(paths)
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(paths)), mp_context=_context(), initializer=_ignore_interrupts
    ) as pool:
        pending: dict[Future[SaveGrade], int] = {
            pool.submit(grade_file, path, library, False, signing): i for i, path in enumerate(paths)
        }
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    results[i] = _result(future, paths[i])
                    if bar:
                        bar.step()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    if bar:
        bar.done()
    return [r for r in results if r is not None]


def _result(future: Future[SaveGrade], path: Path) -> SaveGrade:
    try:
        return future.result()
    except Exception as exc:  # the worker died (out of memory, killed): say so, keep going
        return not_gradable(str(path), f"{path}: the grading process stopped unexpectedly ({type(exc).__name__})")


def _context() -> multiprocessing.context.BaseContext:
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _ProgressBar:
    """``grading  12/50 [#####.............]`` redrawn in place; cleared when done."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO):
        self.total = total
        self.count = 0
        self.stream = stream
        self._draw()

    def step(self) -> None:
        self.count += 1
        self._draw()

    def _draw(self) -> None:
        filled = self.WIDTH * self.count // max(self.total, 1)
        line = f"grading {self.count:>{len(str(self.total))}}/{self.total} [{'#' * filled}{'.' * (self.WIDTH - filled)}]"
        self._write("\r" + line)

    def done(self) -> None:
        self._write("\r" + " " * (self.WIDTH + 20 + 2 * len(str(self.total))) + "\r")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass
