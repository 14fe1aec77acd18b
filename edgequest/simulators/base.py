"""The shape every part model shares: what it needs from a mission, what it produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

if TYPE_CHECKING:  # the mission's types, for annotations only: the loader imports this package
    from edgequest.campaign.schema import Part, Scalar

Metrics = dict[str, Any]


@dataclass(frozen=True)
class Peek:
    """One Math Peek panel: a formula, the same formula with this run's numbers, its source."""

    title: str
    formula: str
    substituted: str
    source: str


PeekFn = Callable[["Part", Mapping[str, "Scalar"], Mapping[str, Any]], "list[Peek]"]
# (part, controls, rng) -> metrics; a model that ``reads_earlier`` also takes ``earlier=``
# (the metrics of earlier parts' committed designs), so the arguments are not pinned here.
Simulate = Callable[..., Metrics]
Truth = Callable[["Part", np.random.Generator], "Scalar"]


@dataclass(frozen=True)
class Requirement:
    """A param or control a model reads: its name and the values it accepts."""

    name: str
    kind: str = "number"  # number | text
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    optional: bool = False  # a param a mission may leave out (the model has a default)

    def check(self, value: Any) -> str | None:
        if self.choices:
            if value not in self.choices:
                return f"one of {', '.join(self.choices)}"
            return None
        if self.kind == "text":
            return None if isinstance(value, str) else "text"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "a number"
        if self.low is not None and value < self.low:
            return f"a number >= {self.low:g}"
        if self.high is not None and value > self.high:
            return f"a number <= {self.high:g}"
        return None


@dataclass(frozen=True)
class Model:
    """One part model: its requirements, its metrics, its Lock truths and its simulation.

    ``variants`` lets a model ask for more depending on a text param (the track's
    crisis): ``{("crisis", "adapter_cache"): (params, controls, metrics)}``.
    """

    name: str
    simulate: Simulate
    params: tuple[Requirement, ...]
    controls: tuple[Requirement, ...]
    metrics: frozenset[str]
    truths: Mapping[str, Truth]
    variants: Mapping[tuple[str, str], tuple[tuple[Requirement, ...], tuple[Requirement, ...], frozenset[str]]] = field(
        default_factory=dict
    )
    peek: PeekFn | None = None
    reads_earlier: bool = False  # simulate(..., earlier=) receives earlier parts' committed metrics
    lock_context: Callable[[Part], Mapping[str, Any]] | None = None
    reveal_notes: Callable[[Part], "list[str]"] | None = None  # lines shown with the Lock's truth

    def lock_question(self, part: Part) -> str:
        """The Lock's question with the model's context (``{inference_mb}``, ...) filled in."""
        context = dict(self.lock_context(part)) if self.lock_context else {}
        try:
            return part.lock.question.format_map(context)
        except (KeyError, ValueError, IndexError, AttributeError):
            return part.lock.question

    def math_peek(self, part: Part, controls: Mapping[str, Scalar], metrics: Mapping[str, Any]) -> list[Peek]:
        """The formulas behind this part's instrument, with a run's numbers substituted."""
        return self.peek(part, controls, metrics) if self.peek else []

    def requirements(self, part: Part) -> tuple[tuple[Requirement, ...], tuple[Requirement, ...], frozenset[str]]:
        params, controls, metrics = list(self.params), list(self.controls), set(self.metrics)
        for (key, value), (more_params, more_controls, more_metrics) in self.variants.items():
            if key in part.params and part.params[key].value == value:
                params += more_params
                controls += more_controls
                metrics |= more_metrics
        return tuple(params), tuple(controls), frozenset(metrics)

    def check_part(self, part: Part) -> list[str]:
        """Problems (key path, expected, found) of a part that names this model."""
        problems: list[str] = []
        params, controls, metrics = self.requirements(part)
        for req in params:
            if req.name not in part.params:
                if req.optional:
                    continue
                problems.append(f"params.{req.name}: expected {_expect(req)} for model {self.name!r}, missing")
                continue
            bad = req.check(part.params[req.name].value)
            if bad:
                problems.append(f"params.{req.name}: expected {bad}, found {part.params[req.name].value!r}")
        known = {r.name for r in params}
        for name in part.params:
            if name not in known:
                problems.append(
                    f"params.{name}: unknown param for model {self.name!r} (a typo?); accepted: "
                    + ", ".join(sorted(known))
                )
        by_name = {c.name: c for c in part.controls}
        wanted = {r.name for r in controls}
        for req in controls:
            control = by_name.get(req.name)
            if control is None:
                if req.optional:
                    continue
                problems.append(f"controls: expected a control named {req.name!r} for model {self.name!r}, missing")
                continue
            if req.choices:
                extra = [c for c in control.choices if c not in req.choices] if control.kind == "choice" else ["(not a choice)"]
                if extra:
                    problems.append(
                        f"controls.{req.name}.choices: expected choices among {', '.join(req.choices)}, found {', '.join(extra)}"
                    )
            elif control.kind == "choice":
                problems.append(f"controls.{req.name}.kind: expected int or float, found 'choice'")
            else:
                for end, value in (("min", control.min), ("max", control.max)):
                    bad = req.check(value)
                    if bad:
                        problems.append(f"controls.{req.name}.{end}: expected {bad}, found {value!r}")
        for name in by_name:
            if name not in wanted:
                problems.append(
                    f"controls: control {name!r} is not read by model {self.name!r}; accepted: "
                    + ", ".join(sorted(wanted))
                )
        for i, check in enumerate(part.spec):
            if check.metric not in metrics:
                problems.append(
                    f"spec[{i}].metric: expected a metric of model {self.name!r} ({', '.join(sorted(metrics))}), "
                    f"found {check.metric!r}"
                )
        if part.optimise.metric not in metrics:
            problems.append(
                f"optimise.metric: expected a metric of model {self.name!r} ({', '.join(sorted(metrics))}), "
                f"found {part.optimise.metric!r}"
            )
        if part.lock.truth not in self.truths:
            problems.append(
                f"lock.truth: expected one of {', '.join(sorted(self.truths))}, found {part.lock.truth!r}"
            )
        return problems


def _expect(req: Requirement) -> str:
    return req.check(object()) or req.kind
