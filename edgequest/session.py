"""A player's session on one track: the save slot, the resumed game, autosave after every move.

The terminal front end drives the game through this layer and never touches the save
files itself, so everything here works (and is tested) without Textual:

- :meth:`Session.open` takes the track's save slot (read-only when another session holds
  it), and resumes the saved game by replaying its moves on the mission *version* the
  save recorded (looked up by the SHA-256 of its bytes), never on a newer file that
  could change old outcomes.
- A save that cannot be resumed (unreadable, played on a mission version this EdgeQuest
  does not have, moves the rules refuse) leaves the session with a :class:`ResumeProblem`
  and no game. :meth:`Session.start_fresh` keeps the old file beside the new one, so
  nothing a player did is destroyed.
- Every move (:meth:`lock`, :meth:`run`, :meth:`commit`, :meth:`reflect`,
  :meth:`write_ledger`) goes through the game's rules and is then written atomically
  through :class:`~edgequest.saves.store.SaveSlot`.
- What the player has typed or set but not yet played (a workbench's controls not yet
  run, a reflection or Ledger not yet submitted) is kept as *drafts* in a hidden file
  beside the save (``.<player>__<track>.drafts``; the grader never reads it), written
  at most every half second while it changes and at once on quit or hang-up, so a
  dropped connection loses none of it.

Moves may come from a worker thread (a run simulates off the screen's thread); a lock
keeps one move and its save together. The game modules (and numpy) are imported on
first use, so that the title screen does not wait for them.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, TypeVar

from edgequest.campaign.schema import Mission, Scalar
from edgequest.errors import EdgeQuestError, GameError, SaveError
from edgequest.game.record import Record
from edgequest.saves.store import SaveData, SaveSlot, read_save, save_path, write_atomic

if TYPE_CHECKING:  # the game core imports numpy; keep it off the title screen's path
    from edgequest.game.play import Game, RunOutcome

T = TypeVar("T")


def new_seed() -> int:
    """A fresh seed for a new game: 63 random bits, as a save's seed field accepts."""
    return secrets.randbits(63)


@dataclass(frozen=True)
class ResumeProblem:
    """Why a save could not be resumed, in words for the player."""

    reason: str
    can_start_fresh: bool


@dataclass(frozen=True)
class TrackProgress:
    """How far a player got on a track, read from the save without replaying it.

    The title screen shows it for every track, so it must be cheap: it reads the moves,
    not their outcomes.
    """

    parts_done: int
    parts_total: int
    current_part: int | None
    stage: str
    ledger_written: bool
    started: bool
    problem: str | None = None

    @property
    def summary(self) -> str:
        if self.problem:
            return "save needs attention"
        if not self.started:
            return "not started"
        if self.ledger_written:
            return "complete"
        if self.current_part is None:
            return "Ledger to write"
        return f"part {self.current_part} of {self.parts_total}: {self.stage}"


def track_progress(mission: Mission, save_dir: Path, player: str) -> TrackProgress:
    """Progress on ``mission`` from ``player``'s save, without taking the save's lock."""
    total = len(mission.parts)
    try:
        path = save_path(save_dir, player, mission.id)
        if not path.exists():
            return TrackProgress(0, total, mission.parts[0].number, "briefing", False, False)
        save = read_save(path)
    except SaveError as exc:
        return TrackProgress(0, total, None, "", False, True, problem=str(exc))
    return progress_of_record(mission, save.record)


def progress_of_record(mission: Mission, record: Record) -> TrackProgress:
    total = len(mission.parts)
    done = 0
    current: int | None = None
    stage = ""
    for part in mission.parts:
        rec = record.parts.get(part.number)
        if rec is not None and rec.reflection is not None:
            done += 1
            continue
        current = part.number
        if rec is None or rec.lock is None:
            stage = "briefing"
        elif rec.commit is None:
            stage = f"workbench, {len(rec.runs)}/{part.budget} runs"
        else:
            stage = "reflection"
        break
    started = bool(record.parts) or record.ledger is not None
    return TrackProgress(done, total, current, stage, record.ledger is not None, started)


