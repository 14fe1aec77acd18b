"""Read mission files (TOML) into :class:`~edgequest.campaign.schema.Mission` objects.

Validation happens here, once, at the boundary. Every problem names the file, the key
path (``parts[1].controls[2].max``), what was expected and what was found, and all of a
file's problems are reported together so an instructor can fix them in one pass. Unknown
keys are rejected so that a typo never silently falls back to a default.
"""

from __future__ import annotations

import hashlib
import math
from contextvars import ContextVar
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

from edgequest.campaign.schema import (
    CONTROL_KINDS,
    GOALS,
    LOCK_KINDS,
    SPEC_OPS,
    SPEC_ROLES,
    SPEC_SCORING,
    Control,
    Figure,
    Lock,
    Mission,
    Optimise,
    Part,
    SpecCheck,
    Weights,
    frozen_mapping,
)
from edgequest.errors import ControlError, MissionError

_T = TypeVar("_T")

_CHECK_MODELS: ContextVar[bool] = ContextVar("check_models", default=True)

SCHEMA_VERSION = 1
MAX_MISSION_BYTES = 1_000_000
TRACK_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def mission_dir() -> Path:
    """Where the campaign's mission files live.

    Installed from a wheel they ship inside the package (``edgequest/_missions``); in a
    source checkout they are the repository's top-level ``missions/`` folder.
    """
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_missions"
    if packaged.is_dir():
        return packaged
    return here.parent / "missions"


def mission_paths(folder: Path | None = None) -> list[Path]:
    """The track files of a folder (``*.toml`` at its top level), sorted by name."""
    folder = mission_dir() if folder is None else folder
    return sorted(p for p in folder.glob("*.toml") if p.is_file())


