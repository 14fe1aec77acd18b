"""Scoring a part against its SPEC, by the weights in the mission file.

A part's 100 points are shared by five components, each scored from 0 to 1:

- ``lock``: the prediction's closeness to the engine's truth. A numeric answer earns
  full marks within the Lock's relative ``tolerance`` and falls linearly to nothing at
  three times it; a choice is right or wrong.
- ``spec``: the committed design against the SPEC (targets and guardrails). The part's
  ``spec_scoring`` says what a failed line costs: ``strict`` (the default, as the briefing
  says "every line must pass") gives 0 when any line fails; ``per_line`` gives the share of
  lines met.
- ``runs``: thrift. One run earns 1; every further run costs ``1 / budget``.
- ``margin``: how far the committed design pushes the optimisation metric from the
  mission's ``worst`` towards its ``best``, counted only when every SPEC check passes.
- ``reflection``: a reflection of at least ``REFLECTION_MIN_CHARS`` characters was
  submitted. Its quality is for a person to judge; graders export the text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from edgequest.campaign.schema import Lock, Optimise, Part, Scalar, SpecCheck

REFLECTION_MIN_CHARS = 40
LABELS = {"lock": "Lock", "spec": "SPEC", "runs": "Thrift", "margin": "Margin", "reflection": "Reflection"}


@dataclass(frozen=True)
class CheckResult:
    """One SPEC check applied to one run's metrics."""

    check: SpecCheck
    value: float | None
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.check.metric,
            "label": self.check.label,
            "role": self.check.role,
            "op": self.check.op,
            "target": self.check.threshold,
            "value": self.value,
            "pass": self.passed,
        }


@dataclass(frozen=True)
class Component:
    """How one component was computed: its share (0 to 1), the points it earns, and why."""

    name: str
    share: float
    points: float
    out_of: float
    how: str

    @property
    def label(self) -> str:
        return LABELS[self.name]

    def line(self) -> str:
        """One line for the reveal: ``SPEC        0.0 of 40  1 of 2 SPEC lines pass (failed: ...) ...``."""
        return f"{self.label:<10} {self.points:4.1f} of {self.out_of:g}  {self.how}"


@dataclass(frozen=True)
class PartScore:
    """The five components (0 to 1 each) and the points they earn out of 100."""

    lock: float
    spec: float
    runs: float
    margin: float
    reflection: float
    points: float
    components: tuple[Component, ...] = ()

    def to_dict(self) -> dict[str, float]:
        return {k: round(getattr(self, k), 4) for k in ("lock", "spec", "runs", "margin", "reflection", "points")}

    def lines(self) -> list[str]:
        """How each component was computed, one line each, then the total."""
        return [c.line() for c in self.components] + [f"{'Total':<10} {self.points:4.1f} of 100"]


def metric_value(metrics: Mapping[str, Any], path: str) -> float | None:
    """Look up a dotted metric (``memory_mb.total``) as a float; None when absent."""
    value: Any = metrics
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    if value is None or isinstance(value, (Mapping, list, str)):
        return None
    return float(value)


def check_spec(part: Part, metrics: Mapping[str, Any]) -> tuple[CheckResult, ...]:
    results = []
    for check in part.spec:
        value = metric_value(metrics, check.metric)
        results.append(CheckResult(check=check, value=value, passed=check.passes(value)))
    return tuple(results)


def lock_closeness(lock: Lock, answer: Scalar | None, truth: Scalar) -> float:
    if answer is None:
        return 0.0
    if lock.kind == "choice":
        return 1.0 if answer == truth else 0.0
    truth_f = float(truth)
    error = abs(float(answer) - truth_f) / max(abs(truth_f), 1e-12)
    if error <= lock.tolerance:
        return 1.0
    return max(0.0, 1.0 - (error - lock.tolerance) / (2 * lock.tolerance))


def spec_share(checks: tuple[CheckResult, ...]) -> float:
    return sum(c.passed for c in checks) / len(checks) if checks else 1.0


def spec_component(part: Part, checks: tuple[CheckResult, ...]) -> float:
    """The SPEC component of a design, by the part's ``spec_scoring``."""
    if part.spec_scoring == "per_line":
        return spec_share(checks)
    return 1.0 if all(c.passed for c in checks) else 0.0


def spec_rule(part: Part) -> str:
    """What a failed SPEC line costs on this part, in words for the briefing."""
    if part.spec_scoring == "per_line":
        return "each line met earns its share of the SPEC points; the margin counts only when all pass"
    return "every line must pass: a committed design that fails any line earns no SPEC points"


def design_components(part: Part, metrics: Mapping[str, Any], checks: tuple[CheckResult, ...]) -> tuple[float, float]:
    """(spec, margin) of one design; margin counts only when the whole SPEC passes."""
    spec = spec_component(part, checks)
    passed = all(c.passed for c in checks)
    margin = part.optimise.margin(metric_value(metrics, part.optimise.metric)) if passed else 0.0
    return spec, margin


