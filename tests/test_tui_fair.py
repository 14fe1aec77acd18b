"""Fair play at 80x24, by keys: a repeated design, a short reflection, the Ledger's strategy
and the reveal's score explained, each shown to the player, nothing lost silently."""

from __future__ import annotations

from edgequest.game.play import Phase
from edgequest.saves.store import read_save, save_path
from edgequest.session import Session
from edgequest.tui.app import EdgeQuestApp
from tests.test_tui_fakes import fake_campaign, fake_models  # noqa: F401 (fixture)
from tests.test_tui_play import run_async, settle

SIZE = (80, 24)
TEXT = "A reflection long enough to earn the reflection's points, in full."


def _prepared(tmp_path, track: str, upto: int, runs: list[dict] = (), commit: bool = False) -> EdgeQuestApp:
    campaign = fake_campaign()
    session = Session.open(campaign[track], tmp_path, "ada", seed=5)
    for part in campaign[track].parts:
        if part.number > upto:
            break
        session.lock(part.number, part.lock.choices[0] if part.lock.kind == "choice" else 100)
        if part.number < upto:
            session.run(part.number, {})
            session.commit(part.number)
            session.reflect(part.number, TEXT)
    for controls in runs:
        session.run(upto, controls)
    if commit:
        session.commit(upto)
    session.close()
    return EdgeQuestApp(campaign, tmp_path, "ada", track=track)


@run_async
async def test_running_the_same_design_again_is_refused_with_a_notice(fake_models, tmp_path):
    app = _prepared(tmp_path, "edge-guardian", upto=1, runs=[{}])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "WorkbenchScreen"
        await pilot.press("r")  # the controls still show the defaults: run 1's design
        await settle(pilot)
        assert any("you ran this design as run 1" in n for n in app.notices), app.notices
        assert len(app.session.game.outcomes(1)) == 1 and app.session.game.runs_left(1) == 9
        assert "Run 1/10" in str(app.screen.query_one("#run-status").render())


@run_async
async def test_the_reveal_shows_how_each_component_was_computed(fake_models, tmp_path):
    app = _prepared(tmp_path, "edge-guardian", upto=1, runs=[{}], commit=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "RevealScreen"
        from rich.console import Group
        from rich.table import Table

        (reveal,) = [w.content for w in app.screen.query("Static") if isinstance(w.content, Group)]
        (table,) = [r for r in reveal.renderables if isinstance(r, Table)]
        rows = list(zip(*(column.cells for column in table.columns)))
        score = app.session.game.score(1)
        for c in score.components:  # each component: its name, its points, how they came
            assert (f" {c.label}", f"{c.points:.1f} of {c.out_of:g}", c.how) in rows
        assert any("SPEC lines pass" in how for _, _, how in rows)
        assert (" Reflection", "0.0 of 10", "not written yet") in rows


@run_async
async def test_a_short_reflection_asks_and_keeps_the_draft(fake_models, tmp_path):
    app = _prepared(tmp_path, "edge-guardian", upto=1, runs=[{}], commit=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # the reveal -> Reflect
        await pilot.pause()
        await pilot.press(*"Too short", "ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        assert app.focused.id == "no"
        await pilot.press("enter")  # keep writing (the focused, safe answer)
        await pilot.pause()
        assert type(app.screen).__name__ == "ReflectScreen"
        assert app.screen.query_one("#reflection").text == "Too short"
        assert app.session.game.phase(1) is Phase.REFLECT
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("tab", "enter")  # to "Submit anyway"
        await pilot.pause()
        assert app.session.game.phase(1) is Phase.DONE
    record = read_save(save_path(tmp_path, "ada", "edge-guardian")).record
    assert record.parts[1].reflection == "Too short"


@run_async
async def test_the_ledger_strategy_starts_unchosen_and_must_be_picked(fake_models, tmp_path):
    app = _prepared(tmp_path, "cloud-titan", upto=4)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "LedgerScreen"
        radio = app.screen.query_one("#strategy")
        assert radio.pressed_index == -1
        app.screen.query_one("#ledger-text").text = "Data locality first, because the fleet is the sensor."
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert any("no strategy is chosen; choose one of Personalization, Privacy, Balanced" in n
                   for n in app.notices), app.notices
        assert app.session.game.record.ledger is None
        radio.focus()
        await pilot.pause()
        await pilot.press("down", "enter")  # the radio set's second choice
        await pilot.pause()
        assert radio.pressed_index >= 0
        chosen = radio.pressed_button.label.plain
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.session.game.record.ledger.startswith(f"Strategy: {chosen}\n\n")
