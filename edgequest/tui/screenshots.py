"""Export the students' guide's pictures: SVG screenshots taken by the app itself.

    python -m edgequest.tui.screenshots docs/screens

Plays a scripted game (headless, 80x24 unless said otherwise) through the session and
saves one SVG per step of a part. The campaign's real missions are used; tests may pass
another campaign.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Mapping

from edgequest.campaign.schema import Mission

TEXT = "Training keeps gradients and optimizer state beside the weights, so memory grows."


def _answer(part) -> object:
    lock = part.lock
    return lock.choices[0] if lock.kind == "choice" else lock.min + (lock.max - lock.min) * 0.01


async def _shoot(campaign: Mapping[str, Mission], track: str, folder: Path, saves: Path) -> list[Path]:
    from edgequest.session import Session
    from edgequest.tui.app import EdgeQuestApp

    shots: list[Path] = []
    mission = campaign[track]

    async def snap(name: str, size=(80, 24), upto: int = 1, keys=(), fresh: bool = False, **moves) -> None:
        app = EdgeQuestApp(campaign, saves, "student", seed=7, track=None if fresh else track)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            for key in keys:
                await pilot.press(key)
                await app.workers.wait_for_complete()
                await pilot.pause()
            app.clear_notifications()
            await pilot.pause()
            path = folder / f"{name}.svg"
            app.save_screenshot(filename=path.name, path=str(folder))
            shots.append(path)

    await snap("title", fresh=True)
    await snap("briefing")
    await snap("lock", keys=["enter"])
    session = Session.open(mission, saves, "student", seed=7)
    part = mission.part(1)
    session.lock(1, _answer(part))
    session.run(1, {})
    second = part.controls[0]
    if second.kind == "choice" and len(second.choices) > 1:
        session.run(1, {second.name: second.choices[-1]})
    session.close()
    await snap("workbench")
    await snap("math-peek", keys=["m"])
    await snap("workbench-wide", size=(160, 50), keys=["m"])
    await snap("commit", keys=["c"])
    session = Session.open(mission, saves, "student", seed=7)
    session.commit(1)
    session.close()
    await snap("reveal")
    await snap("reflect", keys=["enter"])
    session = Session.open(mission, saves, "student", seed=7)
    session.reflect(1, TEXT)
    for p in mission.parts[1:]:
        session.lock(p.number, _answer(p))
        session.run(p.number, {})
        if p.number == 2:
            session.close()
            await snap("workbench-fleet")
            session = Session.open(mission, saves, "student", seed=7)
        if p.number == 3:
            session.close()
            await snap("workbench-privacy")
            session = Session.open(mission, saves, "student", seed=7)
        session.commit(p.number)
        session.reflect(p.number, TEXT)
    session.close()
    await snap("ledger")
    await snap("help", keys=["f1"])
    await snap("too-small", size=(70, 20))
    return shots


def export(folder: Path, campaign: Mapping[str, Mission] | None = None, track: str | None = None) -> list[Path]:
    from edgequest.campaign import load_campaign

    campaign = dict(campaign if campaign is not None else load_campaign())
    track = track or next(iter(campaign))
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_shoot(campaign, track, folder.resolve(), Path(tmp)))


if __name__ == "__main__":
    for shot in export(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screens")):
        print(shot)
