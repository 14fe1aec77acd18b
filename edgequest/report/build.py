"""A save's lab report as plain data: every sentence and number, ready for HTML or Markdown.

Nothing is taken from the save but the player's moves. The save is graded by the
grader's own path (:func:`edgequest.grading.verdict.grade_file`, which replays every move
through the game core), so the report's runs, SPEC verdicts, reveal and score are the
ones an instructor's grade is made of. A save the grader would not grade gets no report:
:class:`~edgequest.errors.EdgeQuestError` carries the grader's reason.

Both renderers (:mod:`edgequest.report.render`) lay out these same strings, so the HTML
and the Markdown report say the same thing; only the charts differ in form (SVG in HTML,
plotext's text in Markdown), both drawn by the workbench's instruments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from edgequest import __version__
from edgequest.campaign.schema import Mission, Part
from edgequest.errors import EdgeQuestError
from edgequest.grading.library import MissionLibrary
from edgequest.game.play import Phase
from edgequest.grading.verdict import PASSED, PartGrade, RunLine, SaveGrade, grade_file
from edgequest.tui import numbers as fmt
from edgequest.tui import stepping
from edgequest.tui.instruments import Instrument, RunView, instruments_for

COMPONENTS = (("lock", "Lock"), ("spec", "SPEC"), ("runs", "Thrift"), ("margin", "Margin"),
              ("reflection", "Reflection"))


@dataclass(frozen=True)
class Chart:
    """One instrument over a part's runs, the committed run drawn last (highlighted)."""

    instrument: Instrument
    part: Part
    runs: tuple[RunView, ...]
    title: str
    caption: str


@dataclass(frozen=True)
class RunRow:
    run: int
    committed: bool
    controls: str
    metric: str
    spec: str
    points: str


@dataclass(frozen=True)
class SpecLine:
    passed: bool
    verdict: str  # "✓ PASS" / "✗ FAIL", so the meaning survives without colour
    label: str
    value: str
    threshold: str


@dataclass(frozen=True)
class ComponentRow:
    name: str
    share: str  # of the component, e.g. "80%"
    points: str  # earned, e.g. "8.0 of 10"


@dataclass(frozen=True)
class PartReport:
    number: int
    title: str
    objective: str
    status: str
    lock_question: str
    lock_answer: str
    lock_truth: str
    lock_closeness: str
    explain: str
    metric_name: str
    runs: tuple[RunRow, ...]
    budget: int
    committed: int | None
    design: tuple[tuple[str, str], ...]
    spec: tuple[SpecLine, ...]
    stakeholder: str
    reflect_prompt: str
    reflection: str | None
    components: tuple[ComponentRow, ...]
    points: str
    charts: tuple[Chart, ...] = field(default=())


@dataclass(frozen=True)
class Report:
    player: str
    track: str
    mission_name: str
    persona: str
    device: str
    crisis: str
    north_star: str
    seed: int
    mission_sha256: str
    save_sha256: str
    save_version: str
    updated: str
    finished: bool
    total: str
    parts: tuple[PartReport, ...]
    ledger_prompt: str
    ledger: str | None
    source: str
    version: str = __version__

    @property
    def title(self) -> str:
        return f"EdgeQuest lab report: {self.player}, {self.mission_name}"


def build_report(path: Path, library: MissionLibrary | None = None) -> Report:
    """Replay the save at ``path`` the grader's way and gather its report.

    Raises :class:`EdgeQuestError` with the grader's reason when the save cannot be trusted.
    """
    library = library or MissionLibrary()
    grade = grade_file(Path(path), library, detail=True)
    if not grade.gradable:
        raise EdgeQuestError(grade.reason or f"{path}: cannot be replayed")
    mission = library(grade.mission_sha256 or "")
    if mission is None:  # grade_file found it a moment ago; only a vanished file gets here
        raise EdgeQuestError(f"{path}: the save's mission version can no longer be found")
    return report_of(grade, mission)


def report_of(grade: SaveGrade, mission: Mission) -> Report:
    parts = tuple(_part_report(mission.part(p.number), p) for p in grade.parts)
    return Report(
        player=grade.player or "?", track=mission.id, mission_name=mission.name, persona=mission.persona,
        device=mission.device_name, crisis=mission.crisis, north_star=mission.north_star,
        seed=grade.seed or 0, mission_sha256=grade.mission_sha256 or "", save_sha256=grade.save_sha256 or "",
        save_version=grade.save_edgequest_version or "?", updated=grade.updated or "?",
        finished=grade.finished, total=f"{grade.score:.1f}", parts=parts,
        ledger_prompt=mission.ledger_prompt, ledger=grade.ledger, source=grade.source,
    )


