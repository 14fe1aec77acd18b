"""``edgequest grade SAVE_OR_DIR ... [--results FILE] [--format gradescope|json|csv] [--jobs N]``.

Every save named (or found in a folder named) is replayed and graded; a results file is
always written, with a save that cannot be trusted marked "not gradable" and the reason.
Forensic flags (:mod:`edgequest.grading.forensics`) go into every format and the summary.
Exit status 0 when the results were written, 2 on a usage error (a bad option, a results
path that cannot be written or that lies among the saves being graded, a signing key that
cannot be read); stderr stays empty on success, because GitHub Classroom
fails a step that writes to it. The progress bar goes to stderr only when stderr is a
terminal.

:func:`grade_paths` is the same pipeline without the command line, for callers (and
tests) that bring their own mission library.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from edgequest.errors import EdgeQuestError, SaveError
from edgequest.grading.collect import collect_saves
from edgequest.grading.forensics import cross_flags
from edgequest.grading.formats import csv_results, dumps, gradescope_results, json_results
from edgequest.grading.lateness import LatePolicy, late_policy
from edgequest.grading.library import MissionLibrary, MissionResolver
from edgequest.grading.pool import default_jobs, grade_all
from edgequest.grading.verdict import SaveGrade, NO_SIGNING, Signing
from edgequest.saves.signing import read_key
from edgequest.saves.store import write_atomic

FORMATS = ("gradescope", "json", "csv")


def grade_command(args: argparse.Namespace) -> int:
    fmt = getattr(args, "format", None) or "gradescope"
    if fmt not in FORMATS:
        raise EdgeQuestError(f"--format {fmt!r} is not accepted; expected one of {', '.join(FORMATS)}")
    jobs = getattr(args, "jobs", None)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise EdgeQuestError(f"--jobs {jobs!r} is not accepted; expected a whole number of processes, 1 or more")
    cores = default_jobs()
    if jobs is not None and jobs > cores:
        print(f"--jobs {jobs} is more than the {cores} core(s) here; using {cores}")
        jobs = cores
    results_path = args.results if args.results is not None else Path("results.csv" if fmt == "csv" else "results.json")
    # An explicit --results may not go among the saves being graded; the default name is
    # left out of the collection instead, so that ``edgequest grade .`` keeps working.
    check_results_path(results_path, list(args.paths) if args.results is not None else [])
    signing = signing_policy(getattr(args, "signing_key", None), bool(getattr(args, "require_signature", False)))
    metadata_path = getattr(args, "submission_metadata", None)
    policy = late_policy(metadata_path, getattr(args, "deadline", None), os.environ)
    progress = sys.stderr if _is_terminal(sys.stderr) else None
    started = time.perf_counter()
    grades = grade_paths(
        list(args.paths), MissionLibrary(), jobs=jobs, policy=policy, progress=progress,
        exclude=[p for p in (results_path, metadata_path) if p is not None], signing=signing,
    )
    payload = render(fmt, grades, time.perf_counter() - started, policy.notes, policy.submitters)
    try:
        write_atomic(results_path, payload)
    except OSError as exc:
        raise EdgeQuestError(f"--results {results_path}: cannot be written ({exc.strerror or exc})") from None
    graded = sum(g.gradable for g in grades)
    print(f"graded {len(grades)} save(s): {graded} gradable, {len(grades) - graded} not gradable; "
          f"results in {results_path}")
    flagged = [g for g in grades if g.flags]
    if flagged:
        print(f"forensic flags on {len(flagged)} save(s) (never scored; see docs/instructors.md):")
        for grade in flagged:
            for flag in grade.flags:
                print(f"  {grade.source}: {flag.text()}")
    if getattr(args, "histogram", False):
        from edgequest.grading.histogram import draw_histograms, use_color

        width = min(120, max(40, _terminal_width()))
        print()
        print(draw_histograms(grades, width=width, color=use_color(_is_terminal(sys.stdout))))
    return 0


def grade_paths(
    paths: Sequence[Path],
    library: MissionResolver,
    *,
    jobs: int | None = None,
    policy: LatePolicy | None = None,
    progress: Any = None,
    exclude: Sequence[Path] = (),
    signing: Signing = NO_SIGNING,
) -> list[SaveGrade]:
    """Collect the saves under ``paths``, grade them (in ``jobs`` processes), add lateness and forensics."""
    saves = collect_saves(paths, exclude=exclude)
    grades = grade_all(saves, library, jobs=jobs, progress=progress, signing=signing)
    policy = policy or LatePolicy()
    flags = cross_flags([(g.source, g.fingerprint) for g in grades])
    return [g.with_lateness(policy.lateness(g.updated)).with_flags(flags.get(i, ())) for i, g in enumerate(grades)]


def render(fmt: str, grades: Sequence[SaveGrade], seconds: float = 0.0, notes: Sequence[str] = (),
           submitters: Sequence[str] = ()) -> bytes:
    """The results file's bytes in ``fmt``."""
    if fmt == "csv":
        return csv_results(grades).encode("utf-8")
    if fmt == "json":
        return (dumps(json_results(grades, notes)) + "\n").encode("utf-8")
    return (dumps(gradescope_results(grades, seconds, notes, submitters)) + "\n").encode("utf-8")


def signing_policy(key_path: Path | None, required: bool) -> Signing:
    """``--signing-key`` and ``--require-signature`` as the grader uses them (bad ones: exit 2)."""
    if required and key_path is None:
        raise EdgeQuestError("--require-signature needs --signing-key FILE (the lab server's key)")
    if key_path is None:
        return Signing()
    try:
        return Signing(key=read_key(Path(key_path), "--signing-key"), required=required)
    except SaveError as exc:
        raise EdgeQuestError(str(exc)) from None


def check_results_path(path: Path, graded: Sequence[Path] = ()) -> None:
    """A usage error now, rather than after grading a whole class, if results cannot go there.

    Results never go over a save being graded, nor anywhere inside a folder being graded
    (a results file there would replace a student's save of the same name, or be read
    as one by the next run).
    """
    if path.is_dir():
        raise EdgeQuestError(f"--results {path}: is a folder; give a file name, e.g. {path / 'results.json'}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise EdgeQuestError(f"--results {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise EdgeQuestError(f"--results {path}: the folder {folder} is not writable")
    target = _real(path)
    for given in graded:
        where = _real(given)
        if target == where:
            raise EdgeQuestError(f"--results {path}: is one of the saves being graded; write the results elsewhere")
        if given.is_dir() and not given.is_symlink() and where in target.parents:
            raise EdgeQuestError(f"--results {path}: lies inside {given}, a folder being graded; "
                                 "write the results outside it")


def _real(path: Path) -> Path:
    """Where ``path`` really is (its folder resolved; a final link is not followed)."""
    absolute = Path(path).absolute()
    try:
        if absolute.name in ("", ".", "..") or (absolute.is_dir() and not absolute.is_symlink()):
            return absolute.resolve()
        return absolute.parent.resolve() / absolute.name
    except OSError:
        return Path(path).absolute()


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _terminal_width(environ: Mapping[str, str] = os.environ) -> int:
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        try:
            return int(environ.get("COLUMNS", "80"))
        except ValueError:
            return 80
