"""One save file per player and track: written atomically, held by one session at a time.

Format (JSON, UTF-8), version 1::

    {"format": "edgequest-save", "format_version": 1, "edgequest_version": "0.1.0",
     "mission": {"id": "cloud-titan", "sha256": "<sha-256 of the mission file's bytes>"},
     "player": "ada", "created": "<ISO 8601 UTC>", "updated": "<ISO 8601 UTC>",
     "record": {<edgequest.game.record.Record.to_dict()>}}

Only inputs are stored; a grader recomputes every outcome. Writes go to a temporary file
in the same folder, are fsynced, renamed over the save with ``os.replace`` and the
folder is fsynced, so a crash at any moment leaves the old save or the new one. A
session holds ``<save>.lock`` with ``fcntl.lockf``; a second session is told who holds
it and continues read-only.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgequest import __version__
from edgequest.errors import SaveError
from edgequest.game.record import Record

FORMAT = "edgequest-save"
FORMAT_VERSION = 1
MAX_SAVE_BYTES = 2_000_000  # a full campaign is a few kB; anything near this is not a save
SAVE_DIR_ENV = "EDGEQUEST_SAVE_DIR"
_PLAYER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


@dataclass
class SaveData:
    """A save's contents: who played which mission version, and the moves."""

    mission_id: str
    mission_sha256: str
    player: str
    created: str
    updated: str
    record: Record
    edgequest_version: str = __version__
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "edgequest_version": self.edgequest_version,
            "mission": {"id": self.mission_id, "sha256": self.mission_sha256},
            "player": self.player,
            "created": self.created,
            "updated": self.updated,
            "record": self.record.to_dict(),
        }


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def default_save_dir() -> Path:
    """``$EDGEQUEST_SAVE_DIR``, else ``saves/`` under the working directory."""
    env = os.environ.get(SAVE_DIR_ENV)
    return Path(env) if env else Path.cwd() / "saves"