class Session:
    """One player on one track, from opening the save to closing it."""

    def __init__(
        self,
        mission: Mission,
        slot: SaveSlot,
        game: "Game | None",
        problem: ResumeProblem | None = None,
        notices: tuple[str, ...] = (),
    ):
        self.current_mission = mission
        self.slot = slot
        self.game = game
        self.problem = problem
        self.notices = notices
        self.saved_at: float | None = None
        self.backup: Path | None = None
        self._lock = threading.RLock()
        self._drafts: dict[str, Any] = _read_drafts(self.drafts_path) if not slot.read_only else {}
        self._drafts_dirty = False
        self._drafts_written = 0.0

    # ------------------------------------------------------------------ drafts

    @property
    def drafts_path(self) -> Path:
        return self.slot.path.with_name(f".{self.slot.path.stem}.drafts")

    def draft(self, key: str) -> Any:
        """A draft kept under ``key`` ("controls-1", "reflection-2", "ledger"), or None."""
        return self._drafts.get(key)

    def keep_draft(self, key: str, value: Any) -> None:
        """Keep (None: forget) a draft; written now unless one was written < 0.5 s ago."""
        if self.read_only or self._drafts.get(key) == value:
            return
        if value is None:
            self._drafts.pop(key, None)
        else:
            self._drafts[key] = value
        self._drafts_dirty = True
        if time.monotonic() - self._drafts_written >= 0.5:
            self.flush_drafts()

    def flush_drafts(self) -> None:
        """Write the drafts if they changed since the last write (never raises)."""
        if not self._drafts_dirty or self.read_only:
            return
        self._drafts_dirty = False
        self._drafts_written = time.monotonic()
        try:
            if self._drafts:
                # Not fsynced: drafts change as the player types, and are a convenience.
                write_atomic(self.drafts_path, json.dumps(self._drafts, sort_keys=True).encode(), durable=False)
            elif self.drafts_path.exists():
                self.drafts_path.unlink()
        except OSError:
            self._drafts_dirty = True  # tried again with the next change, or on quit

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        mission: Mission,
        save_dir: Path,
        player: str,
        seed: int | None = None,
        *,
        versions: Callable[[str], Mission | None] | None = None,
    ) -> "Session":
        """Take the save slot of ``player`` on ``mission`` and resume or start the game.

        ``versions`` finds a mission version by its SHA-256 (the released versions by
        default); tests pass their own. Raises :class:`SaveError` only when the save
        folder itself is unusable; a bad save becomes a :class:`ResumeProblem`.
        """
        from edgequest.game.play import Game

        slot = SaveSlot.open(Path(save_dir), player, mission.id)
        notices: list[str] = []
        if slot.read_only:
            notices.append(f"Read-only: {slot.holder} holds this save. Moves here are not saved.")
        try:
            save = slot.load()
        except SaveError as exc:
            return cls._unresumable(mission, slot, f"the save cannot be read: {exc}", notices)
        if save is None:
            return cls(mission, slot, Game(mission, new_seed() if seed is None else seed), notices=tuple(notices))
        version = _mission_version(mission, save, versions)
        if version is None:
            return cls._unresumable(
                mission, slot,
                f"the save was played on a version of {mission.name} (mission file "
                f"{save.mission_sha256[:12]}) that this EdgeQuest does not have",
                notices,
            )
        try:
            game = Game.replay(version, save.record)
        except EdgeQuestError as exc:
            return cls._unresumable(mission, slot, f"the save's moves do not replay: {exc}", notices)
        if version.sha256 != mission.sha256:
            notices.append(
                "Resumed on the mission version this save started with; the current mission "
                "file differs, and a new game would use it."
            )
        session = cls(version, slot, game, notices=tuple(notices))
        session.current_mission = mission
        return session

    @classmethod
    def _unresumable(cls, mission: Mission, slot: SaveSlot, reason: str, notices: list[str]) -> "Session":
        fresh = not slot.read_only
        return cls(mission, slot, None, ResumeProblem(reason, fresh), tuple(notices))

    def start_fresh(self, seed: int | None = None) -> Path | None:
        """Start a new game on the current mission, keeping an unresumable save beside it.

        Returns where the old save was kept (None when there was none).
        """
        from edgequest.game.play import Game

        self._check_writable()
        with self._lock:
            backup = None
            if self.slot.path.exists():
                stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
                backup = self.slot.path.with_name(f"{self.slot.path.name}.kept-{stamp}")
                try:
                    write_atomic(backup, self.slot.path.read_bytes())
                except OSError as exc:
                    raise SaveError(f"{backup}: cannot keep the old save ({exc.strerror or exc})") from None
            self.game = Game(self.current_mission, new_seed() if seed is None else seed)
            self._drafts, self._drafts_dirty = {}, True  # a fresh game: the old drafts are dropped
            self.problem = None
            self.backup = backup
            self._save()
            return backup

    # ------------------------------------------------------------------ reading

    @property
    def mission(self) -> Mission:
        """The mission version being played (the save's own version when resumed)."""
        return self.game.mission if self.game is not None else self.current_mission

    @property
    def read_only(self) -> bool:
        return self.slot.read_only

    @property
    def holder(self) -> str | None:
        return self.slot.holder

    @property
    def path(self) -> Path:
        return self.slot.path

    @property
    def record(self) -> Record:
        return self._game().record

    # ------------------------------------------------------------------ moves

    def lock(self, part: int, answer: object) -> Scalar:
        return self._move(lambda game: game.answer_lock(part, answer))

    def run(self, part: int, controls: Mapping[str, Any]) -> "RunOutcome":
        return self._move(lambda game: game.run(part, controls))

    def commit(self, part: int, run_index: int | None = None) -> "RunOutcome":
        outcome = self._move(lambda game: game.commit(part, run_index))
        self.keep_draft(f"controls-{part}", None)  # the workbench is closed: nothing to resume
        return outcome

    def reflect(self, part: int, text: str, *, confirm_short: bool = False) -> None:
        self._move(lambda game: game.reflect(part, text, confirm_short=confirm_short))
        self.keep_draft(f"reflection-{part}", None)

    def write_ledger(self, text: str) -> None:
        self._move(lambda game: game.write_ledger(text))
        self.keep_draft("ledger", None)

    def submit_ledger(self, strategy: str | None, body: str) -> None:
        self._move(lambda game: game.submit_ledger(strategy, body))
        self.keep_draft("ledger", None)

    def _move(self, move: Callable[["Game"], T]) -> T:
        self._check_writable()
        with self._lock:
            result = move(self._game())
            self._save()
            return result

    # ------------------------------------------------------------------ saving

    def save(self) -> bool:
        """Write the record now (the hang-up handler's last word); False if nothing to write."""
        if self.read_only or self.game is None:
            return False
        self.flush_drafts()
        acquired = self._lock.acquire(timeout=1.0)
        try:
            self._save()
        finally:
            if acquired:
                self._lock.release()
        return True

    def _save(self) -> None:
        game = self._game()
        try:
            self.slot.write(game.mission.id, game.mission.sha256, game.record)
        except OSError as exc:
            raise SaveError(
                f"{self.slot.path}: could not save ({exc.strerror or exc}); your moves are kept "
                "in this session and saved with the next one"
            ) from None
        self.saved_at = time.time()

    def close(self) -> None:
        self.flush_drafts()
        self.slot.close()

    def _check_writable(self) -> None:
        if self.read_only:
            raise SaveError(
                f"read-only: {self.holder} holds this save; close that session to play here"
            )

    def _game(self) -> "Game":
        if self.game is None:
            reason = self.problem.reason if self.problem else "no game is open"
            raise GameError(f"this save cannot be played: {reason}")
        return self.game


def _read_drafts(path: Path) -> dict[str, Any]:
    """The drafts file as a dict; a missing or damaged one is no drafts (they are a convenience)."""
    try:
        if path.stat().st_size > 1_000_000:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _mission_version(
    current: Mission, save: SaveData, versions: Callable[[str], Mission | None] | None
) -> Mission | None:
    if save.mission_sha256 == current.sha256:
        return current
    if versions is None:
        from edgequest.campaign.versions import mission_by_sha256

        versions = mission_by_sha256
    try:
        found = versions(save.mission_sha256)
    except EdgeQuestError:  # a broken released file is as good as no file
        return None
    if found is not None and found.id != current.id:
        return None
    return found
