"""Grades in the shapes graders read: Gradescope ``results.json``, plain JSON, CSV, text.

Gradescope (https://gradescope-autograders.readthedocs.io/en/latest/specs/): the top-level
``score`` is the counted save's score out of 100 (after any late penalty); one
``tests[]`` entry per part, worth ``100 / parts`` points (rounded to cents, the last part
taking the spare cents so they sum to exactly 100), with the run-by-run table in Markdown;
``extra_data`` carries the versions and hashes an instructor needs to regrade, and
forensic flags also go into a hidden test (``"visibility": "hidden"``: instructors only).
A student plays one track; when a submission holds several saves, each is listed in the
output and the one that counts is the best *gradable* save of the submitting student
(matched by player name, see :func:`counted_save`); the output says which and why.
Scores are rounded to 2 decimals for people, 4 in JSON. Student text reaches Markdown
only through :func:`_md_text`, which leaves no link, image or raw HTML.
"""

from __future__ import annotations

import csv
import io
import re
import textwrap
from typing import Any, Iterable, Sequence

from edgequest import __version__, jsonplain
from edgequest.grading.verdict import NOT_GRADABLE, PASSED, PartGrade, SaveGrade

RESULTS_FORMAT = "edgequest-grades"
RESULTS_FORMAT_VERSION = 1


def dumps(data: Any) -> str:
    return jsonplain.dumps(data)


# ------------------------------------------------------------------ Gradescope


def counted_save(grades: Sequence[SaveGrade], submitters: Sequence[str] = ()) -> tuple[SaveGrade | None, str]:
    """The save a submission's score comes from, and why that one.

    Only the submitting students' saves are candidates when the metadata names them and
    any save's player matches (case aside); among candidates, a gradable save beats any
    save that is not, then the higher score, then the first listed.
    """
    if not grades:
        return None, ""
    wanted = {s.lower() for s in submitters}
    mine = [g for g in grades if g.player and g.player.lower() in wanted]
    pool = mine or list(grades)
    best = max(pool, key=lambda g: (g.gradable, g.score, -pool.index(g)))
    kind = "gradable save" if best.gradable else "save (none is gradable)"
    if mine:
        whose = f"of player `{_md_code(best.player or '')}`, the submitting student"
    elif wanted:
        whose = (f"of player `{_md_code(best.player or '?')}`: **no save's player matches the submitting "
                 f"student** ({_md_text(', '.join(sorted(wanted)))}); your instructor will check")
    else:
        whose = "in the submission (no submission metadata names the student)"
    which = "only" if len(grades) == 1 else "best"
    return best, f"Counted: `{_md_code(best.source)}`, the {which} {kind} {whose}."


def gradescope_results(
    grades: Sequence[SaveGrade], execution_time_s: float = 0.0, notes: Iterable[str] = (),
    submitters: Sequence[str] = (),
) -> dict[str, Any]:
    counted, why = counted_save(grades, submitters)
    notes = list(notes)
    if counted is None:
        output = ("No EdgeQuest save was found in the submission. Submit your save file, "
                  "`saves/<player>__<track>.json` where you played.")
        return _gradescope(0.0, execution_time_s, _with_notes(output, notes), [_no_save_test(output)], {})
    others = [g for g in grades if g is not counted]
    output = _with_notes(save_summary_md(counted, others) + "\n\n" + why, notes)
    if counted.parts:
        tests = [_part_test(part, share) for part, share in zip(counted.parts, shares(len(counted.parts)))]
    else:
        tests = [_no_save_test(f"**Not gradable**: {_md_text(counted.reason or 'unknown reason')}")]
    flagged = [(g, f) for g in grades for f in g.flags]
    if flagged:
        tests.append({"name": "Forensics (instructors only)", "number": "F", "score": 0.0, "max_score": 0.0,
                      "visibility": "hidden", "output_format": "md",
                      "output": "\n".join(f"- `{_md_code(g.source)}`: {_md_text(f.text())}" for g, f in flagged)})
    extra = {
        "edgequest_version": __version__,
        "save_edgequest_version": counted.save_edgequest_version,
        "track": counted.track,
        "player": counted.player,
        "mission_sha256": counted.mission_sha256,
        "save_sha256": counted.save_sha256,
        "status": counted.status,
        "reason": counted.reason,
        "total_before_penalty": round(counted.total, 4),
        "lateness": counted.lateness.to_dict() if counted.lateness else None,
        "counted": counted.source,
        "counted_because": why,
        "submitters": sorted(submitters),
        "saves": [{"source": g.source, "player": g.player, "status": g.status, "score": round(g.score, 4),
                   "save_sha256": g.save_sha256, "signed": g.signed, "flags": [f.to_dict() for f in g.flags]}
                  for g in grades],
    }
    return _gradescope(counted.score, execution_time_s, output, tests, extra)


