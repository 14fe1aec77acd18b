"""Grading budgets: one complete three-part save <= 3 s; a folder of 50 saves scales with --jobs.

Run ``python benchmarks/bench_grading.py`` for medians and the jobs-2 / jobs-1 ratio (about
0.5 on two free cores). ``cases()`` gives (name, zero-argument callable, budget in
seconds) for the project-wide benchmark command.

The saves are played through the game with every part's full run budget and random legal
controls (seeded), so they are the most expensive complete saves a student can submit.
They use the campaign's real missions; until those exist, the toy mission of the tests.
"""

from __future__ import annotations

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


def play_complete(mission: Mission, seed: int) -> Game:
    """A finished campaign using every run of every part's budget."""
    rng = random.Random(seed)
    game = Game(mission, seed=seed)
    for part in mission.parts:
        lock = part.lock
        game.answer_lock(part.number, rng.choice(lock.choices) if lock.kind == "choice"
                         else rng.uniform(float(lock.min), float(lock.max)))
        for _ in range(part.budget):
            game.run(part.number, _random_controls(part, rng))
        best = max(range(part.budget), key=lambda i: game.outcomes(part.number)[i].points)
        game.commit(part.number, best)
        game.reflect(part.number, f"Run {best + 1} met the most of the SPEC for {part.stakeholder}; " * 3)
    game.write_ledger("Personalisation where memory allows, privacy where the law requires it. " * 5)
    return game


@lru_cache(maxsize=1)
def _class_folder() -> Path:
    missions, _, _ = _missions()
    folder = Path(tempfile.mkdtemp(prefix="edgequest-bench-"))
    for i in range(FOLDER_SAVES):
        mission = missions[i % len(missions)]
        game = play_complete(mission, seed=1000 + i)
        save = SaveData(mission_id=mission.id, mission_sha256=mission.sha256, player=f"student{i:02d}",
                        created="2026-03-01T10:00:00+00:00", updated="2026-03-01T11:00:00+00:00",
                        record=game.record)
        (folder / f"student{i:02d}__{mission.id}.json").write_bytes(save.to_bytes())
    return folder


def grade_one() -> object:
    _, library, _ = _missions()
    path = sorted(_class_folder().glob("*.json"))[0]
    grade = grade_file(path, library)
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
    # a little over half of that on two.
    return [
        ("grading: one complete three-part save (full run budgets)", grade_one, ONE_SAVE_BUDGET_S),
        (f"grading: {FOLDER_SAVES} saves, --jobs 1", grade_folder(1), FOLDER_SAVES * ONE_SAVE_BUDGET_S),
        (f"grading: {FOLDER_SAVES} saves, --jobs 2", grade_folder(2), FOLDER_SAVES * ONE_SAVE_BUDGET_S * 0.55),
    ]


def _median_s(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    _, _, which = _missions()
    _class_folder()  # played once, outside the timings
    print(f"saves played on {which}")
    medians = {}
    for name, fn, budget in cases():
        fn()  # warm caches (mission loading, imports)
        medians[name] = median = _median_s(fn, repeats=5 if "one" in name else 3)
        verdict = "ok" if median <= budget else "OVER BUDGET"
        print(f"{name:<60} median {median:8.3f} s   budget {budget:7.1f} s   {verdict}")
    names = [n for n, _, _ in cases()]
    ratio = medians[names[2]] / medians[names[1]]
    print(f"jobs 2 / jobs 1 = {ratio:.2f} (about 0.5 expected on two free cores)")


if __name__ == "__main__":
    main()
