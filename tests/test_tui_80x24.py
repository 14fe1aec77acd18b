"""Pilot tests of the student's 80x24 terminal: nothing acts unseen, nothing is cut, no trap."""

from __future__ import annotations

import contextlib

import pytest

from edgequest.tui.app import EdgeQuestApp
from tests.test_tui_fakes import fake_campaign, fake_models  # noqa: F401 (fixture)
from tests.test_tui_play import SIZE, run_async, settle


async def to_workbench(pilot, answer: str = "5000") -> None:
    await pilot.pause()
    await pilot.press("enter", *answer, "enter")
    await pilot.pause()
    assert type(pilot.app.screen).__name__ == "WorkbenchScreen"


@contextlib.asynccontextmanager
async def on_workbench(tmp_path):
    """A stand-in Cloud Titan at 80x24, its Lock answered: the pilot on part 1's workbench."""
    app = EdgeQuestApp(fake_campaign(), tmp_path, "ada", seed=3, track="cloud-titan")
    async with app.run_test(size=SIZE) as pilot:
        await to_workbench(pilot)
        yield pilot


@run_async
async def test_no_key_acts_behind_the_too_small_cover(fake_models, tmp_path):
    async with on_workbench(tmp_path) as pilot:
        app = pilot.app
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
        await pilot.press("down", "right", "r")  # and at full size the keys act again (a new design)
        await settle(pilot)
        assert len(app.session.game.outcomes(1)) == 2


