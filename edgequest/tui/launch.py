"""Start the game from the command line: check the arguments, then run the app.

Bad arguments (an unknown track, a player name a save cannot carry, an unusable save
folder) raise :class:`~edgequest.errors.EdgeQuestError` before the screen is taken, so
the command line prints one line and exits 2. During play, SIGHUP and SIGTERM (an ssh
link dropped, a lab machine shutting down) save through the session and end the process
without writing to the terminal, which may be gone.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from edgequest.errors import EdgeQuestError
from edgequest.saves.hangup import install_hangup_handler
from edgequest.saves.store import prepare_save_dir

if TYPE_CHECKING:
    from edgequest.session import Session


def launch(
    track: str | None = None,
    player: str | None = None,
    save_dir: Path | str | None = None,
    seed: int | None = None,
    *,
    missions: Path | None = None,
) -> int:
    """Play EdgeQuest in this terminal; return the exit status."""
    from edgequest.campaign import load_campaign
    from edgequest.saves.store import check_player, default_player, default_save_dir
    from edgequest.tui.actions import read_keymap

    player = check_player(player if player is not None else default_player())
    folder = Path(save_dir) if save_dir is not None else default_save_dir()
    # The title lists the tracks without the engine: the cross-check of each part with its
    # model (numpy, the engine) runs in a thread once the title is drawn, and any track
    # waits for it before opening. A problem it finds ends the game with the usual message.
    checked = None if track is not None else CampaignCheck(missions)
    campaign = load_campaign(missions, check_models=checked is None)
    if not campaign:
        raise EdgeQuestError("no mission files found: the campaign has no tracks to play")
    if track is not None and track not in campaign:
        raise EdgeQuestError(f"--track {track!r} is not a track; expected one of {', '.join(campaign)}")
    keymap = read_keymap()  # a bad keymap file stops here, with its reason, before the screen is taken
    session = None
    if track is not None:
        from edgequest.session import Session

        session = Session.open(campaign[track], folder, player, seed)
    else:
        prepare_save_dir(folder)

    from edgequest.tui.app import EdgeQuestApp

    app = EdgeQuestApp(campaign, folder, player, seed=seed, track=track, session=session, keymap=keymap)
    if checked is not None:
        checked.on_problem = lambda: _exit_soon(app)
        app.warm_up = app.before_open = checked.run
    restore = install_hangup_handler(save_and_release(lambda: app.session))
    try:
        status = app.run()
    finally:
        restore()
        if app.session is not None:
            app.session.close()
    if checked is not None and checked.error is not None:
        raise checked.error  # the mission files' problems, as the usual one-line message
    return int(status or 0)


def save_and_release(current_session: Callable[[], Session | None]) -> Callable[[], None]:
    """What a hang-up must do: write the current session's save and let the lock go."""

    def save_now() -> None:
        session = current_session()
        if session is not None:
            session.save()
            session.close()

    return save_now


def _exit_soon(app) -> None:
    try:
        app.call_from_thread(app.exit, 2)
    except RuntimeError:  # not running yet (or any more): opening a track reports it instead
        pass


class CampaignCheck:
    """The full mission check (with the engine models), done once: by the title's warm-up
    thread after the first screen is drawn, or by the first track to open, whichever comes
    first (the other waits for it). A problem is kept in ``error`` and raised by ``run``."""

    def __init__(self, missions: Path | None):
        self.missions = missions
        self.error: EdgeQuestError | None = None
        self.on_problem: Callable[[], None] = lambda: None
        self._lock = threading.Lock()
        self._done = False

    def run(self) -> None:
        with self._lock:
            if not self._done:
                from edgequest.campaign import load_campaign

                self._done = True
                try:
                    load_campaign(self.missions)
                except EdgeQuestError as exc:
                    self.error = exc
                    self.on_problem()
        if self.error is not None:
            raise self.error
