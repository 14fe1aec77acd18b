"""One save's grade, re-derived by replay; a save that cannot be trusted is "not gradable".

:func:`grade_file` never raises and never writes to the terminal: a grader looping over
hundreds of saves must get a verdict for each, with the reason (what was wrong, where)
when there is no grade. The verdict is plain data (frozen dataclasses of numbers and
text), so it crosses process boundaries and serialises without surprises.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from edgequest import __version__
from edgequest.campaign.schema import Part
from edgequest.jsonplain import plain
from edgequest.errors import EdgeQuestError, MissionError, SaveError
from edgequest.game import scoring
from edgequest.game.play import Game, Phase, RunOutcome
from edgequest.grading.forensics import Fingerprint, Flag, fingerprint, lock_flags, timing_flags
from edgequest.grading.library import MissionResolver
from edgequest.grading.replay import replay_record
from edgequest.saves.store import SaveData, parse_save, read_save_bytes

PASSED = "passed"
FAILED = "failed"
NOT_GRADABLE = "not gradable"


@dataclass(frozen=True)
class RunLine:
    """One replayed run: its controls, the part's metric, its SPEC checks and its score."""

    run: int  # 1-based, as players count
    controls: Mapping[str, Any]
    metric: float | None
    checks_passed: int
    checks_total: int
    points: float  # the design's own score out of 100 (SPEC and margin)
    checks: tuple[Mapping[str, Any], ...] = ()
    metrics: Mapping[str, Any] | None = None  # every metric, kept only for ``replay --json``
    repeat_of: int | None = None  # 1-based run this one repeats (old saves only); it spent no run

    def to_dict(self, detail: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "run": self.run,
            "controls": dict(self.controls),
            "metric": self.metric,
            "spec_passed": self.checks_passed,
            "spec_total": self.checks_total,
            "score": round(self.points, 4),
            "spec": [dict(c) for c in self.checks],
        }
        if self.repeat_of is not None:
            data["repeat_of_run"] = self.repeat_of
        if detail and self.metrics is not None:
            data["metrics"] = dict(self.metrics)
        return data


@dataclass(frozen=True)
class PartGrade:
    """One part's grade: points out of 100, how they were earned, and every run."""

    number: int
    title: str
    status: str  # passed | failed | not gradable
    phase: str
    points: float
    components: Mapping[str, float]
    budget: int
    runs: tuple[RunLine, ...]
    committed: int | None  # 1-based run number
    metric_name: str
    metric_goal: str
    metric_value: float | None  # of the committed design
    lock: Mapping[str, Any]
    stakeholder: str
    reflection: str | None
    reason: str | None = None

    @property
    def runs_used(self) -> int:
        """Runs that spent the budget, as the game counts them (an old save's repeats are free)."""
        return sum(r.repeat_of is None for r in self.runs)

    def to_dict(self, detail: bool = False) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "status": self.status,
            "reason": self.reason,
            "phase": self.phase,
            "points": round(self.points, 4),
            "components": {k: round(v, 4) for k, v in self.components.items()},
            "lock": dict(self.lock),
            "budget": self.budget,
            "runs_used": self.runs_used,
            "committed_run": self.committed,
            "metric": {"name": self.metric_name, "goal": self.metric_goal, "value": self.metric_value},
            "runs": [r.to_dict(detail) for r in self.runs],
            "stakeholder": self.stakeholder,
            "reflection": self.reflection,
        }


@dataclass(frozen=True)
class Lateness:
    """When the work was submitted, against which deadline, and any penalty that follows."""

    submitted_at: str | None
    submitted_source: str
    deadline: str | None = None
    deadline_source: str | None = None
    late: bool | None = None  # None when there is no deadline
    hours_late: float = 0.0
    penalty_percent: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "submitted_at": self.submitted_at,
            "submitted_source": self.submitted_source,
            "deadline": self.deadline,
            "deadline_source": self.deadline_source,
            "late": self.late,
            "hours_late": round(self.hours_late, 2),
            "penalty_percent": round(self.penalty_percent, 2),
        }