def test_the_title_path_loads_no_numpy_plotext_or_engine():
    import subprocess
    import sys

    code = ("import sys\nfrom edgequest.campaign import load_campaign\nimport edgequest.tui.launch, edgequest.tui.app\n"
            "load_campaign(check_models=False)\n"
            "heavy = [m for m in ('numpy', 'plotext', 'edgequest.engine', 'edgequest.simulators') if m in sys.modules]\n"
            "print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


def test_the_deferred_mission_check_still_rejects_a_bad_model(tmp_path):
    from edgequest.campaign import load_campaign, mission_paths
    from edgequest.errors import MissionError
    from edgequest.tui.launch import CampaignCheck

    source = mission_paths()[0]
    (tmp_path / source.name).write_text(source.read_text().replace('model = "frontier"', 'model = "nope"', 1))
    assert load_campaign(tmp_path, check_models=False)  # the title can list it
    problems = []
    check = CampaignCheck(tmp_path)
    check.on_problem = lambda: problems.append(True)
    with pytest.raises(MissionError, match="nope"):
        check.run()
    with pytest.raises(MissionError):  # once found, every later open is refused too
        check.run()
    assert problems == [True]


@run_async
async def test_a_track_opens_only_after_the_mission_check(fake_models, tmp_path):
    from edgequest.errors import MissionError

    app = EdgeQuestApp(fake_campaign(), tmp_path, "ada", seed=3)
    calls = []

    def refuse() -> None:
        calls.append(True)
        raise MissionError(["missions/x.toml: part 1: model: expected one of frontier; got 'nope'"])

    app.before_open = refuse
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert calls and type(app.screen).__name__ == "TitleScreen"
        assert "nope" in app.notices[-1]


async def commit_to_reflect(pilot) -> None:
    """Commit the highlighted run (yes, even a failing one), then leave the reveal for Reflect."""
    await pilot.press("c", "enter")
    await pilot.pause()
    if type(pilot.app.screen).__name__ == "CommitScreen":
        await pilot.press("y")
        await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def run_with(pilot, *keys: str) -> None:
    await pilot.press(*keys, "r")
    await settle(pilot)


@run_async
async def test_commit_offers_the_best_passing_run_and_asks_again_before_a_failing_one(fake_models, tmp_path):
    async with on_workbench(tmp_path) as pilot:
        app = pilot.app
        await run_with(pilot)  # full fine-tuning: over the memory budget
        await run_with(pilot, "right", "right")  # LoRA
        await run_with(pilot, "left", "left", "down", "right")  # full again at rank 9
        await run_with(pilot, "right")  # and at rank 10, the latest run (a design runs once)
        outcomes = app.session.game.outcomes(1)
        assert [o.passed for o in outcomes] == [False, True, False, False]
        await pilot.press("c")
        await pilot.pause()
        dialog = app.screen
        runs = dialog.query_one("#commit-runs")
        assert runs.highlighted == 1  # the passing run, not the latest
        hint = dialog.query_one("#commit-hint")
        assert hint.region.bottom <= dialog.query_one("#dialog").region.bottom  # the hint shows with 4 runs
        assert hint.region.height >= 1 and dialog.query_one("#dialog").region.bottom <= SIZE[1]
        await pilot.press("end", "enter")  # a failing run: asked again, nothing committed
        await pilot.pause()
        assert app.screen is dialog and app.session.game.committed(1) is None
        assert "fails the SPEC" in str(hint.render())
        await pilot.press("escape")  # no: back to choosing
        await pilot.pause()
        assert app.screen is dialog and "Enter commits" in str(hint.render())
        await pilot.press("enter", "y")
        await pilot.pause()
        assert app.session.game.committed(1).index == 3


@run_async
async def test_up_and_down_wrap_within_the_controls(fake_models, tmp_path):
    async with on_workbench(tmp_path) as pilot:
        app = pilot.app
        assert app.focused.id == "control-method"
        await pilot.press("up")
        assert app.focused.id == "control-rank"
        await pilot.press("down")
        assert app.focused.id == "control-method"


def _int_control(name: str, low: int, high: int, default: int, step=None):
    from edgequest.campaign.schema import Control

    return Control(name=name, label=name, kind="int", default=default, help="", min=low, max=high, step=step)


def test_ranks_and_batches_step_through_powers_of_two_both_ways():
    from edgequest.tui import stepping

    rank = _int_control("rank", 1, 64, 16)
    batch = _int_control("batch", 1, 64, 16)
    assert stepping.step(rank, 16, -1) == 8 and stepping.step(rank, 16, +1) == 32
    assert stepping.step(batch, 16, -1, big=True) == 8  # PgDn
    assert stepping.step(batch, 8, +1, big=True) == 16 and stepping.step(batch, 16, +1, big=True) == 32  # PgUp
    assert stepping.step(batch, 12, -1) == 8 and stepping.step(batch, 12, +1) == 16  # a typed value snaps
    assert stepping.step(batch, 64, +1) == 64 and stepping.step(batch, 1, -1) == 1


@pytest.mark.parametrize("big", [False, True])
def test_every_campaign_control_steps_back_where_it_came_from(big):
    from edgequest.campaign import load_campaign
    from edgequest.tui import stepping

    for mission in load_campaign().values():
        for part in mission.parts:
            for control in part.controls:
                if control.kind == "choice":
                    continue
                values = stepping.notches(control)
                assert values[0] == control.min and values[-1] == control.max
                assert list(values) == sorted(set(values)), (mission.id, control.name, values)
                for value in values:
                    value = int(value) if control.kind == "int" else value
                    for direction in (-1, +1):
                        moved = stepping.step(control, value, direction, big)
                        back = stepping.step(control, moved, -direction, big)
                        if moved not in (control.min, control.max):  # not pressed against an end
                            assert back == value, (mission.id, control.name, value, moved, back)
                if stepping.is_power_of_two_range(control):
                    assert all(int(v) & (int(v) - 1) == 0 for v in values), (control.name, values)


@run_async
async def test_math_peek_takes_the_focus_and_scrolls_by_keyboard(fake_models, tmp_path):
    async with on_workbench(tmp_path) as pilot:
        app = pilot.app
        await pilot.press("down", "r")
        await settle(pilot)
        await pilot.press("m")
        await pilot.pause()
        peek = app.screen.query_one("#peek")
        assert app.focused is peek
        if peek.max_scroll_y:
            await pilot.press("end")
            await pilot.pause()
            assert peek.scroll_y == peek.max_scroll_y
        await pilot.press("m")
        await pilot.pause()
        assert app.focused.id == "control-rank"  # back where the player was


@run_async
async def test_a_refused_value_is_named_by_the_controls_label(fake_models, tmp_path):
    async with on_workbench(tmp_path) as pilot:
        app = pilot.app
        await pilot.press("down", "enter", "backspace", "9", "9", "9", "enter")
        await pilot.pause()
        assert app.notices[-1].startswith("LoRA rank: '999' is not accepted") and "'rank'" not in app.notices[-1]


@run_async
async def test_c_before_any_run_and_r_after_the_last_say_why(fake_models, tmp_path):
    async with on_workbench(tmp_path) as pilot:
        app = pilot.app
        await pilot.press("c")
        await pilot.pause()
        assert "run a design first" in app.notices[-1] and type(app.screen).__name__ == "WorkbenchScreen"
        await run_with(pilot)
        await pilot.press("down")  # the rank: each run a new design (the same one never runs twice)
        for _ in range(app.session.mission.part(1).budget - 1):
            await run_with(pilot, "right")
        await pilot.press("right", "r")
        await settle(pilot)
        assert "runs are used" in app.notices[-1]
        assert len(app.session.game.outcomes(1)) == app.session.mission.part(1).budget


@run_async
async def test_unrun_controls_and_a_reflection_draft_survive_quitting(fake_models, tmp_path):
    campaign = fake_campaign()
    app = EdgeQuestApp(campaign, tmp_path, "ada", seed=3, track="cloud-titan")
    async with app.run_test(size=SIZE) as pilot:
        await to_workbench(pilot)
        await pilot.press("down", "right", "right")  # rank 8 -> 10 (the stand-in steps by 1), not run
    assert (tmp_path / ".ada__cloud-titan.drafts").exists()
    again = EdgeQuestApp(campaign, tmp_path, "ada", track="cloud-titan")
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.screen.query_one("#control-rank").value == 10
        assert again.screen.query_one("#control-method").value == "full"
        await run_with(pilot)
        assert again.session.game.outcomes(1)[-1].controls["rank"] == 10
        await commit_to_reflect(pilot)
        await pilot.press(*"Half a thought")
        await pilot.pause()
    third = EdgeQuestApp(campaign, tmp_path, "ada", track="cloud-titan")
    async with third.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert type(third.screen).__name__ == "RevealScreen"  # the reveal again, then Reflect
        await pilot.press("enter")
        await pilot.pause()
        assert third.screen.query_one("#reflection").text == "Half a thought"
        await pilot.press(*" that I finish now, explaining why rank mattered for memory.", "ctrl+s")
        await pilot.pause()
        record = third.session.game.record.parts[1]
        assert record.reflection.startswith("Half a thought that I finish")
    assert not (tmp_path / ".ada__cloud-titan.drafts").exists()  # nothing left to resume


@run_async
async def test_the_track_list_keeps_its_cursor_and_keys_after_esc_and_play_after_tab(fake_models, tmp_path):
    campaign = fake_campaign()
    ids = list(campaign)
    app = EdgeQuestApp(campaign, tmp_path, "ada", seed=3)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "enter")  # the second track
        await pilot.pause()
        assert app.session.mission.id == ids[1]
        await pilot.press("escape", "down")  # a key right after Esc is not dropped
        await pilot.pause()
        tracks = app.screen.query_one("#tracks")
        assert tracks.highlighted == 2
        await pilot.press("tab")
        await pilot.pause()
        bar = str(app.screen.query_one("KeyBar").render())
        assert "Play" in bar
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.mission.id == ids[2]


