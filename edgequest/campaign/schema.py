"""The campaign as typed, immutable objects.

A mission file (one per track) becomes a :class:`Mission`; each of its three parts a
:class:`Part`. These types trust their contents: the loader validated them at the
boundary. The one exception is :meth:`Control.coerce`, which checks a player's value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from edgequest.errors import ControlError

Scalar = int | float | str

CONTROL_KINDS = ("choice", "int", "float")
LOCK_KINDS = ("number", "choice")
SPEC_OPS = ("<=", ">=", "<", ">")
SPEC_ROLES = ("target", "guardrail")
GOALS = ("min", "max")
SPEC_SCORING = ("strict", "per_line")  # a failed SPEC line: no SPEC points / that line's share lost


@dataclass(frozen=True)
class Figure:
    """A number (or named value) with its provenance: a source, or our own assumption."""

    value: Scalar
    unit: str = ""
    source: str | None = None
    assumption: str | None = None

    @property
    def provenance(self) -> str:
        return self.source if self.source else f"assumption: {self.assumption}"


@dataclass(frozen=True)
class Control:
    """One lever on the workbench: a choice, an integer or a float within a range."""

    name: str
    label: str
    kind: str
    default: Scalar
    help: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    step: float | None = None

    def accepted(self) -> str:
        """Say in words what values this control accepts."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        what = "an integer" if self.kind == "int" else "a number"
        unit = f" {self.unit}" if self.unit else ""
        return f"{what} from {_fmt(self.min)} to {_fmt(self.max)}{unit}"

    def coerce(self, raw: object) -> Scalar:
        """Return ``raw`` as this control's type, or raise :class:`ControlError`."""
        bad = ControlError(
            f"control {self.name!r}: {_show(raw)} is not accepted; expected {self.accepted()}"
        )
        if self.kind == "choice":
            if isinstance(raw, str) and raw in self.choices:
                return raw
            raise bad
        if isinstance(raw, bool):
            raise bad
        if isinstance(raw, str):
            text = raw.strip()
            try:
                number: float = int(text) if self.kind == "int" else float(text)
            except ValueError:
                try:
                    number = float(text)
                except ValueError:
                    raise bad from None
        elif isinstance(raw, (int, float)):
            number = raw
        else:
            raise bad
        if not math.isfinite(number):
            raise bad
        if self.kind == "int":
            if float(number) != int(number):
                raise bad
            number = int(number)
        else:
            number = float(number)
        assert self.min is not None and self.max is not None
        if not self.min <= number <= self.max:
            raise bad
        return number


@dataclass(frozen=True)
class SpecCheck:
    """A SPEC line: a metric compared with a threshold. Targets and guardrails alike."""

    metric: str
    op: str
    threshold: float
    label: str
    role: str = "target"
    unit: str = ""
    source: str | None = None
    assumption: str | None = None

    def passes(self, value: float | None) -> bool:
        if value is None:
            return False
        value = float(value)  # a boolean metric (``fits``) compares as 0 or 1
        if not math.isfinite(value):
            return False
        return {
            "<=": value <= self.threshold,
            ">=": value >= self.threshold,
            "<": value < self.threshold,
            ">": value > self.threshold,
        }[self.op]


@dataclass(frozen=True)
class Lock:
    """The prediction a player commits to before the workbench opens."""

    question: str
    kind: str
    truth: str
    unit: str = ""
    tolerance: float = 0.25
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    explain: str = ""

    def coerce(self, raw: object) -> Scalar:
        """Check a player's answer; raise :class:`ControlError` naming what is accepted."""
        if self.kind == "choice":
            if isinstance(raw, str) and raw in self.choices:
                return raw
            raise ControlError(
                f"the Lock: {_show(raw)} is not an answer; expected one of "
                + ", ".join(self.choices)
            )
        accepted = f"a number from {_fmt(self.min)} to {_fmt(self.max)} {self.unit}".rstrip()
        try:
            if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                raise ValueError
            number = float(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError):
            raise ControlError(f"the Lock: {_show(raw)} is not a number; expected {accepted}") from None
        assert self.min is not None and self.max is not None
        if not math.isfinite(number) or not self.min <= number <= self.max:
            raise ControlError(f"the Lock: {_show(raw)} is out of range; expected {accepted}")
        return number


@dataclass(frozen=True)
class Optimise:
    """The part's optimisation metric; margin is scored linearly from worst to best."""

    metric: str
    goal: str
    worst: float
    best: float

    def margin(self, value: float | None) -> float:
        """0 at ``worst`` (or beyond), 1 at ``best`` (or beyond)."""
        if value is None or not math.isfinite(float(value)):
            return 0.0
        share = (float(value) - self.worst) / (self.best - self.worst)
        return min(1.0, max(0.0, share))


@dataclass(frozen=True)
class Weights:
    """How a part's 100 points are shared (normalised, so any positive total works)."""

    lock: float = 20
    spec: float = 40
    runs: float = 10
    margin: float = 20
    reflection: float = 10

    @property
    def total(self) -> float:
        return self.lock + self.spec + self.runs + self.margin + self.reflection


@dataclass(frozen=True)
class Part:
    """One of the three Key Analysis Tasks, with this track's numbers."""

    number: int
    title: str
    model: str
    briefing: str
    objective: str
    budget: int
    stakeholder: str
    reflect_prompt: str
    lock: Lock
    params: Mapping[str, Figure]
    controls: tuple[Control, ...]
    spec: tuple[SpecCheck, ...]
    optimise: Optimise
    weights: Weights
    spec_scoring: str = "strict"
    track: str = ""  # the id of the mission the part belongs to

    def control(self, name: str) -> Control:
        for control in self.controls:
            if control.name == name:
                return control
        raise ControlError(
            f"part {self.number} has no control {name!r}; its controls are "
            + ", ".join(c.name for c in self.controls)
        )

    def param(self, name: str) -> Scalar:
        return self.params[name].value

    @property
    def defaults(self) -> dict[str, Scalar]:
        return {c.name: c.default for c in self.controls}


@dataclass(frozen=True)
class Mission:
    """A track's whole campaign, as read from one mission file."""

    id: str
    name: str
    persona: str
    north_star: str
    crisis: str
    ledger_prompt: str
    device_name: str
    device: Mapping[str, Figure]
    parts: tuple[Part, ...]
    schema_version: int = 1
    source_path: str = ""
    sha256: str = ""
    sources: tuple[str, ...] = field(default=())

    def part(self, number: int) -> Part:
        for part in self.parts:
            if part.number == number:
                return part
        raise ControlError(
            f"track {self.id!r} has no part {number!r}; its parts are "
            + ", ".join(str(p.number) for p in self.parts)
        )


def frozen_mapping(items: Mapping) -> Mapping:
    return MappingProxyType(dict(items))


def _fmt(number: float | None) -> str:
    if number is None:
        return "?"
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _show(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def stakeholder_prompt(stakeholder: str, prompt: str) -> str:
    """The stakeholder's question, naming them once ("Patterson asks: …" is not prefixed again)."""
    names = [w for w in stakeholder.replace("the ", "").split() if len(w) > 2]
    if any(name.lower() in prompt[:60].lower() for name in names):
        return prompt
    return f"{stakeholder}: “{prompt}”"
