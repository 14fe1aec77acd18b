"""``edgequest replay SAVE [--json]``: a save re-simulated and printed run by run.

Command-line code only; the replay itself is :mod:`edgequest.grading.replay` and the
grade :mod:`edgequest.grading.verdict`, which know nothing of terminals.
"""

from __future__ import annotations

import sys
from pathlib import Path

from edgequest.errors import EdgeQuestError
from edgequest.grading.formats import dumps, replay_text
from edgequest.grading.library import MissionLibrary
from edgequest.grading.verdict import grade_file


def replay_command(path: Path, as_json: bool = False) -> int:
    """Print every run, part by part, with the score it earned.

    A save that cannot be read or whose mission version is unknown is bad input (exit 2,
    one line on stderr). A save whose moves break the rules is printed as far as it
    replays, and the reason goes to stderr with exit status 2.
    """
    grade = grade_file(Path(path), MissionLibrary(), detail=True)
    if not grade.parts:
        raise EdgeQuestError(grade.reason or f"{path}: cannot be replayed")
    if as_json:
        print(dumps(grade.to_dict(detail=True)))
    else:
        print(replay_text(grade))
    if not grade.gradable:
        sys.stdout.flush()
        print(f"edgequest: error: {path}: not gradable: {grade.reason}", file=sys.stderr)
        return 2
    return 0
