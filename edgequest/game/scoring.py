"""Scoring a part against its SPEC, by the weights in the mission file.

A part's 100 points are shared by five components, each scored from 0 to 1:

- ``lock``: the prediction's closeness to the engine's truth. A numeric answer earns
  full marks within the Lock's relative ``tolerance`` and falls linearly to nothing at
  three times it; a choice is right or wrong.
- ``spec``: the share of SPEC checks (targets and guardrails) the committed design meets.
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

from edgequest.campaign.schema import Lock, Part, Scalar, SpecCheck

REFLECTION_MIN_CHARS = 40


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
class PartScore:
    """The five components (0 to 1 each) and the points they earn out of 100."""

    lock: float
    spec: float
    runs: float
    margin: float
    reflection: float
    points: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(getattr(self, k), 4) for k in ("lock", "spec", "runs", "margin", "reflection", "points")}


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


def design_components(part: Part, metrics: Mapping[str, Any], checks: tuple[CheckResult, ...]) -> tuple[float, float]:
    """(spec share, margin) of one design; margin counts only when the whole SPEC passes."""
    spec = spec_share(checks)
    margin = part.optimise.margin(metric_value(metrics, part.optimise.metric)) if spec == 1.0 else 0.0
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
    w = part.weights
    points = 100.0 * (
        w.lock * lock + w.spec * spec + w.runs * runs + w.margin * margin + w.reflection * reflected
    ) / w.total
    assert math.isfinite(points)
    return PartScore(lock=lock, spec=spec, runs=runs, margin=margin, reflection=reflected, points=points)
