"""``edgequest report SAVE``: write a save's lab report, and where a report may be written.

Without ``--output`` the report goes to standard output, so nothing is written anywhere
the user did not name. ``--output FILE`` writes the file atomically, but never over a
save (the save being reported on, or any file that reads as an EdgeQuest save). The game's
export key writes beside the save, in the save folder (:func:`export_beside`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from edgequest.errors import EdgeQuestError
from edgequest.report.build import build_report
from edgequest.report.render import to_html, to_markdown
from edgequest.saves.store import FORMAT, SAVE_SUFFIX, write_atomic

FORMATS = ("html", "md")
_SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}


def report_text(save: Path, fmt: str) -> str:
    report = build_report(save)
    return to_html(report) if fmt == "html" else to_markdown(report)


def choose_format(fmt: str | None, output: Path | None) -> str:
    """``--format`` if given, else from the output's suffix (``.md``), else HTML."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise EdgeQuestError(f"--format {fmt!r} is not accepted; expected one of {', '.join(FORMATS)}")
        return fmt
    if output is not None:
        return _SUFFIXES.get(output.suffix.lower(), "html")
    return "html"


def report_command(save: Path, fmt: str | None = None, output: Path | None = None) -> int:
    """Exit status 0 with the report written; a broken save raises with the grader's reason."""
    if str(output) == "-":
        output = None
    fmt = choose_format(fmt, output)
    if output is not None:
        check_output(output, save)
    text = report_text(save, fmt)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        write_atomic(output, text.encode("utf-8"))
    except OSError as exc:
        raise EdgeQuestError(f"--output {output}: cannot write the report ({exc.strerror or exc})") from None
    return 0


def check_output(output: Path, save: Path) -> None:
    """Refuse an output path that would overwrite a save, or that is not a writable file path."""
    if output.is_dir():
        raise EdgeQuestError(f"--output {output}: is a folder; expected a file name such as report.html")
    if not output.parent.is_dir():
        raise EdgeQuestError(f"--output {output}: the folder {output.parent} does not exist")
    if output.exists() or output.is_symlink():
        if output.is_symlink() or not output.is_file():
            raise EdgeQuestError(f"--output {output}: is not a plain file; name a new file for the report")
        try:
            same = save.exists() and output.samefile(save)
        except OSError:
            same = False
        if same or _looks_like_save(output):
            raise EdgeQuestError(f"--output {output}: is an EdgeQuest save; a report never overwrites a save "
                                 "(name a new file such as report.html)")
    if output.suffix.lower() == SAVE_SUFFIX:
        raise EdgeQuestError(f"--output {output}: a {SAVE_SUFFIX} name is taken for a save by graders; "
                             "name the report .html or .md")


def _looks_like_save(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return f'"format": "{FORMAT}"'.encode() in head or f'"format":"{FORMAT}"'.encode() in head


def export_path(save: Path) -> Path:
    """Where the game's export key writes a save's report: beside it, ``<save name>.report.html``."""
    name = save.name[: -len(SAVE_SUFFIX)] if save.name.endswith(SAVE_SUFFIX) else save.name
    return save.with_name(f"{name}.report.html")


def export_beside(save: Path) -> Path:
    """Write the save's HTML report into the save folder and return its path."""
    target = export_path(save)
    check_output(target, save)
    write_atomic(target, report_text(save, "html").encode("utf-8"))
    return target
