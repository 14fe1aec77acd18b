"""Replay a record part by part through the game core (the command is in :mod:`replay_cmd`).

:meth:`Game.replay` stops at the first move the rules refuse, which is right for loading
a save to play on. A grader needs more: which *part* broke, so that the parts before it
still earn their points and the broken one is reported "not gradable" with the reason.
:func:`replay_record` therefore makes the same calls as :meth:`Game.replay`, in the same
order, but catches the refusal per part. Later parts need the broken one finished (the
rules open parts in order), so moves recorded for them are refused too, saying why.
``tests/test_replay.py`` checks that both replays agree on every record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgequest.campaign.schema import Mission
from edgequest.errors import GameError
from edgequest.game.play import Game
from edgequest.game.record import Record


@dataclass(frozen=True)
class Replay:
    """A game rebuilt from a record, with what could not be replayed and why."""

    game: Game
    part_problems: dict[int, str] = field(default_factory=dict)
    save_problems: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.part_problems and not self.save_problems


def replay_record(mission: Mission, record: Record) -> Replay:
    """Replay every move of ``record`` on ``mission``; refusals are collected, not raised."""
    if record.track != mission.id:
        raise GameError(f"the record is for track {record.track!r}, not {mission.id!r}")
    game = Game(mission, record.seed)
    numbers = set(game.part_numbers)
    save_problems = [
        f"record.parts.{n}: track {mission.id!r} has no part {n} (its parts are "
        + ", ".join(map(str, sorted(numbers))) + ")"
        for n in sorted(set(record.parts) - numbers)
    ]
    part_problems: dict[int, str] = {}
    broken: int | None = None
    for number in game.part_numbers:
        rec = record.parts.get(number)
        if rec is None or rec.is_empty:
            continue
        if broken is not None:
            part_problems[number] = (
                f"part {number}: moves were recorded after part {broken}, which could not be replayed"
            )
            continue
        try:
            game.replay_part(number, rec)
        except GameError as exc:
            part_problems[number] = f"part {number}: {_strip_part(exc, number)}"
            broken = number
    if record.ledger is not None:
        if broken is not None:
            save_problems.append(f"the Ledger was recorded after part {broken}, which could not be replayed")
        else:
            try:
                game.write_ledger(record.ledger)
            except GameError as exc:
                save_problems.append(str(exc))
    return Replay(game=game, part_problems=part_problems, save_problems=tuple(save_problems))


def _strip_part(exc: Exception, number: int) -> str:
    text = str(exc)
    prefix = f"part {number}: "
    return text[len(prefix):] if text.startswith(prefix) else text