def check_player(name: str) -> str:
    if not isinstance(name, str) or not _PLAYER_RE.match(name):
        raise SaveError(
            f"player name {name!r} is not accepted; use 1 to 40 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def default_player() -> str:
    for var in ("EDGEQUEST_PLAYER", "USER", "LOGNAME"):
        value = re.sub(r"[^A-Za-z0-9._-]", "-", os.environ.get(var, ""))[:40].lstrip("._-")
        if value:
            return value
    return "player"


def save_path(save_dir: Path, player: str, track: str) -> Path:
    """The save of ``player`` on ``track`` inside ``save_dir`` (names are checked)."""
    check_player(player)
    if not re.match(r"^[a-z0-9-]{1,40}$", track):
        raise SaveError(f"track id {track!r} cannot name a save file")
    return save_dir / f"{player}__{track}.json"


def safe_target(save_dir: Path, path: Path) -> Path:
    """Refuse a save path that is a link or lies outside the save folder."""
    if path.is_symlink():
        raise SaveError(f"{path}: is a symbolic link; saves are plain files inside {save_dir}")
    folder = save_dir.resolve()
    resolved = path.resolve()
    if resolved.parent != folder:
        raise SaveError(f"{path}: lies outside the save folder {folder}")
    return resolved


# ------------------------------------------------------------------ reading


def parse_save(raw: bytes, name: str = "save") -> SaveData:
    """Validate a save's bytes; raise :class:`SaveError` saying what is wrong and where."""
    if len(raw) > MAX_SAVE_BYTES:
        raise SaveError(f"{name}: {len(raw)} bytes; a save is at most {MAX_SAVE_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise SaveError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    except (ValueError, RecursionError) as exc:
        raise SaveError(f"{name}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SaveError(f"{name}: not an EdgeQuest save (no \"format\": \"{FORMAT}\")")
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise SaveError(f"{name}: format_version: expected an integer, found {version!r:.40}")
    if version > FORMAT_VERSION:
        raise SaveError(
            f"{name}: format_version {version} is newer than this EdgeQuest reads ({FORMAT_VERSION}); upgrade EdgeQuest"
        )
    data = migrate(data, version, name)
    allowed = {"format", "format_version", "edgequest_version", "mission", "player", "created", "updated", "record"}
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise SaveError(f"{name}: unknown key {unknown[0]!r:.60}; accepted: {', '.join(sorted(allowed))}")
    mission = data.get("mission")
    if not isinstance(mission, dict) or set(mission) != {"id", "sha256"}:
        raise SaveError(f"{name}: mission: expected {{\"id\": ..., \"sha256\": ...}}")
    sha = mission["sha256"]
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise SaveError(f"{name}: mission.sha256: expected 64 hex digits, found {sha!r:.70}")
    for key in ("edgequest_version", "player", "created", "updated"):
        if not isinstance(data.get(key), str) or len(data[key]) > 100:
            raise SaveError(f"{name}: {key}: expected text, found {data.get(key)!r:.40}")
    check_player(data["player"])
    record = Record.from_dict(data.get("record"), f"{name}: record")
    if record.track != mission["id"]:
        raise SaveError(f"{name}: record.track {record.track!r} differs from mission.id {mission['id']!r}")
    return SaveData(
        mission_id=mission["id"], mission_sha256=sha, player=data["player"], created=data["created"],
        updated=data["updated"], record=record, edgequest_version=data["edgequest_version"],
        format_version=FORMAT_VERSION,
    )


def migrate(data: dict[str, Any], version: int, name: str) -> dict[str, Any]:
    """Bring an older save up to the current format, one version at a time.

    Version 1 is the first format, so there is nothing to migrate yet; a future version 2
    adds a ``_migrate_1_to_2`` step here and keeps a version-1 sample save in the tests.
    """
    if version < 1:
        raise SaveError(f"{name}: format_version {version} was never a save format")
    return data


def read_save(path: Path) -> SaveData:
    if path.is_symlink():
        raise SaveError(f"{path}: is a symbolic link; give the save file itself")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SAVE_BYTES + 1)
    except IsADirectoryError:
        raise SaveError(f"{path}: is a folder, not a save file") from None
    except OSError as exc:
        raise SaveError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return parse_save(raw, str(path))


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a number a save may hold")


# ------------------------------------------------------------------ writing


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file."""
    folder = path.parent
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class SaveSlot:
    """A player's save on one track, held by this session (or read-only if another holds it).

    Use :meth:`open`, then :meth:`load` once and :meth:`write` after every action;
    :meth:`close` releases the lock.
    """

    def __init__(self, save_dir: Path, player: str, track: str):
        self.save_dir = save_dir
        self.player = check_player(player)
        self.path = save_path(save_dir, player, track)
        self.read_only = False
        self.holder: str | None = None
        self._lock_fd: int | None = None
        self.created: str | None = None

    @classmethod
    def open(cls, save_dir: Path, player: str, track: str) -> "SaveSlot":
        slot = cls(save_dir, player, track)
        try:
            save_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SaveError(f"{save_dir}: cannot create the save folder ({exc.strerror or exc})") from None
        if save_dir.is_symlink() or not save_dir.is_dir():
            raise SaveError(f"{save_dir}: the save folder must be a plain folder")
        safe_target(save_dir, slot.path)
        slot._acquire()
        return slot

    def _acquire(self) -> None:
        import fcntl

        lock_path = self.path.with_name(self.path.name + ".lock")
        if lock_path.is_symlink():
            raise SaveError(f"{lock_path}: is a symbolic link; remove it")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                os.close(fd)
                raise SaveError(f"{lock_path}: cannot lock ({exc.strerror})") from None
            try:
                self.holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another session"
            finally:
                os.close(fd)
            self.read_only = True
            return
        holder = f"{self.player} on {socket.gethostname()}, process {os.getpid()}, since {now_iso()}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        self._lock_fd = fd

    def load(self) -> SaveData | None:
        """The saved game, or None when there is none yet."""
        if not self.path.exists():
            return None
        save = read_save(self.path)
        self.created = save.created
        return save

    def write(self, mission_id: str, mission_sha256: str, record: Record) -> None:
        if self.read_only:
            raise SaveError(f"{self.path}: read-only; {self.holder} holds this save")
        stamp = now_iso()
        self.created = self.created or stamp
        save = SaveData(mission_id=mission_id, mission_sha256=mission_sha256, player=self.player,
                        created=self.created, updated=stamp, record=record)
        payload = json.dumps(save.to_dict(), indent=1, ensure_ascii=False).encode("utf-8")
        write_atomic(self.path, payload)

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the lockf lock
            self._lock_fd = None

    def __enter__(self) -> "SaveSlot":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