@dataclass(frozen=True)
class SaveGrade:
    """A save's verdict. ``total`` is the mean of the parts' points (out of 100)."""

    source: str
    gradable: bool
    reason: str | None
    save_sha256: str | None = None
    player: str | None = None
    track: str | None = None
    mission_name: str | None = None
    mission_sha256: str | None = None
    save_edgequest_version: str | None = None
    format_version: int | None = None
    created: str | None = None
    updated: str | None = None
    seed: int | None = None
    parts: tuple[PartGrade, ...] = ()
    total: float = 0.0
    finished: bool = False
    ledger: str | None = None
    lateness: Lateness | None = field(default=None)
    flags: tuple[Flag, ...] = ()  # forensics: what an instructor should look at (never scored)
    fingerprint: Fingerprint | None = None  # for comparing saves across players
    signed: bool = False  # carries a valid signature by the key the grader was given

    @property
    def status(self) -> str:
        return "graded" if self.gradable else NOT_GRADABLE

    @property
    def score(self) -> float:
        """``total`` after a late penalty, if the instructor configured one."""
        penalty = self.lateness.penalty_percent if self.lateness else 0.0
        return self.total * (1.0 - penalty / 100.0)

    def with_lateness(self, lateness: Lateness) -> "SaveGrade":
        return replace(self, lateness=lateness)

    def with_flags(self, flags: Sequence[Flag]) -> "SaveGrade":
        return replace(self, flags=self.flags + tuple(flags))

    def to_dict(self, detail: bool = False) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status,
            "reason": self.reason,
            "player": self.player,
            "track": self.track,
            "mission": {"id": self.track, "name": self.mission_name, "sha256": self.mission_sha256},
            "save_sha256": self.save_sha256,
            "save_edgequest_version": self.save_edgequest_version,
            "graded_by_edgequest_version": __version__,
            "format_version": self.format_version,
            "created": self.created,
            "updated": self.updated,
            "seed": self.seed,
            "score": round(self.score, 4),
            "total_before_penalty": round(self.total, 4),
            "lateness": self.lateness.to_dict() if self.lateness else None,
            "finished": self.finished,
            "parts": [p.to_dict(detail) for p in self.parts],
            "ledger": self.ledger,
            "signed": self.signed,
            "record_sha256": self.fingerprint.record_sha256 if self.fingerprint else None,
            "flags": [f.to_dict() for f in self.flags],
        }


@dataclass(frozen=True)
class Signing:
    """The grader's signature policy: the lab server's key, and whether a signature is required."""

    key: bytes | None = None
    required: bool = False


#: No key and no signature required: the grader's policy unless told otherwise.
NO_SIGNING = Signing()


# ------------------------------------------------------------------ grading


def grade_file(path: Path, library: MissionResolver, detail: bool = False, signing: Signing = NO_SIGNING) -> SaveGrade:
    """The grade of the save at ``path``; never raises, never prints.

    ``detail`` keeps every run's full metrics (for ``edgequest replay --json``).
    """
    source = str(path)
    try:
        with _quiet():
            raw = read_save_bytes(Path(path))
            return grade_bytes(raw, source, library, detail, signing)
    except SaveError as exc:
        return not_gradable(source, str(exc))
    except Exception as exc:  # a grader must answer for every save, even one that finds a bug
        return not_gradable(source, _internal(exc))


def grade_bytes(
    raw: bytes, source: str, library: MissionResolver, detail: bool = False, signing: Signing = NO_SIGNING
) -> SaveGrade:
    """The grade of a save's bytes; never raises."""
    sha = hashlib.sha256(raw).hexdigest()
    try:
        with _quiet():
            save = parse_save(raw, source)
            return grade_save(save, source, sha, library, detail, signing)
    except SaveError as exc:
        return not_gradable(source, str(exc), sha)
    except Exception as exc:
        return not_gradable(source, _internal(exc), sha)


