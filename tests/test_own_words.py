"""The repository speaks in its own words: no run of eight words from the lab plan's prose.

The lab plan sits outside the repository (``../shared/seeds`` beside a checkout, or the
workspace's shared folder); without it the check has nothing to compare against and skips.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = 8
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".hypothesis", ".pytest_cache"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".json", ".yml", ".yaml", ".cfg", ".ini", ".sh", ".tcss", ".csv", ""}


def _lab_plan() -> Path | None:
    for base in (ROOT.parent / "shared" / "seeds", ROOT.parent.parent / "shared" / "seeds"):
        if base.is_dir():
            plans = sorted(base.glob("lab_*.md"))
            if plans:
                return plans[0]
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _runs(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + RUN]) for i in range(len(words) - RUN + 1)}


def _repository_files():
    for path in ROOT.rglob("*"):
        if any(part in SKIP_DIRS for part in path.relative_to(ROOT).parts):
            continue
        if path.is_file() and path.suffix in TEXT_SUFFIXES and path.stat().st_size < 2_000_000:
            yield path


def test_the_run_finder_sees_a_copied_sentence() -> None:
    plan = _runs(_words("one two three four five six seven eight nine"))
    assert _runs(_words("x One, two three four five six seven eight y")) & plan
    assert not _runs(_words("one two three four five six seven nine")) & plan


def test_no_eight_word_run_of_the_lab_plan_appears_in_the_repository() -> None:
    plan_path = _lab_plan()
    if plan_path is None:
        pytest.skip("the lab plan (../shared/seeds/lab_*.md) is not beside this checkout")
    plan = _runs(_words(plan_path.read_text(encoding="utf-8", errors="replace")))
    copied = []
    for path in _repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found = _runs(_words(text)) & plan
        if found:
            copied.append(f"{path.relative_to(ROOT)}: {' '.join(sorted(found)[0])}")
    assert not copied, "lab plan prose copied into the repository:\n" + "\n".join(copied)
