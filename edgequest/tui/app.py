"""The EdgeQuest terminal app: which screen shows which step of the game.

The app holds the campaign, the player and the open :class:`~edgequest.session.Session`;
the state of play lives in the game core (reached through the session), never in the
widgets, so :meth:`EdgeQuestApp.show_current` can always rebuild the right screen from
the game: that is also how a resumed game lands where the player left off.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Mapping

from textual import events, on
from textual.app import App
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.notifications import SeverityLevel
from textual.screen import Screen

from edgequest.campaign.schema import Mission
from edgequest.errors import EdgeQuestError
from edgequest.tui.actions import bindings
from edgequest.tui.screens.base import MIN_HEIGHT, MIN_WIDTH, EdgeScreen
from edgequest.tui.screens.title import TitleScreen


class GameCommands(Provider):
    """The command palette offers the game's actions that make sense on the current screen."""

    def _commands(self):
        screen = self.screen
        seen = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.id in seen or not active.enabled:
                continue
            if binding.id is None or binding.id.split(".")[0] not in (
                "title", "briefing", "lock", "bench", "reveal", "text", "nav", "app", "done"
            ):
                continue
            seen.add(binding.id)
            yield binding.description, partial(active.node.run_action, binding.action), binding.tooltip
        for track in getattr(self.app, "campaign", {}).values():
            yield f"Play {track.name}", partial(self.app.open_track, track.id), f"Open the {track.name} track."

    async def discover(self) -> Hits:
        for name, command, help_text in self._commands():
            yield DiscoveryHit(name, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, command, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, help=help_text)


