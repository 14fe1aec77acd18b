"""The input record: everything a player did, and nothing the game computed.

Outcomes are always re-derived by replaying the record through the game core, so a
record can be trusted only as far as its moves are legal; :meth:`Record.from_dict`
checks shapes and types, and the replay checks the rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from edgequest.errors import SaveError

MAX_TEXT_CHARS = 20_000  # a reflection or a Ledger: plenty for prose, bounded for graders
MAX_RUNS_STORED = 100  # no part budget exceeds this; a larger list is not a real record
MAX_SEED = 2**63 - 1
MAX_TIMES = 2_000  # one stamp per move: far more than any campaign makes
MOVES = ("lock", "run", "commit", "reflection", "ledger")  # what a time stamp may name
LEDGER_PART = 0  # the part number a Ledger stamp carries

Scalar = int | float | str


@dataclass
class PartRecord:
    """One part's moves: the Lock answer, each run's controls, the commit, the reflection."""

    lock: Scalar | None = None
    runs: list[dict[str, Scalar]] = field(default_factory=list)
    commit: int | None = None
    reflection: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.lock is None and not self.runs and self.commit is None and self.reflection is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "lock": self.lock,
            "runs": [dict(run) for run in self.runs],
            "commit": self.commit,
            "reflection": self.reflection,
        }


@dataclass
class Record:
    """A track's moves, part by part, with the seed every random draw derives from."""

    track: str
    seed: int
    parts: dict[int, PartRecord] = field(default_factory=dict)
    ledger: str | None = None
    # When each move was made: optional (older saves have none), never scored, not compared.
    times: list[MoveTime] = field(default_factory=list, compare=False)

    def part(self, number: int) -> PartRecord:
        return self.parts.setdefault(number, PartRecord())

    def moves(self) -> list[tuple[int, str]]:
        """Every move the record holds as (part, move), in play order (the Ledger is part 0)."""
        found: list[tuple[int, str]] = []
        for number, rec in sorted(self.parts.items()):
            if rec.lock is not None:
                found.append((number, "lock"))
            found.extend((number, "run") for _ in rec.runs)
            if rec.commit is not None:
                found.append((number, "commit"))
            if rec.reflection is not None:
                found.append((number, "reflection"))
        if self.ledger is not None:
            found.append((LEDGER_PART, "ledger"))
        return found

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "track": self.track,
            "seed": self.seed,
            "parts": {str(n): p.to_dict() for n, p in sorted(self.parts.items())},
            "ledger": self.ledger,
        }
        if self.times:  # absent rather than empty, so records without times keep their old bytes
            data["times"] = [t.to_dict() for t in self.times]
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "record") -> "Record":
        """Rebuild a record from plain data, raising :class:`SaveError` naming what is wrong."""
        obj = _expect_table(data, where, {"track", "seed", "parts", "ledger", "times"})
        track = obj.get("track")
        if not isinstance(track, str) or not track:
            raise SaveError(f"{where}.track: expected a track id, found {_show(track)}")
        seed = obj.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise SaveError(f"{where}.seed: expected an integer from 0 to 2^63-1, found {_show(seed)}")
        parts_data = obj.get("parts", {})
        if not isinstance(parts_data, dict):
            raise SaveError(f"{where}.parts: expected a table of parts, found {_show(parts_data)}")
        if len(parts_data) > 20:
            raise SaveError(f"{where}.parts: expected at most 20 parts, found {len(parts_data)}")
        parts: dict[int, PartRecord] = {}
        for key, value in parts_data.items():
            # isdigit() alone admits "²" and other non-ASCII digits, which int() then refuses.
            if not isinstance(key, str) or not _is_part_key(key):
                raise SaveError(f"{where}.parts: expected part numbers 1 to 99, found {_show(key)}")
            parts[int(key)] = _part_from_dict(value, f"{where}.parts.{key}")
        ledger = _text(obj.get("ledger"), f"{where}.ledger")
        times = _times_from(obj.get("times", []), f"{where}.times")
        return cls(track=track, seed=seed, parts=parts, ledger=ledger, times=times)