@run_async
async def test_the_theme_is_kept_across_restarts(fake_models, tmp_path):
    app = EdgeQuestApp(fake_campaign(), tmp_path, "ada")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.theme = "nord"
        await pilot.pause()
    again = EdgeQuestApp(fake_campaign(), tmp_path, "ada")
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.theme == "nord"


def test_the_default_player_comes_from_the_password_database_without_user(monkeypatch):
    import os
    import pwd

    from edgequest.saves.store import default_player

    for var in ("EDGEQUEST_PLAYER", "USER", "LOGNAME"):
        monkeypatch.delenv(var, raising=False)
    login = pwd.getpwuid(os.getuid()).pw_name
    assert default_player() == login


def test_a_clean_close_removes_the_lock_file_and_the_next_session_locks_again(tmp_path):
    from edgequest.saves.store import SaveSlot

    slot = SaveSlot.open(tmp_path, "ada", "cloud-titan")
    assert slot.lock_path.exists() and not slot.read_only
    other = SaveSlot.open(tmp_path, "ada", "cloud-titan")
    assert other.read_only  # held
    slot.close()
    assert not slot.lock_path.exists()
    again = SaveSlot.open(tmp_path, "ada", "cloud-titan")
    assert not again.read_only and again.lock_path.exists()
    again.close()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".lock")] == []


def test_a_prompt_that_names_its_stakeholder_is_not_prefixed_again():
    from edgequest.tui.screens.part import prompt_line

    assert prompt_line("David Patterson", "Patterson asks: why?") == "Patterson asks: why?"
    assert prompt_line("the Privacy Officer", "The Privacy Officer asks: where?") == "The Privacy Officer asks: where?"
    assert prompt_line("Jeff Dean", "Why so many rounds?") == "Jeff Dean: “Why so many rounds?”"