class EdgeQuestApp(App[int]):
    TITLE = "EdgeQuest"
    CSS_PATH = "edgequest.tcss"
    BINDINGS = bindings("app.quit", "app.help", "app.report")
    COMMANDS = App.COMMANDS | {GameCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-too-narrow"), (MIN_WIDTH, "-compact"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-too-short"), (MIN_HEIGHT, "-short"), (36, "-tall")]

    def __init__(
        self,
        campaign: Mapping[str, Mission],
        save_dir: Path,
        player: str,
        seed: int | None = None,
        track: str | None = None,
        session=None,
        keymap: Mapping[str, str] | None = None,
    ):
        super().__init__()
        self.keymap = dict(keymap or {})  # the player's keys by action id (tui/actions.py)
        if self.keymap:
            self.set_keymap(self.keymap)
        self.campaign = dict(campaign)
        self.save_dir = Path(save_dir)
        self.player = player
        self.seed = seed
        self.session = session
        self._initial_track = track
        self.notices: list[str] = []  # every notice shown, newest last (tests read it)
        # Called before a track opens; the launcher sets it to wait for the mission check.
        self.before_open: Callable[[], None] | None = None
        # Work the title starts in a thread once it is drawn (the launcher's mission check).
        self.warm_up: Callable[[], None] | None = None

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        self.notices.append(message)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    @property
    def too_small(self) -> bool:
        """True while the terminal is below the size the game needs (the cover is up)."""
        width, height = self.size
        return width < MIN_WIDTH or height < MIN_HEIGHT

    async def on_event(self, event: events.Event) -> None:
        # Behind the "terminal too small" cover no key, paste or click may act: the player
        # cannot see what it would do. Only ctrl+q (quit, the game is saved) goes through.
        if (
            isinstance(event, (events.InputEvent, events.Paste))
            and not event.is_forwarded
            and self.too_small
            and not (isinstance(event, events.Key) and event.key == "ctrl+q")
        ):
            event.stop()
            return
        await super().on_event(event)

    def get_default_screen(self) -> TitleScreen:
        return TitleScreen()

    @property
    def settings_path(self) -> Path:
        """The player's screen settings (the theme), hidden beside the saves."""
        return self.save_dir / f".{self.player}.settings.json"

    def _restore_theme(self) -> None:
        import json

        try:
            theme = json.loads(self.settings_path.read_text(encoding="utf-8")).get("theme")
        except (OSError, ValueError, AttributeError):
            theme = None
        if isinstance(theme, str) and theme in self.available_themes:
            self.theme = theme
        self.theme_changed_signal.subscribe(self, self._keep_theme)

    def _keep_theme(self, theme) -> None:
        import json

        from edgequest.saves.store import write_atomic

        try:
            write_atomic(self.settings_path, json.dumps({"theme": theme.name}).encode())
        except OSError:
            pass  # a theme that is not kept is no reason to interrupt the game

    def on_mount(self) -> None:
        self._restore_theme()
        if self.session is not None:
            self._after_open()
        elif self._initial_track:
            self.open_track(self._initial_track)

    # ------------------------------------------------------------------ tracks

    def open_track(self, track_id: str) -> None:
        """Open a track's session (closing another one) and show where its game stands."""
        from edgequest.session import Session

        if self.session is not None and self.session.current_mission.id == track_id and self.session.game:
            self.show_current()
            return
        mission = self.campaign.get(track_id)
        if mission is None:
            self.notify(f"no track {track_id!r}; tracks: {', '.join(self.campaign)}", severity="error")
            return
        if self.session is not None:
            self.session.close()
            self.session = None
        try:
            if self.before_open is not None:
                self.before_open()
            self.session = Session.open(mission, self.save_dir, self.player, self.seed)
        except EdgeQuestError as exc:
            self.notify(str(exc), title="Cannot open the save", severity="error", timeout=10)
            return
        self._after_open()

    def _after_open(self) -> None:
        session = self.session
        for notice in session.notices:
            self.notify(notice, severity="warning", timeout=8)
        if session.problem is not None:
            from edgequest.tui.screens.dialogs import ResumeProblemScreen

            def chosen(fresh: bool | None) -> None:
                if not fresh:
                    return
                try:
                    backup = session.start_fresh(self.seed)
                except EdgeQuestError as exc:
                    self.notify(str(exc), severity="error")
                    return
                if backup is not None:
                    self.notify(f"The old save is kept as {backup.name}.", title="Fresh start")
                self.show_current()

            self.push_screen(ResumeProblemScreen(session.problem.reason, session.problem.can_start_fresh,
                                                 str(session.path)), chosen)
            return
        self.show_current()

    def show_current(self) -> None:
        """Show the screen of the step the game is at (the router of the whole game)."""
        from edgequest.game.play import Phase
        from edgequest.tui.screens.ledger import LedgerScreen
        from edgequest.tui.screens.part import BriefingScreen, ReflectScreen, RevealScreen
        from edgequest.tui.screens.workbench import WorkbenchScreen

        game = self.session.game
        number = game.current_part
        screen: Screen
        if number is None:
            screen = LedgerScreen()
        else:
            phase = game.phase(number)
            if phase is Phase.RUNS:
                screen = WorkbenchScreen(number)
            elif phase is Phase.REFLECT:
                screen = RevealScreen(number) if not self._seen_reveal(number) else ReflectScreen(number)
            else:
                screen = BriefingScreen(number)
        if isinstance(self.screen, TitleScreen) or len(self.screen_stack) <= 1:
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    def _seen_reveal(self, number: int) -> bool:
        return False

    def back_to_tracks(self) -> None:
        if len(self.screen_stack) > 1 and not isinstance(self.screen, TitleScreen):
            self.pop_screen()

    # ------------------------------------------------------------------ what the screens ask

    @on(EdgeScreen.StepDone)
    def _step_done(self) -> None:
        self.show_current()

    @on(EdgeScreen.TracksWanted)
    def _tracks_wanted(self) -> None:
        self.back_to_tracks()

    @on(EdgeScreen.TrackChosen)
    def _track_chosen(self, message: EdgeScreen.TrackChosen) -> None:
        self.open_track(message.track_id)

    # ------------------------------------------------------------------ app actions

    def action_help(self) -> None:
        from edgequest.tui.screens.dialogs import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        self.push_screen(HelpScreen(self.screen, self.keymap))

    def action_export_report(self) -> None:
        """Write the open track's report beside its save (replayed off the UI thread)."""
        if self.session is None:
            self.notify("Open a track first: the report is of the track you play.", severity="warning")
            return
        self.run_worker(partial(self._export_report, self.session.path), thread=True, group="report")

    def _export_report(self, save: Path) -> None:
        from edgequest.report.command import export_beside

        try:
            target = export_beside(save)
        except (EdgeQuestError, OSError) as exc:
            self.call_from_thread(self.notify, str(exc), title="No report", severity="error", timeout=10)
            return
        self.call_from_thread(self.notify, f"Report written to {target}", title="Report", timeout=10)
        if self.is_web:  # in a browser the save folder is on the server: hand the file over too
            self.call_from_thread(self.deliver_text, target, save_filename=target.name)

    async def action_quit(self) -> None:
        self.exit(0)

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.close()
