"""Lateness from the submission's own time, never the grader's clock.

A regrade next term must give the same answer, so "now" never enters a grade. The
submission time is Gradescope's ``created_at`` (``submission_metadata.json``) when there
is one, else the save's own ``updated`` stamp (written by the student's machine, so
it can be edited: the results say which source was used). The deadline is, in order:
``EDGEQUEST_DEADLINE`` (or a ``deadline`` option), a student's own due date in the
metadata (an extension), the assignment's due date in the metadata. No penalty is
applied unless the instructor sets ``EDGEQUEST_LATE_PENALTY`` (percent of the score per
started day late, capped at 100).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from edgequest.errors import EdgeQuestError
from edgequest.grading.verdict import Lateness
from edgequest.saves.store import parse_time

DEADLINE_ENV = "EDGEQUEST_DEADLINE"
PENALTY_ENV = "EDGEQUEST_LATE_PENALTY"
MAX_METADATA_BYTES = 20_000_000  # previous_submissions can be long; still, bounded


@dataclass(frozen=True)
class LatePolicy:
    """Everything lateness needs, gathered once per grading run."""

    deadline: dt.datetime | None = None
    deadline_source: str | None = None
    submitted_at: dt.datetime | None = None  # the platform's submission time, if known
    submitted_source: str | None = None
    penalty_per_day: float = 0.0
    notes: tuple[str, ...] = ()  # what could not be used, for the results' output
    submitters: tuple[str, ...] = ()  # player names the submitting students would have (from the metadata)

    def lateness(self, save_updated: str | None) -> Lateness:
        """The lateness of one save (its ``updated`` stamp stands in for a submission time)."""
        submitted: dt.datetime | None
        if self.submitted_at is not None:
            submitted, source = self.submitted_at, self.submitted_source or "submission metadata"
        else:
            submitted = parse_time(save_updated) if save_updated else None
            source = "the save's last update (the student's clock)" if submitted else "unknown"
        if self.deadline is None or submitted is None:
            return Lateness(
                submitted_at=_iso(submitted), submitted_source=source,
                deadline=_iso(self.deadline), deadline_source=self.deadline_source,
            )
        hours = (submitted - self.deadline).total_seconds() / 3600.0
        late = hours > 0
        days = math.ceil(hours / 24.0) if late else 0
        penalty = min(100.0, days * self.penalty_per_day)
        return Lateness(
            submitted_at=_iso(submitted), submitted_source=source, deadline=_iso(self.deadline),
            deadline_source=self.deadline_source, late=late, hours_late=max(0.0, hours), penalty_percent=penalty,
        )


def late_policy(
    metadata_path: Path | None, deadline_option: str | None, environ: Mapping[str, str]
) -> LatePolicy:
    """Read the deadline, penalty and submission time; a bad option or env value is a usage error.

    A metadata file that exists but cannot be used is *not* an error: the platform wrote
    it, not the instructor, so grading goes on and the results say what was ignored.
    """
    notes: list[str] = []
    deadline = deadline_source = None
    explicit = deadline_option if deadline_option is not None else environ.get(DEADLINE_ENV) or None
    if explicit is not None:
        deadline = parse_time(explicit.strip())
        if deadline is None:
            raise EdgeQuestError(
                f"deadline {explicit!r:.60} is not accepted; expected an ISO 8601 time with a UTC offset, "
                "e.g. 2026-03-01T23:59:00-05:00"
            )
        deadline_source = "--deadline" if deadline_option is not None else DEADLINE_ENV
    penalty = 0.0
    raw_penalty = environ.get(PENALTY_ENV)
    if raw_penalty:
        try:
            penalty = float(raw_penalty)
        except ValueError:
            penalty = math.nan
        if not 0 <= penalty <= 100:
            raise EdgeQuestError(
                f"{PENALTY_ENV}={raw_penalty!r:.40} is not accepted; expected a percentage from 0 to 100 "
                "(points off per started day late)"
            )
    submitted = submitted_source = None
    submitters: tuple[str, ...] = ()
    if metadata_path is not None:
        metadata = _read_metadata(metadata_path)
        if isinstance(metadata, str):
            notes.append(metadata)
        else:
            submitted = parse_time(metadata.get("created_at"))
            if submitted is not None:
                submitted_source = "Gradescope submission time (created_at)"
            else:
                notes.append(f"{metadata_path}: created_at is missing or not a time; the save's own time is used")
            if deadline is None:
                deadline, deadline_source = _metadata_deadline(metadata, metadata_path)
            submitters = submitter_names(metadata)
    return LatePolicy(
        deadline=deadline, deadline_source=deadline_source, submitted_at=submitted,
        submitted_source=submitted_source, penalty_per_day=penalty, notes=tuple(notes), submitters=submitters,
    )


def submitter_names(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """The player names the submitting students' saves would carry, lower-cased.

    A save's player defaults to the login, which on most lab servers is the part of the
    e-mail address before the "@"; a student who typed their name gets it with spaces as
    "-" (as the game cleans ``--player``). Both are accepted for each user.
    """
    names: list[str] = []
    users = metadata.get("users")
    for user in users if isinstance(users, list) else []:
        if not isinstance(user, dict):
            continue
        email, name = user.get("email"), user.get("name")
        if isinstance(email, str) and "@" in email:
            names.append(email.split("@", 1)[0])
        if isinstance(name, str):
            names.append(re.sub(r"[^A-Za-z0-9._-]", "-", name.strip()))
    return tuple(dict.fromkeys(n.lower() for n in names if n))


def _read_metadata(path: Path) -> dict[str, Any] | str:
    if not path.exists():
        raise EdgeQuestError(f"--submission-metadata {path}: no such file")
    try:
        # O_NONBLOCK: a FIFO named here would otherwise hang the grader on open.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise EdgeQuestError(f"--submission-metadata {path}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise EdgeQuestError(f"--submission-metadata {path}: is not a regular file (a folder, pipe or device); "
                                 "expected Gradescope's submission_metadata.json")
        if info.st_size > MAX_METADATA_BYTES:
            return f"{path}: larger than {MAX_METADATA_BYTES} bytes; lateness uses the save's own time"
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = json.loads(handle.read(MAX_METADATA_BYTES + 1).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return f"{path}: unreadable ({str(exc)[:120]}); lateness uses the save's own time"
    finally:
        os.close(fd)
    if not isinstance(data, dict):
        return f"{path}: not a JSON object; lateness uses the save's own time"
    return data


def _metadata_deadline(metadata: Mapping[str, Any], path: Path) -> tuple[dt.datetime | None, str | None]:
    """A student's own due date (an extension) if the metadata has one, else the assignment's."""
    own = []
    users = metadata.get("users")
    for user in users if isinstance(users, list) else []:
        assignment = user.get("assignment") if isinstance(user, dict) else None
        due = parse_time(assignment.get("due_date")) if isinstance(assignment, dict) else None
        if due is not None:
            own.append(due)
    if own:
        return max(own), "the student's due date in submission_metadata.json"  # a group gets the latest
    assignment = metadata.get("assignment")
    due = parse_time(assignment.get("due_date")) if isinstance(assignment, dict) else None
    if due is not None:
        return due, "the assignment's due date in submission_metadata.json"
    return None, None


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
