"""Start the game from the command line: check the arguments, then run the app.

Bad arguments (an unknown track, a player name a save cannot carry, an unusable save
folder) raise :class:`~edgequest.errors.EdgeQuestError` before the screen is taken, so
the command line prints one line and exits 2. During play, SIGHUP and SIGTERM (an ssh
link dropped, a lab machine shutting down) save through the session and end the process
without writing to the terminal, which may be gone.
"""

from __future__ import annotations

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
    campaign = load_campaign(missions)
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
    restore = install_hangup_handler(save_and_release(lambda: app.session))
    try:
        status = app.run()
    finally:
        restore()
        if app.session is not None:
            app.session.close()
    return int(status or 0)


def save_and_release(current_session: Callable[[], Session | None]) -> Callable[[], None]:
    """What a hang-up must do: write the current session's save and let the lock go."""

    def save_now() -> None:
        session = current_session()
        if session is not None:
            session.save()
            session.close()

    return save_now
