#!/usr/bin/env python3
"""The clean-machine check: what a new user gets from the built wheel, outside the checkout.

1. Build the wheel from this checkout.
2. Install it into a brand-new virtual environment in a temporary folder, and make sure
   the package imported there is the installed one, not this checkout, and that it
   carries a released copy of every mission (what grading old saves relies on).
3. From a folder with no checkout in sight: check the missions, simulate one run of every
   part of every track the wheel carries, play a scripted campaign through the game core
   (saved as a real save), replay it, and grade it in every format, checking that each
   format gives the score the game computed while playing.

Every EdgeQuest command must succeed with an empty stderr (GitHub Classroom fails a step
that writes to it). Exits non-zero at the first failure, saying which step failed and
what it printed. Run by ``.ci/run``.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLAY = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from edgequest.campaign import load_campaign
    from edgequest.game.play import Game
    from edgequest.saves.store import SaveSlot

    save_dir = Path(sys.argv[1])
    mission = load_campaign()["edge-guardian"]
    game = Game(mission, seed=11)
    designs = {
        1: dict(method="lora", rank=8, batch=8),
        2: dict(rounds=100, clients=30, local_epochs=5, reliability=0.75, update_format="int8"),
        3: dict(aggregation="central", epsilon=0.9, clip=1, clients=10000, rounds=100, local_epochs=2),
    }  # the answer key of tests/test_missions.py (this script runs outside the checkout)
    answers = {1: 300, 2: "no", 3: "increase"}
    with SaveSlot.open(save_dir, "clean-check", mission.id) as slot:
        for number in (1, 2, 3):
            game.answer_lock(number, answers[number])
            game.run(number, {})
            game.run(number, designs[number])
            game.commit(number)
            game.reflect(number, "The committed design meets every SPEC check within the run budget.")
            slot.write(mission.id, mission.sha256, game.record)
        game.write_ledger("Privacy first: the data stayed on the cars, and central noise kept epsilon below 1.")
        slot.write(mission.id, mission.sha256, game.record)
    print(round(game.total_points(), 4))
    """
)

TRACKS = textwrap.dedent(
    """
    import json
    from edgequest.campaign import load_campaign
    from edgequest.campaign.versions import released_dir, released_name
    campaign = load_campaign()
    unreleased = [t for t, m in campaign.items() if not (released_dir() / released_name(m.id, m.sha256)).is_file()]
    print(json.dumps({"parts": {t: [p.number for p in m.parts] for t, m in campaign.items()}, "unreleased": unreleased}))
    """
)


class CheckFailed(Exception):
    """A step of the check failed; the message says which and why."""


