"""The campaign of one track as a state machine: the game's rules in one place.

    part n: LOCKED -> LOCK -> RUNS -> REFLECT -> DONE      (then part n+1 opens)
    after the last part: the Ledger

- LOCKED: an earlier part is not done yet.
- LOCK: the briefing is open; the workbench stays shut until a prediction is locked in.
- RUNS: up to the part's budget of runs; ``commit`` picks the design to stand by, which
  reveals the Lock's truth. A run's numbers depend on the design alone (see
  :mod:`edgequest.game.draws`), so running a design again is refused: it would spend a
  run and show the same numbers.
- REFLECT: a reflection to the part's stakeholder closes the part.

Every action checks the rules and raises :class:`~edgequest.errors.GameError` with a
reason when they are broken. The TUI, ``edgequest simulate`` and the grader all drive
this class, and :meth:`Game.replay` rebuilds a game from its record by calling the same
methods, so a replay equals the play by construction.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from edgequest.campaign.schema import Mission, Part, Scalar
from edgequest.errors import ControlError, GameError, ShortReflection
from edgequest.game import scoring
from edgequest.game.draws import canonical_design, design_generator, truth_generator
from edgequest.game.ledger import STRATEGIES, ledger_text
from edgequest.game.record import MAX_TEXT_CHARS, PartRecord, Record


class Phase(str, enum.Enum):
    LOCKED = "locked"
    LOCK = "lock"
    RUNS = "runs"
    REFLECT = "reflect"
    DONE = "done"


@dataclass(frozen=True)
class RunOutcome:
    """A simulated run: its controls (defaults filled in), metrics, SPEC checks, score."""

    part: int
    index: int
    controls: Mapping[str, Scalar]
    metrics: Mapping[str, Any]
    checks: tuple[scoring.CheckResult, ...]
    spec: float
    margin: float
    points: float
    repeat_of: int | None = None  # an old save's run of a design already run: that run's index

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "part": self.part,
            "run": self.index + 1,
            "controls": dict(self.controls),
            "metrics": dict(self.metrics),
            "spec": [c.to_dict() for c in self.checks],
            "score": round(self.points, 4),
            "score_detail": {"spec": round(self.spec, 4), "margin": round(self.margin, 4)},
        }
        if self.repeat_of is not None:
            data["repeat_of_run"] = self.repeat_of + 1
        return data


@dataclass(frozen=True)
class Reveal:
    """The Lock's prediction beside the engine's truth."""

    question: str
    answer: Scalar | None
    truth: Scalar
    closeness: float
    unit: str
    explain: str


def simulate_design(part: Part, controls: Mapping[str, Any], seed: int | None = None, *,
                    earlier: Mapping[int, Mapping[str, Any]] | None = None) -> RunOutcome:
    """Simulate one set of controls for a part, outside any game (``edgequest simulate``).

    Without ``seed`` the run draws exactly what it draws in every student's game. A
    ``seed`` explores another draw of the same design (an instructor's look at how much
    the outcome varies); no game ever uses one. ``earlier`` holds the metrics of designs
    committed in earlier parts, which some parts build on (part 2 sends part 1's update
    over the air); without it, the mission's own figures stand in.
    """
    values = resolve_controls(part, controls)
    return _simulate(part, values, design_generator(part, values, seed), 0, earlier or {})


def resolve_controls(part: Part, given: Mapping[str, Any]) -> dict[str, Scalar]:
    """Every control of the part, given values checked and defaults filled in."""
    known = {c.name for c in part.controls}
    for name in given:
        if name not in known:
            raise ControlError(
                f"part {part.number} has no control {name!r}; its controls are " + ", ".join(sorted(known))
            )
    return {c.name: (c.coerce(given[c.name]) if c.name in given else c.default) for c in part.controls}


def _simulate(part: Part, controls: Mapping[str, Scalar], rng: np.random.Generator, index: int,
              earlier: Mapping[int, Mapping[str, Any]]) -> RunOutcome:
    from edgequest.simulators.registry import model_for

    model = model_for(part)
    if model.reads_earlier:
        metrics = model.simulate(part, controls, rng, earlier=earlier)
    else:
        metrics = model.simulate(part, controls, rng)
    checks = scoring.check_spec(part, metrics)
    spec, margin = scoring.design_components(part, metrics, checks)
    return RunOutcome(
        part=part.number, index=index, controls=dict(controls), metrics=metrics, checks=checks,
        spec=spec, margin=margin, points=scoring.design_points(part, spec, margin),
    )


class Game:
    """One player's campaign on one track."""

    def __init__(self, mission: Mission, seed: int):
        self.mission = mission
        self.record = Record(track=mission.id, seed=seed)
        self._outcomes: dict[int, list[RunOutcome]] = {p.number: [] for p in mission.parts}
        self._designs: dict[int, dict[str, int]] = {p.number: {} for p in mission.parts}  # design -> first run
        self._truths: dict[int, Scalar] = {}

    # ----------------------------------------------------------------- reading state

    @property
    def seed(self) -> int:
        return self.record.seed

    @property
    def part_numbers(self) -> list[int]:
        return [p.number for p in self.mission.parts]

    def part(self, number: int) -> Part:
        try:
            return self.mission.part(number)
        except ControlError as exc:
            raise GameError(str(exc)) from None

    def phase(self, number: int) -> Phase:
        self.part(number)
        for earlier in self.part_numbers:
            if earlier == number:
                break
            if self._phase_of(earlier) is not Phase.DONE:
                return Phase.LOCKED
        return self._phase_of(number)

    def _phase_of(self, number: int) -> Phase:
        rec = self.record.parts.get(number)
        if rec is None or rec.lock is None:
            return Phase.LOCK
        if rec.commit is None:
            return Phase.RUNS
        if rec.reflection is None:
            return Phase.REFLECT
        return Phase.DONE

    @property
    def current_part(self) -> int | None:
        """The first part not yet done, or None when every part is."""
        for number in self.part_numbers:
            if self._phase_of(number) is not Phase.DONE:
                return number
        return None

    @property
    def ledger_open(self) -> bool:
        return self.current_part is None

    @property
    def finished(self) -> bool:
        return self.ledger_open and self.record.ledger is not None

    def outcomes(self, number: int) -> list[RunOutcome]:
        self.part(number)
        return list(self._outcomes[number])

    def runs_used(self, number: int) -> int:
        """Runs that spent the budget: each distinct design once (an old save's repeats are free)."""
        self.part(number)
        return sum(o.repeat_of is None for o in self._outcomes[number])

    def runs_left(self, number: int) -> int:
        return self.part(number).budget - self.runs_used(number)

    def committed(self, number: int) -> RunOutcome | None:
        rec = self.record.parts.get(number)
        if rec is None or rec.commit is None:
            return None
        return self._outcomes[number][rec.commit]

    def earlier_designs(self, number: int) -> dict[int, Mapping[str, Any]]:
        """Metrics of the designs committed in the parts before ``number``."""
        designs: dict[int, Mapping[str, Any]] = {}
        for earlier in self.part_numbers:
            if earlier >= number:
                break
            outcome = self.committed(earlier)
            if outcome is not None:
                designs[earlier] = outcome.metrics
        return designs

    def truth(self, number: int) -> Scalar:
        """The Lock's answer, computed by the engine from the track's numbers."""
        if number not in self._truths:
            from edgequest.simulators.registry import model_for

            part = self.part(number)
            truth = model_for(part).truths[part.lock.truth](part, truth_generator(part))
            self._truths[number] = truth
        return self._truths[number]

    def lock_question(self, number: int) -> str:
        """The Lock's question, with this track's numbers filled in."""
        from edgequest.simulators.registry import model_for

        part = self.part(number)
        return model_for(part).lock_question(part)

    def reveal(self, number: int) -> Reveal:
        if self.phase(number) not in (Phase.REFLECT, Phase.DONE):
            raise GameError(f"part {number}: the truth is revealed after you commit a design")
        part = self.part(number)
        answer = self.record.parts[number].lock
        truth = self.truth(number)
        return Reveal(
            question=self.lock_question(number), answer=answer, truth=truth,
            closeness=scoring.lock_closeness(part.lock, answer, truth),
            unit=part.lock.unit, explain=part.lock.explain,
        )

    def score(self, number: int) -> scoring.PartScore:
        part = self.part(number)
        rec = self.record.parts.get(number, PartRecord())
        committed = self.committed(number)
        done = self._phase_of(number) in (Phase.REFLECT, Phase.DONE)
        return scoring.part_score(
            part,
            lock_answer=rec.lock,
            truth=self.truth(number) if done else None,
            runs_used=self.runs_used(number),
            committed=(committed.metrics, committed.checks) if committed else None,
            reflection=rec.reflection,
        )

    def total_points(self) -> float:
        """Mean of the parts' points, out of 100."""
        return sum(self.score(n).points for n in self.part_numbers) / len(self.part_numbers)

    # ----------------------------------------------------------------- actions

    def _require(self, number: int, phase: Phase, doing: str) -> Part:
        part = self.part(number)
        now = self.phase(number)
        if now is not phase:
            raise GameError(f"part {number}: cannot {doing} now; {_WHY[now]}")
        return part

    def answer_lock(self, number: int, answer: object) -> Scalar:
        part = self._require(number, Phase.LOCK, "lock a prediction")
        value = part.lock.coerce(answer)
        self.record.part(number).lock = value
        return value

    def run(self, number: int, controls: Mapping[str, Any] | None = None) -> RunOutcome:
        """Simulate a design and spend a run on it; a design already run is refused."""
        return self._run(number, controls, repeats_allowed=False)

    def _run(self, number: int, controls: Mapping[str, Any] | None, *, repeats_allowed: bool) -> RunOutcome:
        part = self._require(number, Phase.RUNS, "run")
        values = resolve_controls(part, controls or {})
        design = canonical_design(values)
        index = len(self._outcomes[number])
        first = self._designs[number].get(design)
        if first is not None:
            if not repeats_allowed:
                raise GameError(
                    f"part {number}: you ran this design as run {first + 1}; the same design gives the "
                    f"same numbers every time, so no run is spent on it. Change a control, or commit "
                    f"run {first + 1}"
                )
            outcome = dataclasses.replace(self._outcomes[number][first], index=index, repeat_of=first)
        else:
            if self.runs_left(number) <= 0:
                raise GameError(f"part {number}: all {part.budget} runs are used; commit one of them")
            outcome = _simulate(part, values, design_generator(part, values), index, self.earlier_designs(number))
            self._designs[number][design] = index
        self._outcomes[number].append(outcome)
        self.record.part(number).runs.append(dict(values))
        return outcome

    def commit(self, number: int, run_index: int | None = None) -> RunOutcome:
        """Stand by run ``run_index`` (0-based; default the latest) and reveal the truth."""
        part = self._require(number, Phase.RUNS, "commit")
        outcomes = self._outcomes[number]
        if not outcomes:
            raise GameError(f"part {number}: run at least one design before you commit")
        if run_index is None:
            run_index = len(outcomes) - 1
        if isinstance(run_index, bool) or not isinstance(run_index, int) or not 0 <= run_index < len(outcomes):
            raise GameError(
                f"part {part.number}: run {run_index!r} does not exist; choose a run from 0 to {len(outcomes) - 1}"
            )
        self.record.part(number).commit = run_index
        return outcomes[run_index]

    def reflect(self, number: int, text: str, *, confirm_short: bool = False) -> None:
        """Submit the part's reflection, which closes the part.

        A reflection shorter than the scoring's minimum earns none of the reflection's
        points: it raises :class:`ShortReflection` (nothing is recorded) unless the player
        confirms it with ``confirm_short``.
        """
        self._require(number, Phase.REFLECT, "reflect")
        checked = _check_text(text, f"part {number}: the reflection")
        chars, least = len(checked.strip()), scoring.REFLECTION_MIN_CHARS
        if chars < least and not confirm_short:
            raise ShortReflection(
                f"part {number}: the reflection has {chars} characters; at least {least} earn its points. "
                "Submit it as it is (the part ends), or keep writing",
                chars, least,
            )
        self.record.part(number).reflection = checked

    def write_ledger(self, text: str) -> None:
        """Record the Ledger's text as it stands (a replay's path; play uses :meth:`submit_ledger`)."""
        if not self.ledger_open:
            raise GameError(f"the Ledger opens after the last part; part {self.current_part} is not done")
        self.record.ledger = _check_text(text, "the Ledger")

    def submit_ledger(self, strategy: str | None, body: str) -> None:
        """The Ledger as the player writes it: a strategy they chose, and its defence."""
        if not self.ledger_open:
            raise GameError(f"the Ledger opens after the last part; part {self.current_part} is not done")
        if strategy not in STRATEGIES:
            chosen = "no strategy is chosen" if not strategy else f"{strategy!r} is not a strategy"
            raise GameError(f"the Ledger: {chosen}; choose one of {', '.join(STRATEGIES)}")
        if not isinstance(body, str) or not body.strip():
            raise GameError("the Ledger is empty; defend your strategy in a few sentences")
        self.write_ledger(ledger_text(strategy, body))

    # ----------------------------------------------------------------- replay

    def replay_part(self, number: int, rec: PartRecord) -> None:
        """Play one part's recorded moves in the order the rules allow them.

        Raises :class:`GameError` naming the move (without the part, which the caller adds).
        """
        def move(what: str, action, *args) -> None:
            try:
                action(number, *args)
            except GameError as exc:
                text, prefix = str(exc), f"part {number}: "
                raise GameError(what + (text[len(prefix):] if text.startswith(prefix) else text)) from None

        if rec.lock is None:
            raise GameError("moves were recorded before the Lock was answered")
        move("", self.answer_lock, rec.lock)
        for i, controls in enumerate(rec.runs):
            # A save from before designs were refused a second run may repeat one: it
            # replays as that run again and, by today's rule, spends no run.
            move(f"run {i + 1}: ", lambda n, c: self._run(n, c, repeats_allowed=True), controls)
        if rec.commit is not None:
            move("commit: ", self.commit, rec.commit)
        elif rec.reflection is not None:
            raise GameError("a reflection was recorded before a design was committed")
        if rec.reflection is not None:
            move("", lambda n, text: self.reflect(n, text, confirm_short=True), rec.reflection)

    @classmethod
    def replay(cls, mission: Mission, record: Record) -> "Game":
        """Rebuild a game by playing ``record``'s moves through the rules again.

        Raises :class:`GameError` (naming the part and the move) at the first move the
        rules refuse; outcomes are recomputed, never read from the record.
        """
        if record.track != mission.id:
            raise GameError(f"the record is for track {record.track!r}, not {mission.id!r}")
        unknown = sorted(set(record.parts) - {p.number for p in mission.parts})
        if unknown:
            raise GameError(f"the record has part {unknown[0]}, which track {mission.id!r} does not have")
        game = cls(mission, record.seed)
        for number in game.part_numbers:
            rec = record.parts.get(number)
            if rec is None or rec.is_empty:
                continue  # a later part's moves, if any, are refused as out of order
            try:
                game.replay_part(number, rec)
            except GameError as exc:
                raise GameError(f"part {number}: {exc}") from None
        if record.ledger is not None:
            game.write_ledger(record.ledger)
        return game


_WHY = {
    Phase.LOCKED: "finish the earlier parts first",
    Phase.LOCK: "lock in your prediction first",
    Phase.RUNS: "the workbench is open: run designs, then commit one",
    Phase.REFLECT: "the design is committed; write your reflection",
    Phase.DONE: "this part is finished",
}


def _check_text(text: object, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise GameError(f"{what} is empty; write a few sentences")
    if len(text) > MAX_TEXT_CHARS:
        raise GameError(f"{what} has {len(text)} characters; at most {MAX_TEXT_CHARS} are kept")
    return text