@dataclass(frozen=True)
class MoveTime:
    """When a move was made: ``t`` seconds after the game session ``session`` opened.

    ``t`` comes from a monotonic clock, so within one session the stamps only grow;
    sessions are numbered from 0 in the order they wrote the save.
    """

    part: int
    move: str
    session: int
    t: float

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "move": self.move, "session": self.session, "t": self.t}


def _is_part_key(key: str) -> bool:
    return key.isascii() and key.isdigit() and key == str(int(key)) and 1 <= int(key) <= 99


def _times_from(data: Any, where: str) -> list[MoveTime]:
    if not isinstance(data, list):
        raise SaveError(f"{where}: expected a list of move times, found {_show(data)}")
    if len(data) > MAX_TIMES:
        raise SaveError(f"{where}: expected at most {MAX_TIMES} move times, found {len(data)}")
    times = []
    for i, item in enumerate(data):
        obj = _expect_table(item, f"{where}[{i}]", {"part", "move", "session", "t"})
        part, move, session, t = obj.get("part"), obj.get("move"), obj.get("session"), obj.get("t")
        if isinstance(part, bool) or not isinstance(part, int) or not 0 <= part <= 99:
            raise SaveError(f"{where}[{i}].part: expected a part number 0 to 99, found {_show(part)}")
        if move not in MOVES:
            raise SaveError(f"{where}[{i}].move: expected one of {', '.join(MOVES)}, found {_show(move)}")
        if isinstance(session, bool) or not isinstance(session, int) or not 0 <= session <= 100_000:
            raise SaveError(f"{where}[{i}].session: expected a session number 0 to 100000, found {_show(session)}")
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not (math.isfinite(t) and 0 <= t <= 1e9):
            raise SaveError(f"{where}[{i}].t: expected seconds from 0 to 1e9, found {_show(t)}")
        times.append(MoveTime(part=part, move=move, session=session, t=float(t)))
    return times


def _part_from_dict(data: Any, where: str) -> PartRecord:
    obj = _expect_table(data, where, {"lock", "runs", "commit", "reflection"})
    lock = obj.get("lock")
    if lock is not None and not _is_scalar(lock):
        raise SaveError(f"{where}.lock: expected a number or a choice, found {_show(lock)}")
    runs_data = obj.get("runs", [])
    if not isinstance(runs_data, list):
        raise SaveError(f"{where}.runs: expected a list of runs, found {_show(runs_data)}")
    if len(runs_data) > MAX_RUNS_STORED:
        raise SaveError(f"{where}.runs: expected at most {MAX_RUNS_STORED} runs, found {len(runs_data)}")
    runs = []
    for i, run in enumerate(runs_data):
        if not isinstance(run, dict) or len(run) > 50:
            raise SaveError(f"{where}.runs[{i}]: expected a table of control values, found {_show(run)}")
        for name, value in run.items():
            if not isinstance(name, str) or len(name) > 60 or not _is_scalar(value):
                raise SaveError(f"{where}.runs[{i}].{name}: expected a number or a choice, found {_show(value)}")
        runs.append(dict(run))
    commit = obj.get("commit")
    if commit is not None and (isinstance(commit, bool) or not isinstance(commit, int) or commit < 0):
        raise SaveError(f"{where}.commit: expected a run number (0 or more), found {_show(commit)}")
    reflection = _text(obj.get("reflection"), f"{where}.reflection")
    return PartRecord(lock=lock, runs=runs, commit=commit, reflection=reflection)


def _expect_table(data: Any, where: str, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise SaveError(f"{where}: expected a table, found {_show(data)}")
    unknown = sorted(str(k) for k in data if k not in keys)
    if unknown:
        raise SaveError(f"{where}: unknown key {unknown[0]!r}; accepted: {', '.join(sorted(keys))}")
    return data


def _text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SaveError(f"{where}: expected text, found {_show(value)}")
    if len(value) > MAX_TEXT_CHARS:
        raise SaveError(f"{where}: expected at most {MAX_TEXT_CHARS} characters, found {len(value)}")
    return value


def _is_scalar(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= 2**53
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= 100


def _show(value: Any) -> str:
    kind = type(value).__name__
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{kind} {text}"
