"""Grading budgets: one complete three-part save <= 3 s; a folder of 50 saves scales with --jobs.

Run ``python benchmarks/bench_grading.py`` for medians, the jobs-2 / jobs-1 ratio (about
0.5 on two free cores) and the CPU seconds each took (equal when the process pool adds
no work; a ratio above 0.5 with equal CPU means other processes held the cores).
``cases()`` gives (name, zero-argument callable, budget in seconds) for the
project-wide benchmark command.

Saves are played through the game with random legal controls (seeded). The single save
uses every part's full run budget: the most expensive complete save a student can
submit. The folder holds typical complete saves (four runs a part), one track after
another. They use the campaign's real missions; until those exist, the tests' toy one.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgequest.campaign.schema import Mission, Part  # noqa: E402
from edgequest.game.play import Game  # noqa: E402
from edgequest.grading.grade import grade_paths  # noqa: E402
from edgequest.grading.library import MissionLibrary  # noqa: E402
from edgequest.grading.verdict import grade_file  # noqa: E402
from edgequest.saves.store import SaveData  # noqa: E402

FOLDER_SAVES = 50
FOLDER_RUNS_PER_PART = 4
ONE_SAVE_BUDGET_S = 3.0


@lru_cache(maxsize=1)
def _missions() -> tuple[tuple[Mission, ...], MissionLibrary, str]:
    """The real campaign when it loads, else the tests' toy mission (its model registered here)."""
    from edgequest.campaign import load_campaign
    from edgequest.errors import MissionError

    try:
        campaign = load_campaign()
    except MissionError:
        campaign = {}
    if campaign:
        return tuple(campaign.values()), MissionLibrary(), "the campaign's missions"
    from edgequest.campaign import load_mission
    from edgequest.simulators import registry
    from tests.conftest import FIXTURES, TOY

    registry.MODELS["toy"] = TOY
    return (load_mission(FIXTURES / "toy_mission.toml"),), MissionLibrary(FIXTURES), "the toy mission (no campaign yet)"


def _random_controls(part: Part, rng: random.Random) -> dict[str, object]:
    controls: dict[str, object] = {}
    for c in part.controls:
        if c.kind == "choice":
            controls[c.name] = rng.choice(c.choices)
        elif c.kind == "int":
            controls[c.name] = rng.randint(int(c.min), int(c.max))
        else:
            controls[c.name] = rng.uniform(float(c.min), float(c.max))
    return controls


def play_complete(mission: Mission, seed: int, runs_per_part: int | None = None) -> Game:
    """A finished campaign: ``runs_per_part`` runs a part (default: each part's full budget)."""
    rng = random.Random(seed)
    game = Game(mission, seed=seed)
    for part in mission.parts:
        lock = part.lock
        game.answer_lock(part.number, rng.choice(lock.choices) if lock.kind == "choice"
                         else rng.uniform(float(lock.min), float(lock.max)))
        runs = min(part.budget, runs_per_part or part.budget)
        for _ in range(runs):
            game.run(part.number, _random_controls(part, rng))
        best = max(range(runs), key=lambda i: game.outcomes(part.number)[i].points)
        game.commit(part.number, best)
        game.reflect(part.number, f"Run {best + 1} met the most of the SPEC for {part.stakeholder}; " * 3)
    game.write_ledger("Personalisation where memory allows, privacy where the law requires it. " * 5)
    return game


def _write(folder: Path, player: str, mission: Mission, game: Game) -> Path:
    save = SaveData(mission_id=mission.id, mission_sha256=mission.sha256, player=player,
                    created="2026-03-01T10:00:00+00:00", updated="2026-03-01T11:00:00+00:00", record=game.record)
    path = folder / f"{player}__{mission.id}.json"
    path.write_bytes(save.to_bytes())
    return path


@lru_cache(maxsize=1)
def _full_save() -> Path:
    missions, _, _ = _missions()
    folder = Path(tempfile.mkdtemp(prefix="edgequest-bench-one-"))
    return _write(folder, "fullbudget", missions[0], play_complete(missions[0], seed=999))


@lru_cache(maxsize=1)
def _class_folder() -> Path:
    missions, _, _ = _missions()
    folder = Path(tempfile.mkdtemp(prefix="edgequest-bench-class-"))
    for i in range(FOLDER_SAVES):
        mission = missions[i % len(missions)]
        _write(folder, f"student{i:02d}", mission, play_complete(mission, 1000 + i, FOLDER_RUNS_PER_PART))
    return folder


def grade_one() -> object:
    _, library, _ = _missions()
    grade = grade_file(_full_save(), library)
    assert grade.gradable, grade.reason
    return grade


def grade_folder(jobs: int) -> Callable[[], object]:
    def run() -> object:
        _, library, _ = _missions()
        grades = grade_paths([_class_folder()], library, jobs=jobs)
        assert len(grades) == FOLDER_SAVES and all(g.gradable for g in grades)
        return grades

    return run


def cases() -> list[tuple[str, Callable[[], object], float]]:
    # The folder budgets follow from the per-save budget: 50 saves at 3 s on one core, and
    # a little over half of that on two. (Typical saves take far less; the ratio is the point.)
    return [
        ("grading: one complete three-part save (full run budgets)", grade_one, ONE_SAVE_BUDGET_S),
        (f"grading: {FOLDER_SAVES} typical saves, --jobs 1", grade_folder(1), FOLDER_SAVES * ONE_SAVE_BUDGET_S),
        (f"grading: {FOLDER_SAVES} typical saves, --jobs 2", grade_folder(2), FOLDER_SAVES * ONE_SAVE_BUDGET_S * 0.55),
    ]


def _measure(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process and its finished children)."""
    walls, cpus = [], []
    for _ in range(repeats):
        before, start = os.times(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        after = os.times()
        cpus.append(sum(getattr(after, k) - getattr(before, k)
                        for k in ("user", "system", "children_user", "children_system")))
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    _, _, which = _missions()
    _full_save(), _class_folder()  # played once, outside the timings
    print(f"saves played on {which}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    walls = {}
    for name, fn, budget in cases():
        if "one" in name:
            fn()  # warm the caches (mission loading) once
        walls[name], cpu = _measure(fn, repeats=5 if "one" in name else 1)
        verdict = "ok" if walls[name] <= budget else "OVER BUDGET"
        print(f"{name:<58} median {walls[name]:7.2f} s  cpu {cpu:7.2f} s  budget {budget:6.1f} s  {verdict}")
    names = [n for n, _, _ in cases()]
    print(f"jobs 2 / jobs 1 = {walls[names[2]] / walls[names[1]]:.2f} (about 0.5 on two free cores); "
          f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
