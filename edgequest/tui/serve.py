"""``edgequest serve``: the game in a web browser, through textual-serve.

textual-serve answers the page on ``http://HOST:PORT/`` and, for every browser tab that
connects, starts ``edgequest play`` as a child process whose screen it streams to the
page. The child is the same game as in a terminal, with the same save folder and player
(resolved here once, so every tab plays the same save), and the same rules: saves are
written after every move, and a second tab on the same save opens it read-only.

Everything is checked before the server starts (the port and host, the player's name,
the track, the save folder), so a bad argument is one line and exit status 2 rather
than a server that fails on the first visit.
"""

from __future__ import annotations

import errno
import shlex
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from edgequest.errors import EdgeQuestError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
INSTALL_HINT = "pip install textual-serve (or reinstall EdgeQuest with its dependencies: pip install edgequest)"


def parse_port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise EdgeQuestError(f"--port {raw!r} is not accepted; expected a port number from 1 to 65535")
    return port


def check_listen(host: str, port: int) -> None:
    """Fail now, with the reason, if the server could not listen on ``host:port``."""
    if not host.strip():
        raise EdgeQuestError("--host '' is not accepted; expected an address such as 127.0.0.1 or 0.0.0.0")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise EdgeQuestError(f"--host {host!r} is not an address of this machine ({reason}); "
                             "expected an address such as 127.0.0.1 or 0.0.0.0") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                why = "the port is in use by another program; choose another with --port"
            elif exc.errno == errno.EACCES:
                why = "permission denied; ports below 1024 need privileges, choose one from 1024 up"
            elif exc.errno == errno.EADDRNOTAVAIL:
                why = "that address does not belong to this machine"
            else:
                why = exc.strerror or str(exc)
            raise EdgeQuestError(f"cannot listen on {host}:{port}: {why}") from None


def check_public_url(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise EdgeQuestError(f"--public-url {url!r} is not accepted; expected the address students open, "
                             "such as https://lab.example.edu/edgequest/alice")
    return url.rstrip("/")


def play_command(save_dir: Path, player: str, track: str | None) -> str:
    """The shell command textual-serve runs for each browser tab: this EdgeQuest's ``play``."""
    args = [sys.executable, "-m", "edgequest", "play", "--save-dir", str(save_dir), "--player", player]
    if track is not None:
        args += ["--track", track]
    return shlex.join(args)


def serve(host: str, port: str | int, *, player: str | None = None, save_dir: Path | None = None,
          track: str | None = None, public_url: str | None = None) -> int:
    """Check everything, then serve until interrupted; return the exit status."""
    from edgequest.campaign import load_campaign
    from edgequest.saves.store import check_player, default_player, prepare_save_dir, resolve_save_dir

    port = parse_port(str(port))
    url = check_public_url(public_url)
    player = check_player(player if player is not None else default_player())
    if track is not None and track not in (campaign := load_campaign()):  # (numpy: only when needed)
        raise EdgeQuestError(f"--track {track!r} is not a track; expected one of {', '.join(campaign)}")
    folder = resolve_save_dir(save_dir).absolute()
    prepare_save_dir(folder)
    try:
        from textual_serve.server import Server
    except ImportError:
        raise EdgeQuestError(f"edgequest serve needs the textual-serve package, which is not installed: "
                             f"{INSTALL_HINT}") from None
    check_listen(host, port)
    if url is None and host in ("0.0.0.0", "::"):
        url = f"http://{socket.getfqdn()}:{port}"  # a browser cannot open 0.0.0.0 itself
    server = Server(play_command(folder, player, track), host=host, port=port, title="EdgeQuest", public_url=url)
    print(f"EdgeQuest for {player}, saves in {folder}", flush=True)
    server.serve()
    return 0