def step(name: str, cmd: list[str], cwd: Path, env: dict[str, str], *, quiet_stderr: bool = True
         ) -> subprocess.CompletedProcess:
    """Run one step; fail on a non-zero exit, or on stderr output when ``quiet_stderr``."""
    print(f"- {name}", flush=True)
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise CheckFailed(f"{name}: exit status {result.returncode}\n$ {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
    if quiet_stderr and result.stderr:
        raise CheckFailed(f"{name}: succeeded but wrote to stderr (it must stay empty):\n{result.stderr}")
    return result


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise CheckFailed(what)


def check_results(fmt: str, path: Path, points: float) -> str:
    """Check one results file against the score the game computed; return a one-line summary."""
    text = path.read_text(encoding="utf-8")
    if fmt == "csv":
        rows = list(csv.DictReader(text.splitlines()))
        expect(len(rows) == 1, f"csv: expected one row, found {len(rows)}")
        row = rows[0]
        expect(row["status"] == "graded", f"csv: status {row['status']!r}: {row['reason']}")
        expect(abs(float(row["score"]) - points) < 0.01, f"csv: score {row['score']} but the game computed {points}")
        return f"csv score {row['score']}"
    data = json.loads(text)
    if fmt == "json":
        saves = data["saves"]
        expect(len(saves) == 1 and saves[0]["status"] == "graded", f"json: not one graded save: {saves}")
        expect(abs(saves[0]["score"] - points) < 0.01, f"json: score {saves[0]['score']} but the game computed {points}")
        expect(all(p["status"] == "passed" for p in saves[0]["parts"]), "json: a part of the scripted campaign failed")
        return f"json score {saves[0]['score']}"
    expect(abs(data["score"] - points) < 0.01, f"gradescope: score {data['score']} but the game computed {points}")
    scored = [t for t in data["tests"] if t["max_score"] > 0]
    expect(len(scored) == 3, f"gradescope: expected a scored test per part, found {len(scored)}")
    # A campaign played by a script moves faster than a person: forensics may say so, to
    # instructors only (hidden) and for no points.
    others = [t for t in data["tests"] if t["max_score"] == 0]
    expect(all(t.get("visibility") == "hidden" for t in others), f"gradescope: a visible 0-point test: {others}")
    return f"gradescope score {data['score']}, {len(scored)} scored tests"


def run_check(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if "/.venv/" not in p)
    dist = tmp_path / "dist"
    step("build the wheel", [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(ROOT)],
         tmp_path, env, quiet_stderr=False)
    wheels = sorted(dist.glob("edgequest-*.whl"))
    expect(len(wheels) == 1, f"expected one edgequest wheel in {dist}, found {[w.name for w in wheels]}")
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = str(env_dir / "bin" / "python")
    exe = str(env_dir / "bin" / "edgequest")
    step("install the wheel in a fresh environment", [py, "-m", "pip", "install", "--quiet", str(wheels[0])],
         tmp_path, env, quiet_stderr=False)
    work = tmp_path / "elsewhere"
    work.mkdir()

    where = step("the installed package is the one imported", [py, "-c", "import edgequest; print(edgequest.__file__)"],
                 work, env).stdout.strip()
    expect(Path(where).resolve().is_relative_to(env_dir.resolve()),
           f"edgequest was imported from {where}, not from the fresh environment")
    step("edgequest --help", [exe, "--help"], work, env)
    step("missions check", [exe, "missions", "check"], work, env)

    carried = json.loads(step("the tracks the wheel carries, each with its released copy", [py, "-c", TRACKS],
                              work, env).stdout)
    parts = carried["parts"]
    expect(len(parts) >= 4, f"the wheel carries {len(parts)} tracks: {sorted(parts)}")
    expect(not carried["unreleased"], f"no released copy in the wheel for {carried['unreleased']}: old saves "
           "of these tracks could not be graded after the next change")
    for track, numbers in parts.items():
        for number in numbers:
            out = step(f"simulate {track} part {number}",
                       [exe, "simulate", "--track", track, "--part", str(number), "--compact"], work, env)
            data = json.loads(out.stdout)
            expect(bool(data["metrics"]) and bool(data["spec"]), f"simulate {track} part {number}: {data}")

    played = step("play a scripted campaign through the game core", [py, "-c", PLAY, str(work / "saves")],
                  work, env)
    points = float(played.stdout.strip())
    save = work / "saves" / "clean-check__edge-guardian.json"
    expect(save.is_file(), f"the campaign left no save at {save}")
    step("replay the save", [exe, "replay", str(save)], work, env)
    summaries = []
    for fmt in ("gradescope", "json", "csv"):
        results = work / f"results-{fmt}.{'csv' if fmt == 'csv' else 'json'}"
        step(f"grade the save ({fmt})", [exe, "grade", str(work / "saves"), "--format", fmt, "--results", str(results)],
             work, env)
        summaries.append(check_results(fmt, results, points))
    print(f"  played {points} points; graded: " + "; ".join(summaries))


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="edgequest-clean-") as tmp:
        try:
            run_check(Path(tmp))
        except CheckFailed as failure:
            sys.stderr.write(f"FAILED: {failure}\n")
            return 1
    print("clean-machine check passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
