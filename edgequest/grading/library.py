"""Which mission version a save is graded with: the one whose bytes hash to what it recorded.

A save names the SHA-256 of the mission file it was played on. The project keeps every
released version (``missions/released/``, see :mod:`edgequest.campaign.versions`), so a
mission edited since is never used to grade an old save. The library is a small frozen
value, so it can be handed to worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from edgequest.campaign.schema import Mission
from edgequest.campaign.versions import mission_by_sha256

# Given a mission file's SHA-256, the mission it holds, or None when no kept version has it.
# May raise MissionError when the kept file no longer loads.
MissionResolver = Callable[[str], Mission | None]


@dataclass(frozen=True)
class MissionLibrary:
    """The kept mission versions of ``folder`` (default: the campaign's), found by hash."""

    folder: Path | None = None

    def __call__(self, sha256: str) -> Mission | None:
        return _find(sha256, None if self.folder is None else Path(self.folder).resolve())


@lru_cache(maxsize=64)
def _find(sha256: str, folder: Path | None) -> Mission | None:
    # A grader process meets the same few versions again and again: load each once.
    return mission_by_sha256(sha256, folder)
