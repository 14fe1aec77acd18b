#!/usr/bin/env python3
"""The clean-machine check: what a new user gets from the built wheel, outside the checkout.

1. Build the wheel from this checkout.
2. Install it into a brand-new virtual environment in a temporary folder.
3. From a folder with no checkout in sight: check the missions, simulate one run of every
   part of every track, play a scripted campaign through the game core (saved as a real
   save), replay it, and grade it in every format.

Exits non-zero at the first failure, saying which step failed. Run by ``.ci/run``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACKS = ("cloud-titan", "edge-guardian", "mobile-nomad", "tiny-pioneer")

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
        2: dict(rounds=100, clients=20, local_epochs=5, reliability=0.75),
        3: dict(aggregation="central", epsilon=0.9, clip=2, clients=50, rounds=60, local_epochs=3),
    }
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


def step(name: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    print(f"- {name}", flush=True)
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        sys.stderr.write(f"FAILED: {name}\n$ {' '.join(cmd)}\n{result.stdout}\n{result.stderr}\n")
        raise SystemExit(1)
    return result


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="edgequest-clean-") as tmp:
        tmp_path = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if "/.venv/" not in p)
        dist = tmp_path / "dist"
        step("build the wheel", [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(ROOT)],
             tmp_path, env)
        wheel = next(dist.glob("edgequest-*.whl"))
        env_dir = tmp_path / "env"
        venv.EnvBuilder(with_pip=True).create(env_dir)
        py = str(env_dir / "bin" / "python")
        exe = str(env_dir / "bin" / "edgequest")
        step("install the wheel in a fresh environment", [py, "-m", "pip", "install", "--quiet", str(wheel)],
             tmp_path, env)
        work = tmp_path / "elsewhere"
        work.mkdir()
        step("missions check", [exe, "missions", "check"], work, env)
        for track in TRACKS:
            for part in ("1", "2", "3"):
                out = step(f"simulate {track} part {part}", [exe, "simulate", "--track", track, "--part", part,
                                                            "--compact"], work, env)
                data = json.loads(out.stdout)
                assert data["metrics"] and data["spec"], data
        played = step("play a scripted campaign through the game core", [py, "-c", PLAY, str(work / "saves")],
                      work, env)
        save = work / "saves" / "clean-check__edge-guardian.json"
        step("replay the save", [exe, "replay", str(save)], work, env)
        for fmt in ("gradescope", "json", "csv"):
            results = work / f"results.{'csv' if fmt == 'csv' else 'json'}"
            out = step(f"grade the save ({fmt})", [exe, "grade", str(work / "saves"), "--format", fmt,
                                                    "--results", str(results)], work, env)
            if out.stderr:
                sys.stderr.write(f"FAILED: grading wrote to stderr:\n{out.stderr}\n")
                return 1
            if fmt == "json":
                graded = json.loads(results.read_text())
                print(f"  played {played.stdout.strip()} points; graded {json.dumps(graded)[:160]}...")
        print("clean-machine check passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