def design_points(part: Part, spec: float, margin: float) -> float:
    """A design's own score out of 100: the spec and margin components alone."""
    w = part.weights
    total = w.spec + w.margin
    return 100.0 * (w.spec * spec + w.margin * margin) / total if total > 0 else 0.0


def runs_thrift(runs_used: int, budget: int) -> float:
    if runs_used <= 0:
        return 0.0
    return max(0.0, 1.0 - (runs_used - 1) / budget)


def part_score(
    part: Part,
    *,
    lock_answer: Scalar | None,
    truth: Scalar | None,
    runs_used: int,
    committed: tuple[Mapping[str, Any], tuple[CheckResult, ...]] | None,
    reflection: str | None,
) -> PartScore:
    lock = lock_closeness(part.lock, lock_answer, truth) if truth is not None else 0.0
    spec = margin = 0.0
    if committed is not None:
        spec, margin = design_components(part, *committed)
    runs = runs_thrift(runs_used, part.budget) if committed is not None else 0.0
    reflected = 1.0 if reflection and len(reflection.strip()) >= REFLECTION_MIN_CHARS else 0.0
    shares = {"lock": lock, "spec": spec, "runs": runs, "margin": margin, "reflection": reflected}
    how = {
        "lock": _how_lock(part.lock, lock_answer, truth, lock),
        "spec": _how_spec(part, committed[1] if committed is not None else None, spec),
        "runs": _how_runs(runs_used, part.budget, committed is not None, runs),
        "margin": _how_margin(part.optimise, committed, margin),
        "reflection": _how_reflection(reflection, reflected),
    }
    w = part.weights
    components = tuple(
        Component(name, share, 100.0 * getattr(w, name) * share / w.total, 100.0 * getattr(w, name) / w.total,
                  how[name])
        for name, share in shares.items()
    )
    points = sum(c.points for c in components)
    assert math.isfinite(points)
    return PartScore(lock=lock, spec=spec, runs=runs, margin=margin, reflection=reflected, points=points,
                     components=components)


# ----------------------------------------------------------------------------- the reasons


def _num(value: float | None) -> str:
    return "none" if value is None else f"{float(value):.4g}"


def _how_lock(lock: Lock, answer: Scalar | None, truth: Scalar | None, share: float) -> str:
    if truth is None:
        return "the truth is revealed when you commit a design"
    if answer is None:
        return "no prediction was locked in"
    if lock.kind == "choice":
        verdict = "right" if share == 1.0 else "not the truth"
        return f"you chose {answer!r}, the truth is {truth!r}: {verdict} → {share:.0%}"
    error = abs(float(answer) - float(truth)) / max(abs(float(truth)), 1e-12)
    rule = (f"within the {lock.tolerance:.0%} tolerance" if error <= lock.tolerance else
            f"full within {lock.tolerance:.0%}, none at {3 * lock.tolerance:.0%}")
    return f"{_num(float(answer))} vs truth {_num(float(truth))}: {error:.1%} off, {rule} → {share:.0%}"


def _how_spec(part: Part, checks: tuple[CheckResult, ...] | None, share: float) -> str:
    if checks is None:
        return "no design committed yet"
    passed = sum(c.passed for c in checks)
    said = f"{passed} of {len(checks)} SPEC lines pass"
    if passed == len(checks):
        return f"{said} → {share:.0%}"
    failed = ", ".join(c.check.label for c in checks if not c.passed)
    if part.spec_scoring == "per_line":
        return f"{said} (failed: {failed}); this part pays each line met → {share:.0%}"
    return f"{said} (failed: {failed}); every line must pass → {share:.0%}"


def _how_runs(runs_used: int, budget: int, committed: bool, share: float) -> str:
    if not committed:
        return f"{runs_used} of {budget} runs used; counted when you commit"
    return f"{runs_used} of {budget} runs: 1 - {runs_used - 1}/{budget} → {share:.0%}"


def _how_margin(optimise: Optimise, committed: tuple[Mapping[str, Any], tuple[CheckResult, ...]] | None,
                share: float) -> str:
    if committed is None:
        return "no design committed yet"
    metrics, checks = committed
    if not all(c.passed for c in checks):
        return "counted only when every SPEC line passes → 0%"
    value = metric_value(metrics, optimise.metric)
    return f"{optimise.metric} {_num(value)}, from {_num(optimise.worst)} (0%) to {_num(optimise.best)} (100%) → {share:.0%}"


def _how_reflection(reflection: str | None, share: float) -> str:
    if reflection is None:
        return "not written yet"
    n = len(reflection.strip())
    rule = "at least" if n >= REFLECTION_MIN_CHARS else "fewer than"
    return f"{n} characters, {rule} {REFLECTION_MIN_CHARS} → {share:.0%}"
