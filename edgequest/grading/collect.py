"""Which files a grading run looks at: the files named, and the saves inside folders named.

A folder is searched recursively for ``*.json`` files (a class's saves are often one
folder per student). Hidden files and folders are skipped (a save's temporary files
start with a dot), linked folders are not followed, and the results and metadata files
are left out so that grading ``.`` twice does not grade its own output. A linked file
*is* listed: it is then graded "not gradable" with the reason, rather than silently
missing from the gradebook; so is a folder named like a save (``ada__x.json/``), graded
"not gradable: is a folder" while the saves inside it are graded as usual. A file named
explicitly is always graded, whatever its name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

from edgequest.saves.store import SAVE_SUFFIX


def collect_saves(paths: Sequence[Path], exclude: Iterable[Path] = ()) -> list[Path]:
    """The save files to grade, in a stable order (as given; sorted within folders)."""
    skip = {_key(p) for p in exclude}
    found: list[Path] = []
    seen: set[str] = set()

    def add(path: Path) -> None:
        key = _key(path)
        if key not in seen and key not in skip:
            seen.add(key)
            found.append(path)

    for given in paths:
        if given.is_dir() and not given.is_symlink():
            for path in _saves_under(given):
                add(path)
        else:
            add(given)  # a file, a link or nothing at all: the verdict will say which
    return found


def _saves_under(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False, onerror=None):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in dirs:
            if name.endswith(SAVE_SUFFIX):  # listed, so the verdict says "is a folder" (its saves are graded too)
                found.append(Path(root) / name)
        for name in sorted(files):
            if not name.startswith(".") and name.endswith(SAVE_SUFFIX):
                found.append(Path(root) / name)
        # os.walk lists linked folders among dirs but does not enter them; linked
        # *.json files arrive in files and are kept (see the module docstring).
    return found


def _key(path: Path) -> str:
    """Compare paths by their real location, but never follow the last link (a linked save stays itself)."""
    try:
        return str(path.parent.resolve() / path.name)
    except OSError:
        return str(path)
