"""The ``edgequest`` command line: play, simulate, replay, report, grade, serve and check missions.

Exit status: 0 on success, 2 on bad input (with one line on stderr naming what was wrong
and what is accepted), 130 when interrupted. Nothing is written to stderr on success.
Heavy modules are imported inside the subcommands so that ``edgequest --help`` and the
game's first screen stay quick.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Mapping, NoReturn, Sequence

from edgequest import __version__, jsonplain
from edgequest.errors import EdgeQuestError

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="edgequest",
        description="EdgeQuest: a terminal game about on-device learning, federated fleets and "
        "differential privacy (MLSysBook lab 11). Run without a command to play.",
    )
    parser.add_argument("--version", action="version", version=f"edgequest {__version__}")
    _add_play_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    play = sub.add_parser("play", help="start the game (the default)", description="Start the game.")
    _add_play_options(play)

    sim = sub.add_parser(
        "simulate",
        help="simulate one run of a part and print it as JSON",
        description="Simulate one run of a part with the given controls and print one JSON object: "
        "the controls used, the metrics, each SPEC check and the run's score. The numbers are "
        "exactly what any student who runs the same design sees: a run's random draws come from "
        "the mission's world, the part and the design, never from a seed.",
    )
    sim.add_argument("--track", required=True, help="track id, e.g. cloud-titan (see: edgequest missions list)")
    sim.add_argument("--part", required=True, help="part number, 1 to 3")
    sim.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
        help="a control value; repeat for several (unset controls take their defaults)",
    )
    sim.add_argument("--seed", default=None,
                     help="accepted for older scripts; it changes nothing (every student sees the same "
                     "numbers for the same design)")
    sim.add_argument("--explore-seed", default=None, metavar="N",
                     help="for instructors: draw the run's randomness again from N (an integer) to see "
                     "how much the design's outcome varies; no game ever uses such a draw")
    sim.add_argument("--missions", type=Path, default=None, metavar="DIR", help="read missions from DIR")
    sim.add_argument("--compact", action="store_true", help="print the JSON on one line")

    rep = sub.add_parser("replay", help="re-simulate a save and print it run by run",
                         description="Re-simulate every move of a save through the game and print it.")
    rep.add_argument("save", type=Path, help="a save file")
    rep.add_argument("--json", action="store_true", help="print JSON instead of text")

    report = sub.add_parser(
        "report", help="write a save's lab report (HTML or Markdown)",
        description="Replay a save through the game, as the grader does, and write its lab report: the "
        "track and persona, each part's Lock, runs, committed design, reveal, reflection and score, with "
        "the workbench's charts, then the Ledger. Written to standard output unless --output is given.",
    )
    report.add_argument("save", type=Path, help="a save file")
    report.add_argument("--format", dest="report_format", default=None, metavar="html|md",
                        help="html (inline SVG charts; prints cleanly) or md (text charts); default: "
                        "from the --output name, else html")
    report.add_argument("--output", type=Path, default=None, metavar="FILE",
                        help="write the report to FILE (never over a save) instead of standard output")

    serve = sub.add_parser(
        "serve", help="play in a web browser (textual-serve)",
        description="Serve the game to a web browser: open the printed address, and every tab plays "
        "the same game as the terminal, with the same saves.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, "
                       "this machine only; 0.0.0.0 for every interface)")
    serve.add_argument("--port", default="8000", help="port to listen on (default 8000)")
    serve.add_argument("--public-url", default=None, metavar="URL",
                       help="the address browsers open, when a reverse proxy stands in front "
                       "(e.g. https://lab.example.edu/edgequest/alice)")
    serve.add_argument("--track", default=None, help="open this track directly")
    serve.add_argument("--player", default=None, help="the player every tab plays as (default: your login)")
    serve.add_argument("--save-dir", type=Path, default=None,
                       help="where saves go (default: $EDGEQUEST_SAVE_DIR, else ./saves)")

    grade = sub.add_parser(
        "grade",
        help="grade saves (files or folders) and write results",
        description="Replay saves through the game and write grades. A save that cannot be trusted is "
        "graded 'not gradable' with the reason; a results file is always written.",
    )
    grade.add_argument("paths", nargs="+", type=Path, metavar="SAVE_OR_DIR")
    grade.add_argument("--results", type=Path, default=None, metavar="FILE",
                       help="where to write the results (default: results.json / results.csv here)")
    grade.add_argument("--format", choices=("gradescope", "json", "csv"), default="gradescope")
    grade.add_argument("--jobs", type=int, default=None, help="processes to use (default: every core)")
    grade.add_argument("--histogram", action="store_true", help="draw the class's score distributions")
    grade.add_argument("--submission-metadata", type=Path, default=None, metavar="FILE",
                       help="Gradescope submission_metadata.json (for lateness)")
    grade.add_argument("--deadline", default=None, metavar="TIME",
                       help="due time, ISO 8601 with a UTC offset (default: $EDGEQUEST_DEADLINE, "
                       "else the Gradescope metadata's due date)")
    grade.add_argument("--signing-key", type=Path, default=None, metavar="FILE",
                       help="the lab server's save-signing key: a save with a signature that does not match "
                       "is not gradable")
    grade.add_argument("--require-signature", action="store_true",
                       help="with --signing-key: an unsigned save is not gradable either")

    missions = sub.add_parser("missions", help="list or validate mission files",
                              description="List the campaign's tracks, or validate mission files.")
    msub = missions.add_subparsers(dest="missions_command", metavar="ACTION", parser_class=_Parser)
    mlist = msub.add_parser("list", help="list tracks, parts and run budgets")
    mlist.add_argument("folder", nargs="?", type=Path, default=None)
    mcheck = msub.add_parser("check", help="validate mission files (exit 2 listing every problem)")
    mcheck.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the campaign)")
    return parser


def _add_play_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--track", default=None, help="open this track directly")
    parser.add_argument("--player", default=None, help="your name, as saves record it (default: your login)")
    parser.add_argument("--save-dir", type=Path, default=None,
                        help="where saves go (default: $EDGEQUEST_SAVE_DIR, else ./saves)")
    parser.add_argument("--seed", default=None, help=argparse.SUPPRESS)


def pin_blas_threads() -> None:
    """One BLAS thread per process, unless the user chose otherwise.

    numpy's BLAS thread pool fights other processes on a shared lab server (a part-2 run
    went from 140 to 229 ms median when another process held a core). The simulations
    multiply small matrices, so one thread per process is as fast alone and far steadier
    when shared. It only works before numpy is first imported, so the command does it
    first thing; importing this module imports neither numpy nor anything that does
    (``tests/test_cli.py`` checks), and sets nothing.
    """
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def main(argv: Sequence[str] | None = None) -> int:
    pin_blas_threads()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "missions":
            return _missions(args, parser)
        if args.command == "replay":
            from edgequest.grading.replay_cmd import replay_command

            return replay_command(args.save, as_json=args.json)
        if args.command == "report":
            from edgequest.report.command import report_command

            return report_command(args.save, args.report_format, args.output)
        if args.command == "serve":
            from edgequest.tui.serve import serve

            return serve(args.host, args.port, player=args.player, save_dir=args.save_dir, track=args.track,
                         public_url=args.public_url)
        if args.command == "grade":
            from edgequest.grading.grade import grade_command

            return grade_command(args)
        return _play(args)
    except EdgeQuestError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``); stop quietly as other tools do.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK


def fail(message: str) -> int:
    """Print a one-line error and return the bad-input exit status."""
    first, *rest = message.strip().splitlines() or ["error"]
    print(f"edgequest: error: {first}", file=sys.stderr)
    for line in rest:
        print(f"  {line}", file=sys.stderr)
    return EXIT_BAD_INPUT


def lacks_terminal(environ: Mapping[str, str], stdin: Any, stdout: Any) -> bool:
    """Whether ``play`` would wait for keys that never come: no tty on stdin or stdout, and
    no Textual driver of its own (``edgequest serve`` drives the game through pipes)."""
    if environ.get("TEXTUAL_DRIVER"):
        return False
    return not (_is_terminal(stdin) and _is_terminal(stdout))


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def parse_seed(raw: str | None, option: str = "--seed") -> int | None:
    if raw is None:
        return None
    try:
        seed = int(raw)
    except ValueError:
        seed = -1
    if not 0 <= seed < 2**63:
        raise EdgeQuestError(f"{option} {raw!r} is not accepted; expected an integer from 0 to 2^63-1")
    return seed


def _simulate(args: argparse.Namespace) -> int:
    from edgequest.campaign import load_campaign
    from edgequest.game.play import simulate_design

    parse_seed(args.seed)  # checked, so a typo still exits 2, but it no longer changes a run
    explore = parse_seed(args.explore_seed, "--explore-seed")
    campaign = load_campaign(args.missions)
    mission = campaign.get(args.track)
    if mission is None:
        raise EdgeQuestError(f"--track {args.track!r} is not a track; expected one of {', '.join(campaign)}")
    numbers = [str(p.number) for p in mission.parts]
    if args.part not in numbers:
        raise EdgeQuestError(f"--part {args.part!r} is not a part of {mission.id}; expected one of {', '.join(numbers)}")
    part = mission.part(int(args.part))
    controls: dict[str, str] = {}
    for item in args.sets:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise EdgeQuestError(f"--set {item!r} is not NAME=VALUE; controls of part {part.number}: "
                                 + ", ".join(c.name for c in part.controls))
        controls[name.strip()] = value.strip()
    outcome = simulate_design(part, controls, explore)
    result: dict[str, Any] = {"track": mission.id, "part": part.number}
    if explore is not None:
        result["explore_seed"] = explore
    result.update(outcome.to_dict())
    del result["run"]
    print(dumps(result, compact=args.compact))
    return EXIT_OK


def dumps(data: Any, *, compact: bool = False) -> str:
    """JSON for people and tools: numpy scalars as numbers, non-finite numbers as null."""
    return jsonplain.dumps(data, compact=compact, ensure_ascii=True)


def _missions(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from edgequest.campaign import load_campaign, mission_paths
    from edgequest.campaign.loader import check_missions

    if args.missions_command == "list":
        if args.folder is not None and not args.folder.is_dir():
            raise EdgeQuestError(f"{args.folder}: no such folder; give a folder of mission files (*.toml), "
                                 "or nothing for the campaign's own")
        campaign = load_campaign(args.folder)
        if not campaign:
            raise EdgeQuestError(f"{args.folder or 'the campaign folder'}: no mission files (*.toml) in it")
        for mission in campaign.values():
            print(f"{mission.id:<16} {mission.name} — {mission.persona}")
            for part in mission.parts:
                print(f"  part {part.number}: {part.title:<36} budget {part.budget} runs, "
                      f"{len(part.controls)} controls, {len(part.spec)} SPEC checks")
        return EXIT_OK
    if args.missions_command == "check":
        paths: list[Path] = []
        for given in args.paths or [None]:
            if given is not None and not given.exists():
                raise EdgeQuestError(f"{given}: no such file or folder")
            paths.extend(mission_paths(given) if given is None or given.is_dir() else [given])
        if not paths:
            raise EdgeQuestError("no mission files (*.toml) found")
        missions, problems = check_missions(paths)
        if problems:
            print(f"edgequest: error: {len(problems)} problem(s) in mission files", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"{len(paths)} mission file(s) valid: " + ", ".join(sorted(missions)))
        return EXIT_OK
    raise EdgeQuestError("missions needs an action: list or check (see edgequest missions --help)")


def _play(args: argparse.Namespace) -> int:
    if lacks_terminal(os.environ, sys.stdin, sys.stdout):
        # Without a terminal the game would wait for keys that never come (and spin a core
        # on a closed stdin); say so at once instead.
        raise EdgeQuestError(
            "play needs a terminal (stdin and stdout must be a tty); without one use "
            "simulate, replay, grade or missions (see edgequest --help)"
        )
    from edgequest.tui.launch import launch

    return launch(track=args.track, player=args.player, save_dir=args.save_dir, seed=parse_seed(args.seed))