def load_mission(path: str | Path) -> Mission:
    """Read and validate one mission file; raise :class:`MissionError` listing problems."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_MISSION_BYTES:
            raise MissionError([f"{path}: the file is larger than {MAX_MISSION_BYTES} bytes"])
        raw = path.read_bytes()
    except OSError as exc:
        raise MissionError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    return load_mission_bytes(raw, str(path))


def load_mission_bytes(raw: bytes, name: str) -> Mission:
    """Validate a mission from its bytes; ``name`` is used in messages."""
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MissionError([f"{name}: not UTF-8 text (byte {exc.start})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise MissionError([f"{name}: not valid TOML: {exc}"]) from None
    reader = _Reader(name, data, "")
    mission = _read_mission(reader, name, hashlib.sha256(raw).hexdigest())
    if reader.problems:
        raise MissionError(reader.problems)
    assert mission is not None
    return mission


def check_missions(paths: list[Path]) -> tuple[dict[str, Mission], list[str]]:
    """Load every file, collecting all problems (including track ids used twice)."""
    missions: dict[str, Mission] = {}
    problems: list[str] = []
    for path in paths:
        try:
            mission = load_mission(path)
        except MissionError as exc:
            problems.extend(exc.problems)
            continue
        if mission.id in missions:
            problems.append(
                f"{path}: id: track id {mission.id!r} is also used by {missions[mission.id].source_path}"
            )
        missions[mission.id] = mission
    return missions, problems


def load_campaign(folder: Path | None = None, *, check_models: bool = True) -> dict[str, Mission]:
    """Every track of a folder, keyed by track id, in file order.

    ``check_models=False`` skips the cross-check of each part with its engine model (which
    imports numpy and the engine): the game's title screen lists the tracks with it and
    runs the full check in the background before any track opens.
    """
    token = _CHECK_MODELS.set(check_models)
    try:
        missions, problems = check_missions(mission_paths(folder))
    finally:
        _CHECK_MODELS.reset(token)
    if problems:
        raise MissionError(problems)
    return missions


# --------------------------------------------------------------------------- reading


class _Reader:
    """Walks one TOML table, collecting problems instead of stopping at the first.

    Its accessors return the checked value, or None once they recorded a problem; the
    caller builds its object only when no problem was recorded, so the values it uses are
    the checked ones. That is why they are typed ``Any``: the check, not the annotation,
    is what guarantees them.
    """

    def __init__(self, file: str, table: Any, path: str, problems: list[str] | None = None):
        self.file = file
        self.table = table if isinstance(table, dict) else {}
        self.path = path
        self.problems = problems if problems is not None else []
        self.seen: set[str] = set()

    def where(self, key: str | None = None) -> str:
        if key is None:
            return self.path or "(top level)"
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str | None, expected: str, found: Any = None, *, missing: bool = False) -> None:
        what = "missing" if missing else f"found {_describe(found)}"
        self.problems.append(f"{self.file}: {self.where(key)}: expected {expected}, {what}")

    def child(self, key: str, value: Any) -> "_Reader":
        return _Reader(self.file, value, self.where(key), self.problems)

    def get(self, key: str, expected: str, check: Callable[[Any], bool], default: Any = ...) -> Any:
        self.seen.add(key)
        if key not in self.table:
            if default is ...:
                self.problem(key, expected, missing=True)
                return None
            return default
        value = self.table[key]
        if not check(value):
            self.problem(key, expected, value)
            return None
        return value

    def text(self, key: str, default: Any = ..., *, short: bool = False) -> Any:
        limit = 200 if short else 4000
        value = self.get(
            key,
            f"text of 1 to {limit} characters",
            lambda v: isinstance(v, str) and 0 < len(v.strip()) and len(v) <= limit,
            default,
        )
        return reflow(value) if isinstance(value, str) else value

    def number(self, key: str, default: Any = ..., *, low: float = -math.inf, high: float = math.inf,
               integer: bool = False) -> Any:
        kind = "an integer" if integer else "a number"
        bounds = _bounds(low, high)
        return self.get(
            key,
            f"{kind}{bounds}",
            lambda v: _is_number(v, integer) and low <= v <= high,
            default,
        )

    def choice(self, key: str, options: Iterable[str], default: Any = ...) -> Any:
        options = tuple(options)
        return self.get(key, "one of " + ", ".join(options), lambda v: v in options, default)

    def tables(self, key: str) -> list["_Reader"]:
        value = self.get(
            key,
            "an array of tables ([[" + self.where(key) + "]])",
            lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(x, dict) for x in v),
        )
        return [self.child(f"{key}[{i}]", item) for i, item in enumerate(value or [])]

    def table_of(self, key: str, default: Any = ...) -> "_Reader | None":
        value = self.get(key, "a table", lambda v: isinstance(v, dict), default)
        if value is None:
            return None
        return self.child(key, value)

    def finish(self) -> None:
        unknown = sorted(set(self.table) - self.seen)
        for key in unknown:
            accepted = ", ".join(sorted(self.seen))
            self.problems.append(
                f"{self.file}: {self.where(key)}: unknown key (a typo?); accepted keys here: {accepted}"
            )


def _read_mission(r: _Reader, name: str, sha256: str) -> Mission | None:
    version = r.number("schema_version", low=1, high=SCHEMA_VERSION, integer=True)
    track_id = r.get(
        "id",
        "a track id of lowercase letters, digits and '-'",
        lambda v: isinstance(v, str) and 0 < len(v) <= 40 and set(v) <= TRACK_ID_CHARS,
    )
    title = r.text("name", short=True)
    persona = r.text("persona", short=True)
    north_star = r.text("north_star")
    crisis = r.text("crisis")
    ledger_prompt = r.text("ledger_prompt")
    device_reader = r.table_of("device")
    device_name, device = _read_device(device_reader) if device_reader else (None, {})
    sources = r.get(
        "sources",
        "an array of text (the references this file cites)",
        lambda v: isinstance(v, list) and all(isinstance(x, str) and x.strip() for x in v),
        default=[],
    )
    spec_scoring = r.choice("spec_scoring", SPEC_SCORING, default="strict")
    parts = [_read_part(p, spec_scoring or "strict") for p in r.tables("parts")]
    numbers = [p.number for p in parts if p is not None]
    if parts and numbers != list(range(1, len(parts) + 1)):
        r.problem("parts", "parts numbered 1, 2, 3, ... in order", numbers)
    r.finish()
    if r.problems or device_name is None:
        return None
    return Mission(
        id=track_id,
        name=title,
        persona=persona,
        north_star=north_star,
        crisis=crisis,
        ledger_prompt=ledger_prompt,
        device_name=device_name,
        device=frozen_mapping(device),
        parts=tuple(replace(p, track=track_id) for p in parts if p is not None),  # all of them: there were no problems
        schema_version=int(version),
        source_path=name,
        sha256=sha256,
        sources=tuple(sources),
    )


def _read_device(r: _Reader) -> tuple[str | None, dict[str, Figure]]:
    name = r.text("name", short=True)
    figures = {}
    for key, value in r.table.items():
        if key == "name":
            continue
        r.seen.add(key)
        figure = _read_figure(r, key, value)
        if figure is not None:
            figures[key] = figure
    return name, figures


def _read_figure(r: _Reader, key: str, value: Any) -> Figure | None:
    """A figure is ``{ value = ..., unit = "...", source = "..." }`` or with ``assumption``."""
    if not isinstance(value, dict):
        r.problem(key, 'a figure table { value = ..., source = "..." } or { value = ..., assumption = "..." }', value)
        return None
    f = r.child(key, value)
    figure_value = f.get(
        "value",
        "a finite number or text",
        lambda v: (isinstance(v, str) and v.strip() != "") or _is_number(v, False),
    )
    unit = f.get("unit", "text", lambda v: isinstance(v, str), default="")
    source = f.text("source", default=None)
    assumption = f.text("assumption", default=None)
    if "source" not in f.table and "assumption" not in f.table:
        f.problem(None, 'a "source" (book, paper, datasheet) or an "assumption" (our own, with why)',
                  missing=True)
    f.finish()
    if figure_value is None:
        return None
    return Figure(value=figure_value, unit=unit, source=source, assumption=assumption)


def _read_control(r: _Reader) -> Control | None:
    name = r.get("name", "an identifier (letters, digits, _)", _is_identifier)
    label = r.text("label", short=True)
    kind = r.choice("kind", CONTROL_KINDS)
    help_text = r.text("help")
    unit = r.get("unit", "text", lambda v: isinstance(v, str), default="")
    choices: tuple[str, ...] = ()
    low = high = step = None
    default = None
    if kind == "choice":
        raw = r.get(
            "choices",
            "an array of at least two distinct names",
            lambda v: isinstance(v, list) and len(v) >= 2 and len(set(map(str, v))) == len(v)
            and all(isinstance(x, str) and x.strip() for x in v),
        )
        choices = tuple(raw or ())
        default = r.choice("default", choices) if choices else r.get("default", "a choice", lambda v: True)
    elif kind in ("int", "float"):
        integer = kind == "int"
        low = r.number("min", integer=integer)
        high = r.number("max", integer=integer)
        step = r.number("step", default=None, low=0, integer=integer)
        if low is not None and high is not None:
            if low >= high:
                r.problem("max", f"a number greater than min ({low})", high)
            default = r.number("default", low=low, high=high, integer=integer)
            if default is not None and not integer:
                default = float(default)  # `default = 8` on a float control is 8.0, as a player's 8 is
        else:
            r.get("default", "a number", lambda v: True)
    r.finish()
    if default is None or None in (name, label, kind, help_text):
        return None
    return Control(
        name=name, label=label, kind=kind, default=default, help=help_text, unit=unit,
        choices=choices, min=low, max=high, step=step,
    )


def _read_lock(r: _Reader) -> Lock | None:
    question = r.text("question")
    kind = r.choice("kind", LOCK_KINDS)
    truth = r.get("truth", "the name of an engine truth (see missions/README.md)", _is_identifier)
    unit = r.get("unit", "text", lambda v: isinstance(v, str), default="")
    explain = r.text("explain", default="")
    tolerance = 0.25
    choices: tuple[str, ...] = ()
    low = high = None
    if kind == "number":
        tolerance = r.number("tolerance", default=0.25, low=0.01, high=10)
        low = r.number("min", default=0)
        high = r.number("max")
        if low is not None and high is not None and low >= high:
            r.problem("max", f"a number greater than min ({low})", high)
    elif kind == "choice":
        raw = r.get(
            "choices",
            "an array of at least two distinct answers",
            lambda v: isinstance(v, list) and len(v) >= 2 and len(set(v)) == len(v)
            and all(isinstance(x, str) and x.strip() for x in v),
        )
        choices = tuple(raw or ())
    r.finish()
    if None in (question, kind, truth, tolerance, low if kind == "number" else 0, high if kind == "number" else 0):
        return None
    return Lock(question=question, kind=kind, truth=truth, unit=unit, tolerance=tolerance,
                choices=choices, min=low, max=high, explain=explain)


def _read_spec(r: _Reader) -> SpecCheck | None:
    metric = r.get("metric", "a metric name (dotted, e.g. memory_mb.total)", _is_metric)
    op = r.choice("op", SPEC_OPS)
    threshold = r.number("threshold")
    label = r.text("label", short=True)
    role = r.choice("role", SPEC_ROLES, default="target")
    unit = r.get("unit", "text", lambda v: isinstance(v, str), default="")
    source = r.text("source", default=None)
    assumption = r.text("assumption", default=None)
    if "source" not in r.table and "assumption" not in r.table:
        r.problem(None, 'a "source" or an "assumption" for the threshold', None, missing=True)
    r.finish()
    if None in (metric, op, threshold, label):
        return None
    return SpecCheck(metric=metric, op=op, threshold=float(threshold), label=label, role=role,
                     unit=unit, source=source, assumption=assumption)


def _read_part(r: _Reader, mission_spec_scoring: str = "strict") -> Part | None:
    number = r.number("number", low=1, high=99, integer=True)
    title = r.text("title", short=True)
    model = r.get("model", "the name of an engine model (frontier, fleet, privacy)", _is_identifier)
    briefing = r.text("briefing")
    objective = r.text("objective")
    budget = r.number("budget", default=10, low=1, high=100, integer=True)
    stakeholder = r.text("stakeholder", short=True)
    reflect_prompt = r.text("reflect_prompt")
    lock_reader = r.table_of("lock")
    lock = _read_lock(lock_reader) if lock_reader else None
    params: dict[str, Figure] = {}
    params_reader = r.table_of("params", default={})
    if params_reader is not None:
        for key, value in params_reader.table.items():
            params_reader.seen.add(key)
            if not _is_identifier(key):
                params_reader.problem(key, "a parameter name (letters, digits, _)", key)
            figure = _read_figure(params_reader, key, value)
            if figure is not None:
                params[key] = figure
    controls = [_read_control(c) for c in r.tables("controls")]
    names = [c.name for c in controls if c is not None]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        r.problem("controls", "distinct control names", dup)
    spec = [_read_spec(s) for s in r.tables("spec")]
    optimise = None
    opt_reader = r.table_of("optimise")
    if opt_reader is not None:
        metric = opt_reader.get("metric", "a metric name", _is_metric)
        goal = opt_reader.choice("goal", GOALS)
        worst = opt_reader.number("worst")
        best = opt_reader.number("best")
        if worst is not None and best is not None and goal is not None:
            if (goal == "max" and best <= worst) or (goal == "min" and best >= worst):
                opt_reader.problem("best", f"a value better than worst ({worst}) for goal {goal!r}", best)
        opt_reader.finish()
        if None not in (metric, goal, worst, best):
            optimise = Optimise(metric=metric, goal=goal, worst=float(worst), best=float(best))
    spec_scoring = r.choice("spec_scoring", SPEC_SCORING, default=mission_spec_scoring)
    weights = Weights()
    w_reader = r.table_of("weights", default=None)
    if w_reader is not None:
        values = {k: w_reader.number(k, default=getattr(weights, k), low=0, high=1000)
                  for k in ("lock", "spec", "runs", "margin", "reflection")}
        w_reader.finish()
        if None not in values.values():
            weights = Weights(**values)
            if weights.total <= 0:
                w_reader.problem(None, "weights adding up to more than 0", 0)
    r.finish()
    parsed = (number, title, model, briefing, objective, budget, stakeholder, reflect_prompt,
              lock, optimise)
    read_controls, read_spec = _every(controls), _every(spec)
    if None in parsed or lock is None or optimise is None or read_controls is None or read_spec is None:
        return None
    part = Part(
        number=int(number), title=title, model=model, briefing=briefing, objective=objective,
        budget=int(budget), stakeholder=stakeholder, reflect_prompt=reflect_prompt, lock=lock,
        params=frozen_mapping(params), controls=read_controls, spec=read_spec,
        optimise=optimise, weights=weights, spec_scoring=spec_scoring or mission_spec_scoring,
    )
    _check_against_model(r, part)
    return part


def _check_against_model(r: _Reader, part: Part) -> None:
    """Cross-check a part with the engine model it names: params, controls, metrics, truth.

    The one place a file meets the engine. The simulators know the mission's types for
    type checking only, so this import runs one way (see docs/architecture.md); it sits
    here, not at the top, so that the title screen draws before numpy and the engine load.
    """
    if not _CHECK_MODELS.get():
        return
    from edgequest.simulators.registry import models

    known = models()
    model = known.get(part.model)
    if model is None:
        r.problem("model", "one of " + ", ".join(sorted(known)), part.model)
        return
    for problem in model.check_part(part):
        r.problems.append(f"{r.file}: {r.path}.{problem}")


# --------------------------------------------------------------------------- helpers


def _every(items: list[_T | None]) -> tuple[_T, ...] | None:
    """All the items, or None when one of them could not be read."""
    present = tuple(item for item in items if item is not None)
    return present if len(present) == len(items) else None


def reflow(text: str) -> str:
    """Prose as the screen should wrap it: lines of a paragraph joined, blank lines kept.

    Mission files wrap their multi-line strings at the author's width; the TUI wraps at
    the terminal's, so the author's line breaks are dropped and paragraphs kept.
    """
    paragraphs = [" ".join(line.strip() for line in block.splitlines() if line.strip())
                  for block in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _is_number(value: Any, integer: bool) -> bool:
    if isinstance(value, bool):
        return False
    if integer:
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


def _is_identifier(value: Any) -> bool:
    return isinstance(value, str) and value.isidentifier() and len(value) <= 60


def _is_metric(value: Any) -> bool:
    return isinstance(value, str) and all(_is_identifier(p) for p in value.split("."))


def _bounds(low: float, high: float) -> str:
    if low == -math.inf and high == math.inf:
        return ""
    if high == math.inf:
        return f" >= {low:g}"
    if low == -math.inf:
        return f" <= {high:g}"
    return f" from {low:g} to {high:g}"


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "text",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind} {shown}" if not isinstance(value, (dict, list)) else kind


__all__ = ["ControlError", "check_missions", "load_campaign", "load_mission", "load_mission_bytes", "mission_dir", "mission_paths"]