@run_async
async def test_help_says_what_tab_does_in_words(fake_models, tmp_path):
    from edgequest.tui.screens.dialogs import help_markdown

    async with on_workbench(tmp_path) as pilot:
        app = pilot.app
        text = help_markdown(app.screen)
        assert "Focus Next" not in text and "| None |" not in text
        assert "drafts" in text
        tab = next(line for line in text.splitlines() if line.startswith("| `tab"))
        assert "Move to the next" in tab and "control" in tab


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (0.5, "", "0.5"), (0.043, "MB", "0.043 MB"), (0.022, "mW", "0.022 mW"), (11.66, "", "11.7"),
    (85_899, "MB", "85,899 MB"), (0.001, "", "0.001"), (1.5e-5, "", "1.5e-05"), (0, "mW", "0 mW"),
    (1234.5, "", "1,234"), (2.5e6, "", "2.5e+06"),
])
def test_numbers_are_shown_by_magnitude(value, unit, shown):
    from edgequest.numbers import number

    assert number(value, unit) == shown


def test_memory_in_gb_is_a_thousand_mb_as_the_spec_counts():
    from edgequest.tui.numbers import memory

    assert memory(85_899) == "85.9 GB" and memory(620_722.5) == "621 GB" and memory(512) == "512 MB"


def test_no_chart_writes_a_label_over_the_plot_and_captions_name_the_lines():
    """Each campaign part's instruments at the 80x24 chart size: lines are named in the caption."""
    from edgequest.campaign import load_campaign
    from edgequest.game.play import simulate_design
    from edgequest.tui.instruments import RunView, build_chart, instruments_for

    drawn = set()
    for mission in load_campaign().values():
        for part in mission.parts:
            outcome = simulate_design(part, {}, 4)
            views = [RunView(1, outcome.controls, outcome.metrics)]
            for instrument in instruments_for(part, outcome.metrics):
                drawn.add(instrument.id)
                chart = build_chart(instrument, part, views, 38, 14, nocolor=True)
                caption = instrument.caption(part, views)
                inside = "\n".join(chart.splitlines()[:-2])  # above the axis title
                for word in ("target", "officer", "policy", "HBM hit", "SPEC", " cap"):
                    assert word not in inside, (mission.id, instrument.id, word, chart)
                if instrument.id in ("fleet", "privacy", "frontier", "battery", "sram", "ble", "convergence"):
                    assert "lines: " in caption, (mission.id, instrument.id, caption)
                if instrument.id in ("fleet", "privacy", "frontier", "convergence"):  # no legend on the plot
                    assert "run 1" not in inside and "● run 1" in caption, (instrument.id, chart)
                if instrument.id == "cache":
                    assert "█ HBM hit" in caption
    assert {"memory", "frontier", "fleet", "privacy"} <= drawn


def test_the_chosen_radio_differs_in_shape_without_colour():
    from edgequest.tui.widgets.radio import MarkedRadioButton

    chosen, other = MarkedRadioButton("a", value=True), MarkedRadioButton("b", value=False)
    assert chosen.BUTTON_INNER == "●" and other.BUTTON_INNER == "○"
    other.value = True
    assert other.BUTTON_INNER == "●"


@run_async
async def test_an_emoji_with_a_variation_selector_keeps_the_reflection_box_whole(fake_models, tmp_path):
    from textual import events

    async with on_workbench(tmp_path) as pilot:
        app = pilot.app
        await run_with(pilot)
        await commit_to_reflect(pilot)
        area = app.screen.query_one("#reflection")
        await pilot.press(*"I loved it ")
        app.post_message(events.Paste("\u2764\ufe0f and \U0001f468\u200d\U0001f469 too"))
        await pilot.pause()
        assert area.text == "I loved it \u2764 and \U0001f468\U0001f469 too"


@run_async
async def test_at_80_columns_one_line_names_the_view_and_the_next(fake_models, tmp_path):
    async with on_workbench(tmp_path) as pilot:
        app = pilot.app
        await run_with(pilot)
        line = app.screen.query_one("#view-line")
        views = app.screen._panes()
        assert line.display and str(line.render()).startswith(f" 1/{len(views)} Memory map · v: ")
        await pilot.press("v")
        await pilot.pause()
        assert str(line.render()).startswith(f" 2/{len(views)} ")
        assert line.region.width >= len(str(line.render()).rstrip())  # whole, not cut
