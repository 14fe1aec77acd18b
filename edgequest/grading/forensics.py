"""Forensics: signs that a save was copied, looked up or not played by a person.

A flag is never a grade: it names the saves and says what was seen, for an instructor
to look at. Four kinds:

- ``identical``: two players handed in the same moves and the same words (every Lock
  answer, run design, commit, reflection and the Ledger; the seed and times aside).
- ``near-identical``: two players made the same run designs in the same order and the
  same commits in every part, with at least :data:`MIN_RUNS_TO_MATCH` runs in all; their
  Lock answers and words may differ. A handful of runs can coincide by chance; a long
  sequence rarely does.
- ``lock-precision``: a Lock answer written with 4 or more significant digits that equals
  the engine's answer to that precision (an estimate is rarely that exact; the engine's
  answer can be read off a replay or the public code).
- ``timing``: move times the game could not have written: two moves closer than
  :data:`MIN_GAP_S` seconds (every move takes several key presses), times running
  backwards within a session, moves stamped out of the rules' order, or stamps that do
  not match the moves. Saves without times (older ones) are not flagged.

This module reads records and plain grade data only; it imports nothing of the grader.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping, Sequence

from edgequest.game.record import LEDGER_PART, MOVES, Record

MIN_RUNS_TO_MATCH = 4
MIN_GAP_S = 0.3
LOCK_DIGITS = 4


@dataclass(frozen=True)
class Flag:
    kind: str  # identical | near-identical | lock-precision | timing
    detail: str
    saves: tuple[str, ...]  # the saves concerned, this one first

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "saves": list(self.saves)}

    def text(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass(frozen=True)
class Fingerprint:
    """What cross-save comparison needs of one record."""

    player: str
    record_sha256: str  # every move and every word, seed and times aside
    design_sha256: str  # the run designs and commits only
    runs: int
    moves: int


def fingerprint(player: str, record: Record) -> Fingerprint:
    data = record.to_dict()
    data.pop("seed", None)
    data.pop("times", None)
    design = {"track": record.track,
              "parts": {str(n): {"runs": p.runs, "commit": p.commit} for n, p in sorted(record.parts.items())}}
    return Fingerprint(player=player, record_sha256=_digest(data), design_sha256=_digest(design),
                       runs=sum(len(p.runs) for p in record.parts.values()), moves=len(record.moves()))


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cross_flags(prints: Sequence[tuple[str, Fingerprint | None]]) -> dict[int, list[Flag]]:
    """Flags for saves identical or near-identical to another player's, by index in ``prints``."""
    known = [(i, source, fp) for i, (source, fp) in enumerate(prints) if fp is not None]
    found: dict[int, list[Flag]] = defaultdict(list)
    for kind in ("identical", "near-identical"):
        groups: dict[str, list[tuple[int, str, Fingerprint]]] = defaultdict(list)
        for entry in known:
            fp = entry[2]
            if kind == "identical" and fp.moves >= 1:
                groups[fp.record_sha256].append(entry)
            elif kind == "near-identical" and fp.runs >= MIN_RUNS_TO_MATCH:
                groups[fp.design_sha256].append(entry)
        for members in groups.values():
            if len({fp.player for _, _, fp in members}) < 2:
                continue  # one player's own saves may repeat
            for i, source, fp in members:
                # a near-identical save names only those not already named as identical
                others = [(s, o) for _, s, o in members if o.player != fp.player
                          and (kind == "identical" or o.record_sha256 != fp.record_sha256)]
                if not others:
                    continue
                what = ("the same moves and words" if kind == "identical" else
                        f"the same {fp.runs} run designs and commits in the same order")
                names = ", ".join(f"{s} (player {o.player})" for s, o in others)
                found[i].append(Flag(kind, f"{what} as {names}", (source, *(s for s, _ in others))))
    return dict(found)


# ------------------------------------------------------------------ one save


def lock_flags(source: str, locks: Iterable[tuple[int, Mapping[str, Any]]]) -> list[Flag]:
    """Lock answers given to :data:`LOCK_DIGITS`+ significant digits that equal the engine's answer."""
    flags = []
    for number, lock in locks:
        answer, truth = lock.get("answer"), lock.get("truth")
        digits = significant_digits(answer)
        if digits < LOCK_DIGITS or not _is_number(truth) or truth == 0:
            continue
        if float(f"{answer:.{digits}g}") == float(f"{truth:.{digits}g}"):
            flags.append(Flag("lock-precision", f"part {number}: the Lock answer {answer!r} equals the engine's "
                              f"answer {truth:.6g} to {digits} significant digits", (source,)))
    return flags


def significant_digits(value: Any) -> int:
    """How many significant digits a number was written with (0 for anything else)."""
    if not _is_number(value):
        return 0
    try:
        digits = Decimal(repr(value)).normalize().as_tuple().digits
    except (InvalidOperation, ValueError):
        return 0
    return len(digits) if value != 0 else 0


def timing_flags(source: str, record: Record) -> list[Flag]:
    """Move times the game could not have written (see the module docstring)."""
    if not record.times:
        return []
    flags = []
    wanted: dict[tuple[int, str], int] = defaultdict(int)
    for move in record.moves():
        wanted[move] += 1
    stamped: dict[tuple[int, str], int] = defaultdict(int)
    for stamp in record.times:
        stamped[(stamp.part, stamp.move)] += 1
    if stamped != wanted:
        flags.append(Flag("timing", f"the move times list {sum(stamped.values())} moves, the record holds "
                          f"{sum(wanted.values())} (or not the same ones)", (source,)))
    fast: list[str] = []
    disorder: list[str] = []
    backwards: list[str] = []
    for a, b in zip(record.times, record.times[1:]):  # in the order the game wrote them
        if a.session == b.session and b.t < a.t:
            backwards.append(f"times run backwards in session {a.session} ({_name(a)} at {a.t:.3f} s, "
                             f"then {_name(b)} at {b.t:.3f} s)")
    ordered = sorted(record.times, key=lambda s: (s.session, s.t, _rank(s.part, s.move)))
    for a, b in zip(ordered, ordered[1:]):
        if a.session == b.session and 0 < b.t - a.t < MIN_GAP_S:
            fast.append(f"{_name(a)} and {_name(b)} {b.t - a.t:.3f} s apart in session {b.session}")
        if _rank(b.part, b.move) < _rank(a.part, a.move):
            disorder.append(f"{_name(b)} was stamped after {_name(a)}, which the rules put later")
    for problems in (backwards, fast, disorder):
        if problems:
            more = f" (and {len(problems) - 1} more like it)" if len(problems) > 1 else ""
            flags.append(Flag("timing", problems[0] + more, (source,)))
    return flags


def _rank(part: int, move: str) -> tuple[int, int]:
    return (100 if part == LEDGER_PART else part, MOVES.index(move))


def _name(stamp: Any) -> str:
    return "the Ledger" if stamp.part == LEDGER_PART else f"part {stamp.part} {stamp.move}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
