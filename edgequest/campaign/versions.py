"""Every released version of every mission, found by the SHA-256 of its bytes.

A save records the hash of the mission file it was played on. So that a changed mission
never silently changes an old grade, each released version is kept, byte for byte, in
``missions/released/<track>-<first 12 hex digits>.toml``; the current files count too.
Releasing a changed mission means copying it there (``tests/test_missions.py`` fails
while a current mission file has no released copy).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from edgequest.campaign.loader import load_mission_bytes, mission_dir, mission_paths
from edgequest.campaign.schema import Mission


def released_dir(folder: Path | None = None) -> Path:
    return (mission_dir() if folder is None else folder) / "released"


def released_name(mission_id: str, sha256: str) -> str:
    return f"{mission_id}-{sha256[:12]}.toml"


@lru_cache(maxsize=64)
def _hash_index(folder: Path) -> dict[str, Path]:
    index: dict[str, Path] = {}
    candidates = mission_paths(released_dir(folder)) + mission_paths(folder)
    for path in candidates:
        index[hashlib.sha256(path.read_bytes()).hexdigest()] = path
    return index


def mission_by_sha256(sha256: str, folder: Path | None = None) -> Mission | None:
    """The mission version with this hash (current or released), or None if unknown."""
    path = _hash_index((mission_dir() if folder is None else folder).resolve()).get(sha256)
    if path is None:
        return None
    return load_mission_bytes(path.read_bytes(), str(path))
