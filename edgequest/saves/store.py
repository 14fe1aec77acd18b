"""One save file per player and track: written atomically, held by one session at a time.

The format is documented in ``docs/saves.md``. In short (JSON, UTF-8, version 1)::

    {"format": "edgequest-save", "format_version": 1, "edgequest_version": "0.1.0",
     "mission": {"id": "cloud-titan", "sha256": "<sha-256 of the mission file's bytes>"},
     "player": "ada", "created": "<ISO 8601 with offset>", "updated": "<ISO 8601 with offset>",
     "record": {<edgequest.game.record.Record.to_dict()>},
     "display": {<optional: what the player last saw; never read by a grader>},
     "signature": {<optional: an HMAC on lab servers; see edgequest.saves.signing>}}

Only inputs are trusted; a grader recomputes every outcome from ``record``. Writes go to
a temporary file in the same folder, are fsynced, renamed over the save with
``os.replace`` and the folder is fsynced, so a crash at any moment leaves the old save or
the new one. A session holds ``<save>.lock`` with ``fcntl.lockf``; a second session is
told who holds it and continues read-only.
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import re
import socket
import stat
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from edgequest import __version__
from edgequest.errors import SaveError
from edgequest.game.record import MoveTime, Record
from edgequest.saves import signing

FORMAT = "edgequest-save"
FORMAT_VERSION = 1
MAX_SAVE_BYTES = 2_000_000  # a full campaign is a few kB; anything near this is not a save
SAVE_DIR_ENV = "EDGEQUEST_SAVE_DIR"
SAVE_SUFFIX = ".json"
LOCK_SUFFIX = ".lock"
_PLAYER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_TRACK_RE = re.compile(r"^[a-z0-9-]{1,40}$")
_TOP_KEYS = frozenset(
    {"format", "format_version", "edgequest_version", "mission", "player", "created", "updated", "record", "display",
     "signature"}
)


@dataclass(frozen=True)
class SaveData:
    """A save's contents: who played which mission version, and the moves.

    ``display`` holds whatever the game chose to cache for its own screens (the scores
    the player last saw, say). It is kept so a save round-trips, and ignored by graders.
    """

    mission_id: str
    mission_sha256: str
    player: str
    created: str
    updated: str
    record: Record
    edgequest_version: str = __version__
    format_version: int = FORMAT_VERSION
    display: Mapping[str, Any] | None = field(default=None, compare=False)
    signature: Mapping[str, str] | None = field(default=None, compare=False)

    def signed(self, key: bytes) -> "SaveData":
        """This save with an HMAC of its canonical bytes (see :mod:`edgequest.saves.signing`)."""
        return replace(self, signature=signing.sign(key, self.to_dict()))

    def signature_problem(self, key: bytes) -> str | None:
        """None when the save carries ``key``'s valid signature; otherwise what is wrong."""
        return signing.verify(key, self.to_dict(), self.signature)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT,
            "format_version": self.format_version,
            "edgequest_version": self.edgequest_version,
            "mission": {"id": self.mission_id, "sha256": self.mission_sha256},
            "player": self.player,
            "created": self.created,
            "updated": self.updated,
            "record": self.record.to_dict(),
        }
        if self.display is not None:
            data["display"] = dict(self.display)
        if self.signature is not None:
            data["signature"] = dict(self.signature)
        return data

    def to_bytes(self) -> bytes:
        """The file's bytes: indented JSON, so a person can read (and diff) a save."""
        try:
            text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise SaveError(f"the save cannot be written as JSON ({exc})") from None
        return text.encode("utf-8") + b"\n"


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def parse_time(text: object) -> _dt.datetime | None:
    """An ISO 8601 time with a UTC offset, or None when ``text`` is not one (or not text)."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def default_save_dir() -> Path:
    """``$EDGEQUEST_SAVE_DIR``, else ``saves/`` under the working directory."""
    env = os.environ.get(SAVE_DIR_ENV)
    return Path(env) if env else Path.cwd() / "saves"


def resolve_save_dir(option: Path | None) -> Path:
    """The save folder: ``--save-dir`` when given, else :func:`default_save_dir`."""
    return option if option is not None else default_save_dir()


def check_player(name: str) -> str:
    if not isinstance(name, str) or not _PLAYER_RE.match(name):
        raise SaveError(
            f"player name {name!r:.60} is not accepted; use 1 to 40 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def default_player() -> str:
    """$EDGEQUEST_PLAYER, $USER or $LOGNAME, else the login name the password database knows."""
    names = [os.environ.get(var, "") for var in ("EDGEQUEST_PLAYER", "USER", "LOGNAME")]
    try:
        import pwd

        names.append(pwd.getpwuid(os.getuid()).pw_name)
    except (ImportError, KeyError, OSError):
        pass
    for name in names:
        value = re.sub(r"[^A-Za-z0-9._-]", "-", name)[:40].lstrip("._-")
        if value:
            return value
    return "player"


def save_path(save_dir: Path, player: str, track: str) -> Path:
    """The save of ``player`` on ``track`` inside ``save_dir`` (names are checked)."""
    check_player(player)
    if not isinstance(track, str) or not _TRACK_RE.match(track):
        raise SaveError(f"track id {track!r:.60} cannot name a save file")
    return save_dir / f"{player}__{track}{SAVE_SUFFIX}"


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


def read_save_bytes(path: Path) -> bytes:
    """A save file's bytes, refusing links, folders, devices and oversized files.

    ``O_NOFOLLOW`` refuses a link at the last step of the path without a race, and
    ``O_NONBLOCK`` keeps a FIFO planted where a save should be from hanging a grader.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise SaveError(f"{path}: is a symbolic link; give the save file itself") from None
        if exc.errno == errno.ENOENT:
            raise SaveError(f"{path}: no such file") from None
        raise SaveError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SaveError(f"{path}: is a folder, not a save file")
        if not stat.S_ISREG(info.st_mode):
            raise SaveError(f"{path}: is not a regular file (a device or a pipe?); a save is a plain file")
        if info.st_size > MAX_SAVE_BYTES:
            raise SaveError(f"{path}: {info.st_size} bytes; a save is at most {MAX_SAVE_BYTES} bytes")
        chunks = []
        remaining = MAX_SAVE_BYTES + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise SaveError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def read_save(path: Path) -> SaveData:
    """Read and validate one save file; raise :class:`SaveError` saying what and where."""
    return parse_save(read_save_bytes(path), str(path))


