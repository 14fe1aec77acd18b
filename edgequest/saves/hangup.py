"""Save and leave quietly when the terminal goes away (ssh dropped, session killed).

When an ssh link drops, the kernel sends SIGHUP to the session; a system shutting down
or a batch scheduler sends SIGTERM. Either way the terminal is gone or going: writing
to it can block or fail with EIO, and a full-screen app's usual exit (restoring the
screen, printing a farewell) would do exactly that. So the handler points stdout and
stderr at ``/dev/null`` *first*, then saves, then leaves with ``os._exit`` so no exit
hook touches the dead terminal.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Callable

HANGUP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGHUP, signal.SIGTERM)


def install_hangup_handler(
    save_now: Callable[[], None], signals: tuple[signal.Signals, ...] = HANGUP_SIGNALS
) -> Callable[[], None]:
    """On SIGHUP or SIGTERM: silence the terminal, call ``save_now()``, exit ``128 + signal``.

    ``save_now`` should write the save synchronously (``SaveSlot.write``); whatever it
    raises is swallowed, because there is nobody left to tell. Python runs signal
    handlers in the main thread, so call this from the main thread. A second signal
    arriving while the first is being handled is blocked or ignored: the save runs once.
    Returns a function that puts the previous handlers back (for when the game ends).
    """

    handling: list[bool] = []

    def handle(signum: int, _frame: object) -> None:
        # A signal that reached Python before the mask below can still run this handler
        # again, nested inside save_now(); the first one is already saving and exiting.
        if handling:
            return
        handling.append(True)
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, set(signals))
        except (AttributeError, OSError, ValueError):  # pragma: no cover - platforms without it
            pass
        silence_terminal()
        try:
            save_now()
        except BaseException:  # nobody can be told, and the save was our last chance
            pass
        os._exit(128 + signum)

    previous = {sig: signal.signal(sig, handle) for sig in signals}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def silence_terminal() -> None:
    """Point file descriptors 1 and 2 (and ``sys.stdout``/``sys.stderr``) at /dev/null."""
    try:
        null_fd = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # pragma: no cover - /dev/null always exists on POSIX
        return
    for fd in (1, 2):
        try:
            os.dup2(null_fd, fd)
        except OSError:  # pragma: no cover
            pass
    try:
        null = os.fdopen(null_fd, "w")
    except OSError:  # pragma: no cover
        os.close(null_fd)
        return
    sys.stdout = null
    sys.stderr = null