def _gradescope(score: float, seconds: float, output: str, tests: list[dict[str, Any]],
                extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "score": round(score, 2),
        "execution_time": max(0, round(seconds)),
        "output": output,
        "output_format": "md",
        "test_output_format": "md",
        "tests": tests,
        "extra_data": extra,
    }


def _no_save_test(output: str) -> dict[str, Any]:
    return {"name": "Save", "number": "0", "score": 0.0, "max_score": 100.0, "status": "failed",
            "output": output, "output_format": "md"}


def shares(parts: int) -> list[float]:
    """Each part's points out of 100, in whole cents summing to exactly 100 (the last ones take the spare cents)."""
    base, spare = divmod(10_000, parts)
    return [(base + (i >= parts - spare)) / 100 for i in range(parts)]


def _part_test(part: PartGrade, share: float) -> dict[str, Any]:
    return {
        "name": f"Part {part.number}: {part.title}",
        "number": str(part.number),
        "score": round(part.points * share / 100.0, 2),
        "max_score": share,
        "status": "passed" if part.status == PASSED else "failed",
        "output": part_markdown(part),
        "output_format": "md",
    }


def _with_notes(output: str, notes: list[str]) -> str:
    if not notes:
        return output
    return output + "\n\n**Notes**\n\n" + "\n".join(f"- {_md_text(n)}" for n in notes)


def save_summary_md(grade: SaveGrade, others: Sequence[SaveGrade] = ()) -> str:
    """The submission-wide Markdown: who, which mission version, the score, lateness, Ledger."""
    lines = []
    if grade.track:
        lines.append(f"**EdgeQuest** — track `{grade.track}` ({_md_text(grade.mission_name or 'unknown mission')}), "
                     f"player `{grade.player}`.")
    if grade.gradable:
        lines.append(f"**Score: {grade.score:.2f} / 100**, re-derived by replaying every recorded move.")
    else:
        lines.append(f"**Not gradable**: {_md_text(grade.reason or 'unknown reason')}")
        if grade.parts:
            lines.append(f"Parts that did replay earn their points: {grade.score:.2f} / 100.")
    late = grade.lateness
    if late and late.late is not None:
        if late.late:
            penalty = f"; penalty {late.penalty_percent:g}%" if late.penalty_percent else ""
            lines.append(f"Submitted {late.hours_late:.1f} hours after the deadline{penalty} "
                         f"(submitted {late.submitted_at}, from {late.submitted_source}).")
        else:
            lines.append(f"Submitted on time ({late.submitted_at}).")
    if grade.parts and not grade.finished:
        lines.append("The campaign is not finished: parts not played score what their moves earned.")
    if grade.ledger:
        lines.append("**Ledger**\n\n" + _quote(grade.ledger))
    if grade.mission_sha256:
        lines.append(f"Mission version `{grade.mission_sha256[:12]}`, save `{(grade.save_sha256 or '')[:12]}`, "
                     f"graded by EdgeQuest {__version__}.")
    for other in others:
        what = f"{other.score:.2f} / 100" if other.gradable else f"not gradable: {_md_text(other.reason or '')}"
        lines.append(f"Also submitted: `{_md_code(other.source)}` ({what}).")
    return "\n\n".join(lines)


def part_markdown(part: PartGrade) -> str:
    """One part, for a Gradescope test's output: the Lock, the run table, how points were earned."""
    lines = []
    if part.status == NOT_GRADABLE:
        lines.append(f"**Not gradable**: {_md_text(part.reason or '')}")
    lock = part.lock
    answer = _fmt(lock.get("answer"), part_unit(lock))
    if "truth" in lock:
        lines.append(f"**Lock**: {_md_text(lock['question'])} You answered {answer}; the engine's answer is "
                     f"{_fmt(lock['truth'], part_unit(lock))} (closeness {lock['closeness']:.2f}).")
    elif lock.get("answer") is not None:
        lines.append(f"**Lock**: {_md_text(lock['question'])} You answered {answer}.")
    else:
        lines.append(f"**Lock**: not answered yet (phase: {part.phase}).")
    if part.runs:
        metric = _md_text(part.metric_name)
        table = [f"| run | controls | {metric} ({part.metric_goal}) | SPEC | run score |",
                 "|---:|---|---:|:---:|---:|"]
        for run in part.runs:
            mark = " ★" if part.committed == run.run else ""
            controls = ", ".join(f"{k}={_fmt(v)}" for k, v in run.controls.items())
            if run.repeat_of is not None:
                controls = f"(repeats run {run.repeat_of}) " + controls
            table.append(f"| {run.run}{mark} | {_md_text(controls)} | {_fmt(run.metric)} | "
                         f"{run.checks_passed}/{run.checks_total} | {run.points:.1f} |")
        lines.append("\n".join(table))
        lines.append(f"{part.runs_used} of {part.budget} runs used."
                     + (f" Committed: run {part.committed} (★)." if part.committed else " No design committed."))
    if part.status != NOT_GRADABLE:
        c = part.components
        lines.append(f"Points: lock {c['lock']:.2f} · SPEC {c['spec']:.2f} · runs {c['runs']:.2f} · "
                     f"margin {c['margin']:.2f} · reflection {c['reflection']:.2f} → **{part.points:.1f} / 100**.")
    if part.reflection:
        lines.append(f"**Reflection** (to {_md_text(part.stakeholder)}):\n\n" + _quote(part.reflection))
    return "\n\n".join(lines)


def part_unit(lock: dict[str, Any] | Any) -> str:
    return lock.get("unit", "") if isinstance(lock, dict) else ""


# ------------------------------------------------------------------ plain JSON and CSV


def json_results(grades: Sequence[SaveGrade], notes: Iterable[str] = ()) -> dict[str, Any]:
    return {
        "format": RESULTS_FORMAT,
        "format_version": RESULTS_FORMAT_VERSION,
        "edgequest_version": __version__,
        "notes": list(notes),
        "summary": {
            "saves": len(grades),
            "graded": sum(g.gradable for g in grades),
            "not_gradable": sum(not g.gradable for g in grades),
            "flagged": sum(bool(g.flags) for g in grades),
        },
        "saves": [g.to_dict() for g in grades],
    }