def _part_report(part: Part, grade: PartGrade) -> PartReport:
    lock = grade.lock
    unit = str(lock.get("unit") or "")
    closeness = lock.get("closeness")
    committed = next((r for r in grade.runs if r.run == grade.committed), None)
    weights = part.weights
    components = tuple(
        ComponentRow(name=label, share=f"{grade.components.get(key, 0.0):.0%}",
                     points=f"{100 * getattr(weights, key) * grade.components.get(key, 0.0) / weights.total:.1f} "
                            f"of {100 * getattr(weights, key) / weights.total:.0f}")
        for key, label in COMPONENTS
    )
    return PartReport(
        number=part.number, title=part.title, objective=part.objective, status=_status(grade),
        lock_question=str(lock.get("question") or part.lock.question),
        lock_answer=_answer(lock.get("answer"), unit),
        lock_truth=_answer(lock["truth"], unit) if "truth" in lock else "revealed when a design is committed",
        lock_closeness=_closeness(closeness),
        explain=part.lock.explain if "truth" in lock else "",
        metric_name=part.optimise.metric,
        runs=tuple(_run_row(part, run, run.run == grade.committed) for run in grade.runs),
        budget=grade.budget, committed=grade.committed,
        design=tuple(_design(part, committed.controls)) if committed else (),
        spec=tuple(_spec_lines(part, committed)) if committed else (),
        stakeholder=part.stakeholder, reflect_prompt=part.reflect_prompt, reflection=grade.reflection,
        components=components, points=f"{grade.points:.1f}", charts=tuple(_charts(part, grade.runs, committed)),
    )


def _status(grade: PartGrade) -> str:
    if grade.status == PASSED:
        return "✓ finished, the whole SPEC met"
    if grade.phase != Phase.DONE.value:
        return "not finished"
    return "✗ finished, the SPEC not met"


def _answer(value: Any, unit: str) -> str:
    return "no prediction" if value is None else fmt.number(value, unit)


def _closeness(closeness: Any) -> str:
    if closeness is None:
        return "—"
    word = "✓ spot on" if closeness >= 1 else ("~ close" if closeness > 0 else "✗ far off")
    return f"{word} ({closeness:.0%} of the Lock's points)"


def _run_row(part: Part, run: RunLine, committed: bool) -> RunRow:
    return RunRow(
        run=run.run, committed=committed,
        controls=", ".join(f"{label} {value}" for label, value in _design(part, run.controls)),
        metric=fmt.number(run.metric), spec=f"{run.checks_passed}/{run.checks_total}", points=f"{run.points:.1f}",
    )


def _design(part: Part, controls: Mapping[str, Any]) -> list[tuple[str, str]]:
    known = {c.name: c for c in part.controls}
    rows = []
    for name, value in controls.items():
        control = known.get(name)
        if control is None:
            rows.append((name, str(value)))
        else:
            shown = stepping.shown(control, value)
            rows.append((control.label, f"{shown} {control.unit}".strip() if control.unit else shown))
    return rows


def _spec_lines(part: Part, run: RunLine) -> list[SpecLine]:
    lines = []
    for i, check in enumerate(run.checks):
        unit = part.spec[i].unit if i < len(part.spec) else ""
        role = " (guardrail)" if check.get("role") == "guardrail" else ""
        lines.append(SpecLine(
            passed=bool(check.get("pass")), verdict=fmt.verdict(bool(check.get("pass"))),
            label=f"{check.get('label')}{role}", value=fmt.number(check.get("value"), unit),
            threshold=f"{fmt.op_symbol(str(check.get('op')))} {fmt.number(check.get('target'), unit)}",
        ))
    return lines


def _charts(part: Part, runs: Sequence[RunLine], committed: RunLine | None) -> list[Chart]:
    views = [RunView(r.run, r.controls, r.metrics or {}) for r in runs if r is not committed]
    if committed is not None:
        views.append(RunView(committed.run, committed.controls, committed.metrics or {}))
    if not views:
        return []
    shown = "the committed run" if committed is not None else "the latest run"
    charts = []
    for instrument in instruments_for(part, views[-1].metrics):
        try:
            caption = instrument.caption(part, views)
        except (KeyError, TypeError, ValueError):  # a caption that needs a metric this run lacks
            caption = ""
        title = f"{instrument.title} (run {views[-1].number}, {shown}, highlighted)"
        charts.append(Chart(instrument=instrument, part=part, runs=tuple(views), title=title, caption=caption))
    return charts