def parse_save(raw: bytes, name: str = "save") -> SaveData:
    """Validate a save's bytes; raise :class:`SaveError` saying what is wrong and where."""
    if len(raw) > MAX_SAVE_BYTES:
        raise SaveError(f"{name}: {len(raw)} bytes; a save is at most {MAX_SAVE_BYTES} bytes")
    if not raw.strip():
        raise SaveError(f"{name}: the file is empty; expected a JSON save")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as exc:
        raise SaveError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        ended = exc.pos >= len(raw.rstrip()) - 1 or exc.msg.startswith("Unterminated string")
        hint = " (the file is cut short)" if ended else ""
        raise SaveError(f"{name}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}") from None
    except (ValueError, RecursionError) as exc:
        raise SaveError(f"{name}: not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SaveError(f"{name}: not an EdgeQuest save (no \"format\": \"{FORMAT}\" at the top)")
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise SaveError(f"{name}: format_version: expected an integer, found {version!r:.40}")
    if version > FORMAT_VERSION:
        raise SaveError(
            f"{name}: format_version {version} is newer than this EdgeQuest reads ({FORMAT_VERSION}); upgrade EdgeQuest"
        )
    data = migrate(data, version, name)
    unknown = sorted(str(k) for k in data if k not in _TOP_KEYS)
    if unknown:
        raise SaveError(f"{name}: unknown key {unknown[0]!r:.60}; accepted: {', '.join(sorted(_TOP_KEYS))}")
    mission = data.get("mission")
    if not isinstance(mission, dict) or set(mission) != {"id", "sha256"}:
        raise SaveError(f"{name}: mission: expected {{\"id\": ..., \"sha256\": ...}}, found {_kind(mission)}")
    mission_id = mission["id"]
    if not isinstance(mission_id, str) or not _TRACK_RE.match(mission_id):
        raise SaveError(f"{name}: mission.id: expected a track id, found {mission_id!r:.60}")
    sha = mission["sha256"]
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise SaveError(f"{name}: mission.sha256: expected 64 hex digits, found {sha!r:.70}")
    for key in ("edgequest_version", "player", "created", "updated"):
        if not isinstance(data.get(key), str) or len(data[key]) > 100:
            raise SaveError(f"{name}: {key}: expected text, found {data.get(key)!r:.40}")
    for key in ("created", "updated"):
        if parse_time(data[key]) is None:
            raise SaveError(f"{name}: {key}: expected an ISO 8601 time with a UTC offset, found {data[key]!r:.40}")
    try:
        check_player(data["player"])
    except SaveError as exc:
        raise SaveError(f"{name}: player: {exc}") from None
    display = data.get("display")
    if display is not None and not isinstance(display, dict):
        raise SaveError(f"{name}: display: expected a table (or nothing), found {_kind(display)}")
    signature = data.get("signature")
    if signature is not None:
        signature = signing.check_signature_shape(signature, f"{name}: signature")
    try:
        record = Record.from_dict(data.get("record"), f"{name}: record")
    except SaveError:
        raise
    except (ValueError, TypeError, RecursionError) as exc:  # a gap in the checks must still read as bad input
        raise SaveError(f"{name}: record: cannot be read ({str(exc)[:120]})") from None
    if record.track != mission_id:
        raise SaveError(f"{name}: record.track {record.track!r:.60} differs from mission.id {mission_id!r}")
    return SaveData(
        mission_id=mission_id, mission_sha256=sha, player=data["player"], created=data["created"],
        updated=data["updated"], record=record, edgequest_version=data["edgequest_version"],
        format_version=FORMAT_VERSION, display=display, signature=signature,
    )


# Each released format version N < FORMAT_VERSION gets one step N -> N + 1 here, and a
# sample save of version N stays in tests/fixtures/saves/v<N>/ for as long as EdgeQuest
# reads it. A step takes the parsed JSON of version N and returns version N + 1's.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def migrate(data: dict[str, Any], version: int, name: str) -> dict[str, Any]:
    """Bring an older save up to the current format, one version at a time.

    Version 1 is the first format, so there is nothing to migrate yet; see
    ``docs/saves.md`` for how a version 2 adds its step to :data:`MIGRATIONS`.
    """
    if version < 1:
        raise SaveError(f"{name}: format_version {version} was never a save format; expected 1 to {FORMAT_VERSION}")
    while version < FORMAT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:  # pragma: no cover - a release without its step fails the fixture tests
            raise SaveError(f"{name}: no migration from format_version {version}")
        data = step(data)
        version += 1
        data["format_version"] = version
    return data


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key written twice (``json`` would keep the last silently)."""
    table: dict[str, Any] = {}
    for key, value in pairs:
        if key in table:
            raise ValueError(f"the key {key!r:.40} appears twice in one table")
        table[key] = value
    return table


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a number a save may hold")


def _kind(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return {dict: "a table", list: "a list"}[type(value)]
    return f"{value!r:.40}"


# ------------------------------------------------------------------ writing


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file.

    The temporary file lives in the same folder (``os.replace`` is atomic only within
    one file system) and starts with a dot, so folder scans skip it; the folder is
    fsynced after the rename so the new name itself survives a power cut. ``durable=False``
    skips both fsyncs (still atomic, not power-cut safe): for what is written as the
    player types, where a sync per keystroke would cost more than a lost draft.
    """
    folder = path.parent
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if not durable:
        return
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# POSIX record locks belong to the process, not to a descriptor: a second lockf in the
# same process succeeds, and closing *any* descriptor of the file drops the lock. So a
# process remembers which saves it holds and never touches their lock files twice.
_HELD: dict[Path, "SaveSlot"] = {}


def prepare_save_dir(save_dir: Path) -> None:
    """Create the save folder if needed; refuse one that is a link or not a folder."""
    try:
        save_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SaveError(f"{save_dir}: cannot create the save folder ({exc.strerror or exc})") from None
    if save_dir.is_symlink() or not save_dir.is_dir():
        raise SaveError(f"{save_dir}: the save folder must be a plain folder, not a link or a file")


class SaveSlot:
    """A player's save on one track, held by this session (or read-only if another holds it).

    Use :meth:`open`, then :meth:`load` once and :meth:`write` after every action;
    :meth:`close` releases the lock. When :attr:`read_only` is true, :attr:`holder`
    says who holds the save (player, host, process, since when).
    """

    def __init__(self, save_dir: Path, player: str, track: str):
        self.save_dir = save_dir
        self.player = check_player(player)
        self.track = track
        self.path = save_path(save_dir, player, track)
        self.read_only = False
        self.holder: str | None = None
        self._lock_fd: int | None = None
        self._key: Path | None = None
        self.created: str | None = None
        self.signing_key: bytes | None = None  # set by open() from $EDGEQUEST_SIGNING_KEY_FILE
        self._times: list[MoveTime] = []  # the saved move times, as last loaded or written
        self._session: int | None = None  # this session's number among those that wrote the save
        self._opened = time.monotonic()

    @classmethod
    def open(cls, save_dir: Path, player: str, track: str) -> "SaveSlot":
        slot = cls(save_dir, player, track)
        slot.signing_key = signing.key_from_environment()
        prepare_save_dir(save_dir)
        slot._key = safe_target(save_dir, slot.path)
        slot._acquire()
        return slot

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + LOCK_SUFFIX)

    def _acquire(self) -> None:
        # A holder that quits removes the lock file (below); one that opened the old file
        # just before may then lock a file no longer in the folder, so try again on the new.
        for _ in range(5):
            if self._try_acquire():
                return

    def _try_acquire(self) -> bool:
        """Take the lock or go read-only (True); False when the lock file was just removed."""
        import fcntl

        assert self._key is not None
        other = _HELD.get(self._key)
        if other is not None:
            self.read_only = True
            self.holder = f"this same program (another window on {self.path.name})"
            return True
        lock_path = self.lock_path
        if lock_path.is_symlink():
            raise SaveError(f"{lock_path}: is a symbolic link; remove it")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as exc:
            raise SaveError(f"{lock_path}: cannot open the lock ({exc.strerror or exc})") from None
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            try:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    raise SaveError(f"{lock_path}: cannot lock ({exc.strerror})") from None
                self.holder = os.pread(fd, 300, 0).decode("utf-8", "replace").strip() or "another session"
            finally:
                os.close(fd)
            self.read_only = True
            return True
        try:
            current = os.stat(lock_path)
        except OSError:
            current = None
        mine = os.fstat(fd)
        if current is None or (current.st_dev, current.st_ino) != (mine.st_dev, mine.st_ino):
            os.close(fd)
            return False
        holder = f"{self.player} on {socket.gethostname()}, process {os.getpid()}, since {now_iso()}"
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder.encode(), 0)
        except OSError as exc:  # a full disk, a quota: say so, and let go of the lock
            os.close(fd)
            raise SaveError(f"{lock_path}: cannot write the lock ({exc.strerror or exc}); "
                            "free some space in the save folder and open the track again") from None
        self._lock_fd = fd
        _HELD[self._key] = self
        self._remove_stale_temporaries()
        return True

    def _remove_stale_temporaries(self) -> None:
        """Delete temporary files a killed session left behind (only the lock holder may)."""
        prefix = f".{self.path.name}."
        try:
            names = os.listdir(self.path.parent)
        except OSError:
            return
        for entry in names:
            if entry.startswith(prefix) and entry.endswith(".tmp"):
                try:
                    os.unlink(self.path.parent / entry)
                except OSError:
                    pass

    def load(self) -> SaveData | None:
        """The saved game, or None when there is none yet."""
        if not os.path.lexists(self.path):
            return None
        save = read_save(self.path)
        self.created = save.created
        self._times = list(save.record.times)
        return save

    def write(
        self, mission_id: str, mission_sha256: str, record: Record, display: Mapping[str, Any] | None = None
    ) -> None:
        """Save ``record`` now (atomically). ``display`` is cached for screens, never graded."""
        if self.read_only:
            raise SaveError(f"{self.path}: read-only; {self.holder} holds this save")
        if self._lock_fd is None:
            raise SaveError(f"{self.path}: this session has closed the save")
        stamp = now_iso()
        if self.created is None:
            try:
                self.load()
            except SaveError:
                pass
        self.created = self.created or stamp
        record = replace(record, times=self._stamp(record))
        save = SaveData(mission_id=mission_id, mission_sha256=mission_sha256, player=self.player,
                        created=self.created, updated=stamp, record=record,
                        display=dict(display) if display is not None else None)
        if self.signing_key is not None:
            save = save.signed(self.signing_key)
        payload = save.to_bytes()
        try:
            write_atomic(self.path, payload)
        except OSError as exc:
            raise SaveError(f"{self.path}: cannot be saved ({exc.strerror or exc}); your moves are still in memory") from None
        self._times = list(record.times)

    def _stamp(self, record: Record) -> list[MoveTime]:
        """The record's move times: those already saved, and now for each move not yet stamped.

        Stamps are matched to moves by (part, move) and count, so a move stamped once keeps
        its time, and stamps of moves the record no longer holds (a fresh start) are dropped.
        """
        if self._session is None:
            self._session = 1 + max((t.session for t in self._times), default=-1)
        now = round(time.monotonic() - self._opened, 3)
        wanted: dict[tuple[int, str], int] = {}
        for made in record.moves():
            wanted[made] = wanted.get(made, 0) + 1
        kept: list[MoveTime] = []
        for stamp in self._times:
            key = (stamp.part, stamp.move)
            if wanted.get(key, 0) > 0:
                wanted[key] -= 1
                kept.append(stamp)
        for (part, move), missing in wanted.items():
            kept.extend(MoveTime(part=part, move=move, session=self._session, t=now) for _ in range(missing))
        return kept

    def close(self) -> None:
        if self._lock_fd is not None:
            if self._key is not None and _HELD.get(self._key) is self:
                del _HELD[self._key]
            try:  # a clean quit leaves no .lock file behind (removed while still held)
                os.unlink(self.lock_path)
            except OSError:
                pass
            os.close(self._lock_fd)  # closing the descriptor releases the lockf lock
            self._lock_fd = None

    def __enter__(self) -> "SaveSlot":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