def csv_results(grades: Sequence[SaveGrade]) -> str:
    """One row per save, for a gradebook. Text cells that a spreadsheet would run as a
    formula (starting with ``=``, ``+``, ``-`` or ``@``) are prefixed with a quote."""
    parts = max((len(g.parts) for g in grades), default=3) or 3
    header = ["source", "player", "track", "status", "reason", "score", "total_before_penalty"]
    header += [f"part_{n}" for n in range(1, parts + 1)]
    header += ["finished", "late", "hours_late", "penalty_percent", "submitted_at", "deadline",
               "mission_sha256", "save_sha256", "save_edgequest_version", "graded_by_edgequest_version", "signed",
               "flags"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for g in grades:
        late = g.lateness
        points = [f"{p.points:.2f}" for p in g.parts] + [""] * (parts - len(g.parts))
        row = [g.source, g.player or "", g.track or "", g.status, g.reason or "", f"{g.score:.2f}", f"{g.total:.2f}",
               *points, _yes_no(g.finished) if g.parts else "",
               "" if late is None or late.late is None else _yes_no(late.late),
               "" if late is None or late.late is None else f"{late.hours_late:.2f}",
               "" if late is None else f"{late.penalty_percent:g}",
               (late.submitted_at or "") if late else "", (late.deadline or "") if late else "",
               g.mission_sha256 or "", g.save_sha256 or "", g.save_edgequest_version or "", __version__,
               _yes_no(g.signed), "; ".join(f.text() for f in g.flags)]
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


# Spreadsheets skip leading blanks and control characters before reading "=": so must we.
_LEADING = re.compile(r"^[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\u2060\ufeff]+")


def _cell(value: str) -> str:
    value = value.replace("\r", " ").replace("\n", " ")
    lead = _LEADING.sub("", value)
    risky = lead[:1] in ("=", "+", "-", "@") or (value[:1] != lead[:1] and value[:1] not in ("", " "))
    return "'" + value if risky else value


# ------------------------------------------------------------------ text (edgequest replay)


def replay_text(grade: SaveGrade, width: int = 80) -> str:
    """A save replayed, part by part, for a terminal (fits ``width`` columns)."""
    lines = [
        f"{grade.player} on {grade.track} ({grade.mission_name}), seed {grade.seed}",
        f"mission version {grade.mission_sha256[:12] if grade.mission_sha256 else '?'}, "
        f"saved by EdgeQuest {grade.save_edgequest_version}",
        f"last saved {grade.updated}",
    ]
    for part in grade.parts:
        lines.append("")
        score = "not gradable" if part.status == NOT_GRADABLE else f"{part.points:5.1f} / 100"
        title = f"Part {part.number}: {part.title}"
        lines.append(f"{title[: width - 18]:<{width - 16}}{score:>16}")
        if part.reason:
            lines.append(f"  not gradable: {part.reason}")
        lock, unit = part.lock, part_unit(part.lock)
        if lock.get("answer") is None:
            lines.append(f"  Lock: not answered ({part.phase})")
        elif "truth" in lock:
            lines.append(f"  Lock: answered {_fmt(lock['answer'], unit)}, truth {_fmt(lock['truth'], unit)}, "
                         f"closeness {lock['closeness']:.2f}")
        else:
            lines.append(f"  Lock: answered {_fmt(lock['answer'], unit)}")
        if part.runs:
            lines.append(f"   run  score  SPEC  {part.metric_name[:16]:>16}  controls")
            for run in part.runs:
                mark = "*" if part.committed == run.run else " "
                head = (f"  {mark}{run.run:>3}  {run.points:5.1f}  {run.checks_passed:>2}/{run.checks_total:<2}"
                        f"{_fmt(run.metric):>17}  ")
                controls = " ".join(f"{k}={_fmt(v)}" for k, v in run.controls.items())
                if run.repeat_of is not None:
                    controls = f"(repeats run {run.repeat_of}; spent no run) " + controls
                folded = textwrap.wrap(controls, width=width - len(head), break_on_hyphens=False) or [""]
                lines.append(head + folded[0])
                lines.extend(" " * len(head) + more for more in folded[1:])
        if part.status != NOT_GRADABLE:
            c = part.components
            committed = f"committed run {part.committed}" if part.committed else "nothing committed"
            lines.append(f"  {committed}: lock {c['lock']:.2f}, SPEC {c['spec']:.2f}, runs {c['runs']:.2f}, "
                         f"margin {c['margin']:.2f}, reflection {c['reflection']:.2f}")
        if part.reflection:
            prefix = f"  reflection ({len(part.reflection)} characters): "
            lines.append(prefix + _one_line(part.reflection, width - len(prefix) - 2))
    lines.append("")
    if grade.ledger:
        prefix = f"Ledger ({len(grade.ledger)} characters): "
        lines.append(prefix + _one_line(grade.ledger, width - len(prefix) - 2))
    for flag in grade.flags:
        lines.append(f"flag {flag.text()}")
    verdict = f"total {grade.total:.1f} / 100" + ("" if grade.finished else " (campaign not finished)")
    lines.append(verdict if grade.gradable else f"{verdict}; not gradable: {grade.reason}")
    return "\n".join(_wrap(line, width) for line in lines)


def _wrap(line: str, width: int) -> str:
    """A long line folded under its own indent, so the text fits an 80-column terminal."""
    if len(line) <= width:
        return line
    indent = " " * (len(line) - len(line.lstrip()))
    return "\n".join(textwrap.wrap(line, width=width, subsequent_indent=indent + "    ",
                                   break_on_hyphens=False))


# ------------------------------------------------------------------ small helpers


def _fmt(value: Any, unit: str = "") -> str:
    """A number as a person reads it: 158,200 rather than 1.582e+05; 4 significant digits below 1,000."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        text = str(value)
    elif value != 0 and (abs(value) >= 1e15 or abs(value) < 1e-3):
        text = f"{value:.3e}"
    elif abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif isinstance(value, int):
        text = str(value)
    else:
        text = f"{value:.4g}"
    return f"{text} {unit}".rstrip()


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return '"' + (flat if len(flat) <= width else flat[: width - 1] + "…") + '"'


def _md_text(text: str) -> str:
    """Text safe inside Markdown prose and table cells: no table breaks, no raw HTML, no links or images.

    ``[`` and ``]`` are escaped, so ``[text](url)``, ``![alt](url)`` and ``[ref]: url`` stay
    text; a zero-width space after ``:`` in ``://`` and after ``www`` keeps a bare address
    from being turned into a link.
    """
    text = (str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("[", "\\[").replace("]", "\\]").replace("\r", " ").replace("\n", " "))
    return _BARE_LINK.sub(lambda m: m.group(0)[:-1] + "\u200b" + m.group(0)[-1], text)


_BARE_LINK = re.compile(r"(?i)(?::/|\bwww\.)")


def _md_code(text: str) -> str:
    return str(text).replace("`", "'")


def _quote(text: str) -> str:
    return "\n".join("> " + _md_text(line) if line.strip() else ">" for line in text.splitlines())