def grade_save(
    save: SaveData, source: str, save_sha256: str | None, library: MissionResolver, detail: bool = False,
    signing: Signing = NO_SIGNING,
) -> SaveGrade:
    """Grade a parsed save: find its mission version, replay, score each part."""
    base = SaveGrade(
        source=source, gradable=False, reason=None, save_sha256=save_sha256, player=save.player,
        track=save.mission_id, mission_sha256=save.mission_sha256,
        save_edgequest_version=save.edgequest_version, format_version=save.format_version,
        created=save.created, updated=save.updated, seed=save.record.seed, ledger=save.record.ledger,
        fingerprint=fingerprint(save.player, save.record),
    )
    if signing.key is not None:
        unsigned = save.signature is None
        problem = save.signature_problem(signing.key)
        if problem is not None and (signing.required or not unsigned):
            return replace(base, reason=f"{source}: signature: {problem}")
        base = replace(base, signed=problem is None)
    elif signing.required:
        return replace(base, reason=f"{source}: signature: a signature is required but the grader has no key")
    sha = save.mission_sha256
    try:
        mission = library(sha)
    except MissionError as exc:
        return replace(base, reason=(
            f"{source}: mission.sha256: the kept mission version {sha[:12]} of track {save.mission_id!r} "
            f"no longer loads ({exc.problems[0] if exc.problems else exc})"
        ))
    if mission is None:
        return replace(base, reason=(
            f"{source}: mission.sha256: no kept version of track {save.mission_id!r} has hash {sha[:12]}...; "
            "the save was played on a mission file that was never released (missions/released/), "
            "or the save was edited"
        ))
    if mission.id != save.mission_id:
        return replace(base, reason=(
            f"{source}: mission: the file with hash {sha[:12]}... is track {mission.id!r}, "
            f"but the save says {save.mission_id!r}"
        ))
    replay = replay_record(mission, save.record)
    game = replay.game
    parts = tuple(
        _part_grade(game, part, replay.part_problems.get(part.number), detail) for part in mission.parts
    )
    problems = [f"{source}: {replay.part_problems[n]}" for n in sorted(replay.part_problems)]
    problems += [f"{source}: {p}" for p in replay.save_problems]
    total = sum(p.points for p in parts) / len(parts)
    flags = lock_flags(source, [(p.number, p.lock) for p in parts]) + timing_flags(source, save.record)
    return replace(
        base, gradable=not problems, reason=problems[0] if problems else None, mission_name=mission.name,
        parts=parts, total=total, finished=game.finished and not problems, flags=tuple(flags),
    )


def not_gradable(source: str, reason: str, save_sha256: str | None = None) -> SaveGrade:
    return SaveGrade(source=source, gradable=False, reason=reason, save_sha256=save_sha256)


def _part_grade(game: Game, part: Part, problem: str | None, detail: bool) -> PartGrade:
    number = part.number
    outcomes = game.outcomes(number)
    runs = tuple(_run_line(part, o, detail) for o in outcomes)
    rec = game.record.parts.get(number)
    phase = game.phase(number)
    lock: dict[str, Any] = {"question": _lock_question(game, part), "unit": part.lock.unit,
                            "answer": rec.lock if rec else None}
    if problem is None and phase in (Phase.REFLECT, Phase.DONE):
        reveal = game.reveal(number)
        lock.update(truth=plain(reveal.truth), closeness=round(reveal.closeness, 4))
    base: dict[str, Any] = dict(
        number=number, title=part.title, phase=phase.value, budget=part.budget, runs=runs,
        metric_name=part.optimise.metric, metric_goal=part.optimise.goal, lock=lock,
        stakeholder=part.stakeholder, reflection=rec.reflection if rec else None,
    )
    if problem is not None:
        return PartGrade(status=NOT_GRADABLE, points=0.0, components=_zero_components(), committed=None,
                         metric_value=None, reason=problem, **base)
    score = game.score(number)
    committed = game.committed(number)
    status = PASSED if phase is Phase.DONE and committed is not None and committed.passed else FAILED
    return PartGrade(
        status=status, points=score.points,
        components={k: v for k, v in score.to_dict().items() if k != "points"},
        committed=committed.index + 1 if committed else None,
        metric_value=_metric(part, committed) if committed else None, **base,
    )


def _lock_question(game: Game, part: Part) -> str:
    """The question as the player saw it (the track's numbers filled in), if the model says."""
    try:
        return game.lock_question(part.number)
    except EdgeQuestError:
        return part.lock.question


def _run_line(part: Part, outcome: RunOutcome, detail: bool) -> RunLine:
    return RunLine(
        run=outcome.index + 1,
        controls={k: plain(v) for k, v in outcome.controls.items()},
        metric=_metric(part, outcome),
        checks_passed=sum(c.passed for c in outcome.checks),
        checks_total=len(outcome.checks),
        points=float(outcome.points),
        checks=tuple(plain(c.to_dict()) for c in outcome.checks),
        metrics=plain(dict(outcome.metrics)) if detail else None,
        repeat_of=None if outcome.repeat_of is None else outcome.repeat_of + 1,
    )


def _metric(part: Part, outcome: RunOutcome) -> float | None:
    value = scoring.metric_value(outcome.metrics, part.optimise.metric)
    return value if value is not None and math.isfinite(value) else None


def _zero_components() -> dict[str, float]:
    return {k: 0.0 for k in ("lock", "spec", "runs", "margin", "reflection")}


def _internal(exc: BaseException) -> str:
    if isinstance(exc, EdgeQuestError):
        return str(exc)
    return f"internal error while grading ({type(exc).__name__}: {str(exc)[:200]}); please report it"


@contextmanager
def _quiet() -> Iterator[None]:
    """No warning reaches stderr while a save is graded (GitHub Classroom fails on stderr)."""
    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield
