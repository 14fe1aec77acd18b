"""Pilot tests of the student's 80x24 terminal: nothing acts unseen, nothing is cut, no trap."""

from __future__ import annotations

import pytest

from edgequest.tui.app import EdgeQuestApp
from tests.test_tui_fakes import fake_campaign, fake_models  # noqa: F401 (fixture)
from tests.test_tui_play import SIZE, run_async, settle


async def to_workbench(pilot, answer: str = "5000") -> None:
    await pilot.pause()
    await pilot.press("enter", *answer, "enter")
    await pilot.pause()
    assert type(pilot.app.screen).__name__ == "WorkbenchScreen"


@run_async
async def test_no_key_acts_behind_the_too_small_cover(fake_models, tmp_path):
    app = EdgeQuestApp(fake_campaign(), tmp_path, "ada", seed=3, track="cloud-titan")
    async with app.run_test(size=SIZE) as pilot:
        await to_workbench(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert len(app.session.game.outcomes(1)) == 1
        focused = app.focused
        value = focused.value
        await pilot.resize_terminal(60, 16)
        await pilot.pause()
        assert app.screen.query_one("#too-small").styles.display == "block"
        for key in ("r", "right", "c", "enter", "escape", "m", "v", "l", "tab"):
            await pilot.press(key)
        await settle(pilot)
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert type(app.screen).__name__ == "WorkbenchScreen"
        assert len(app.session.game.outcomes(1)) == 1
        assert app.focused is focused and focused.value == value and not app.screen.peek_open
        await pilot.press("r")  # and at full size the keys act again
        await settle(pilot)
        assert len(app.session.game.outcomes(1)) == 2
