"""``edgequest serve``: the game in a web browser, on 127.0.0.1 only.

The server is started as users start it (a subprocess on a free port) and must answer
HTTP 200 within seconds. Then a real headless Chromium (Debian's package; the test skips
without it) opens the page: the title screen and a workbench are screenshotted, their
text is read from the page's terminal, a run made by a key press in the browser must
land in the save, and the report key must write the report beside the save and hand the
same file to the browser as a download. Chromium is driven through its DevTools protocol with aiohttp's
websocket client (aiohttp comes with textual-serve); every host but 127.0.0.1 is made
unresolvable for it, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from edgequest.campaign import load_campaign
from edgequest.saves.store import read_save, save_path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)
PLAYER = "browser"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except OSError:
        return None


def wait_for_http(url: str, process: subprocess.Popen, seconds: float) -> float:
    """Seconds until ``url`` answers 200 (fails if the process exits or time runs out)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if process.poll() is not None:
            raise AssertionError(f"the process exited with status {process.returncode}")
        if http_status(url) == 200:
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {seconds} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def served(tmp_path: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen, float]]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    log = open(tmp_path / "serve.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "edgequest", "serve", "--port", str(port), "--player", PLAYER,
         "--save-dir", str(tmp_path / "saves"), *args],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        took = wait_for_http(url, process, 20)
        yield url, process, took
    finally:
        stop(process)
        log.close()


def test_serve_answers_200_within_seconds(tmp_path):
    with served(tmp_path) as (url, process, took):
        assert took < 10
        with urllib.request.urlopen(url, timeout=5) as response:
            page = response.read().decode()
        assert "textual-terminal" in page and f"ws://127.0.0.1:{url.split(':')[2].strip('/')}/ws" in page
    assert process.returncode is not None
    assert (tmp_path / "saves").is_dir()


@pytest.mark.parametrize(("args", "said"), [
    (["--port", "0"], "--port '0' is not accepted"),
    (["--port", "http"], "--port 'http' is not accepted"),
    (["--host", "nowhere.invalid"], "--host 'nowhere.invalid'"),
    (["--public-url", "lab.example.edu"], "--public-url"),
    (["--track", "moon-base"], "--track 'moon-base' is not a track"),
    (["--player", "no spaces"], "player name"),
])
def test_bad_arguments_exit_2_before_serving(tmp_path, args, said):
    done = subprocess.run([sys.executable, "-m", "edgequest", "serve", "--save-dir", str(tmp_path), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.startswith("edgequest: error: ")


def test_a_port_in_use_exits_2(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "edgequest", "serve", "--port", str(port),
                               "--save-dir", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "in use" in done.stderr


# ------------------------------------------------------------------ a real browser

# Before the page's own script runs: keep a handle on the xterm.js terminal it creates
# (``this.terminal = new Terminal(...)``) so the test can read the screen's text.
TERMINAL_HOOK = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && typeof value.write === "function") { window.__eqTerminal = value; }
  },
});
window.__eqText = () => {
  const t = window.__eqTerminal;
  if (!t) { return ""; }
  const b = t.buffer.active, rows = [];
  for (let i = 0; i < b.length; i++) { const line = b.getLine(i); rows.push(line ? line.translateToString(true) : ""); }
  return rows.join("\\n");
};
"""
KEYS = {"Enter": ("Enter", 13, "\r")}


class DevTools:
    """The few DevTools-protocol calls the test makes, over one page's websocket."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.next_id = 0

    async def call(self, method: str, **params: Any) -> dict:
        self.next_id += 1
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.ws.receive_json(), 30)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def text(self) -> str:
        result = await self.call("Runtime.evaluate", expression="window.__eqText ? window.__eqText() : ''",
                                 returnByValue=True)
        return result.get("result", {}).get("value") or ""

    async def wait_for(self, *wanted: str, seconds: float = 30) -> str:
        deadline = time.monotonic() + seconds
        shown = ""
        while time.monotonic() < deadline:
            shown = await self.text()
            if all(w in shown for w in wanted):
                return shown
            await asyncio.sleep(0.2)
        raise AssertionError(f"{wanted} never appeared; the page's terminal shows:\n{shown}")

    async def key(self, name: str) -> None:
        if name in KEYS:
            key, code, text = KEYS[name]
        else:
            key, code, text = name, ord(name.upper()), name
        params = dict(key=key, windowsVirtualKeyCode=code, text=text)
        await self.call("Input.dispatchKeyEvent", type="keyDown", **params)
        await self.call("Input.dispatchKeyEvent", type="keyUp", key=key, windowsVirtualKeyCode=code)
        await asyncio.sleep(0.15)

    async def type(self, text: str) -> None:
        for char in text:
            await self.key(char)

    async def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])
        path.write_bytes(data)
        return data


def lock_keys(part) -> list[str]:
    lock = part.lock
    if lock.kind == "choice":
        return ["Enter"]
    return [*str(int(lock.min + (lock.max - lock.min) * 0.01) or 1), "Enter"]


async def play_in_browser(page_url: str, devtools_port: int, tmp_path: Path, mission) -> dict[str, str]:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + 20
        targets: list = []
        while not targets and time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{devtools_port}/json/list") as response:
                    targets = [t for t in await response.json() if t.get("type") == "page"]
            await asyncio.sleep(0.2)
        assert targets, "Chromium's DevTools never answered"
        async with http.ws_connect(targets[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            tools = DevTools(ws)
            await tools.call("Page.enable")
            await tools.call("Runtime.enable")
            await tools.call("Page.addScriptToEvaluateOnNewDocument", source=TERMINAL_HOOK)
            await tools.call("Page.navigate", url=page_url)
            title = await tools.wait_for("EdgeQuest", mission.name, seconds=45)
            title_png = await tools.screenshot(tmp_path / "title.png")
            await tools.call("Runtime.evaluate", expression="document.querySelector('.xterm-helper-textarea').focus()")
            await tools.key("Enter")  # play the highlighted (first) track
            await tools.wait_for("Mission briefing")
            await tools.key("Enter")
            await tools.wait_for("The Lock")
            for key in lock_keys(mission.part(1)):
                await tools.key(key)
            part = mission.part(1)
            bench = await tools.wait_for(part.controls[0].label, part.spec[0].label[:12])
            await tools.key("r")  # one run, made in the browser
            await asyncio.sleep(0.5)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                saved = save_path(tmp_path / "saves", PLAYER, mission.id)
                if saved.exists() and read_save(saved).record.parts.get(1) and read_save(saved).record.parts[1].runs:
                    break
                await asyncio.sleep(0.3)
            bench_png = await tools.screenshot(tmp_path / "workbench.png")
            # the report key: written beside the save on the server, and offered as a download
            await tools.call("Page.setDownloadBehavior", behavior="allow", downloadPath=str(tmp_path / "downloads"))
            await tools.key("e")
            await tools.wait_for("Report written to")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not list((tmp_path / "downloads").glob("*.report.html")):
                await asyncio.sleep(0.3)
            return {"title": title, "bench": bench, "title_png": str(len(title_png)),
                    "bench_png": str(len(bench_png))}


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium)")
def test_a_headless_browser_plays_the_first_screen(tmp_path):
    mission = next(iter(load_campaign().values()))
    with served(tmp_path) as (url, _server, _took):
        devtools_port = free_port()
        browser = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--disable-sync",
             "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
             f"--remote-debugging-port={devtools_port}", "--remote-debugging-address=127.0.0.1",
             f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1100,760", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            shown = asyncio.run(asyncio.wait_for(play_in_browser(url, devtools_port, tmp_path, mission), 150))
        finally:
            stop(browser)
    for track in load_campaign().values():  # the title screen lists every track
        assert track.name in shown["title"]
    assert mission.part(1).controls[0].label in shown["bench"]
    for name in ("title.png", "workbench.png"):
        png = (tmp_path / name).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
    saved = save_path(tmp_path / "saves", PLAYER, mission.id)
    assert len(read_save(saved).record.parts[1].runs) == 1  # the run made in the browser is in the save
    report = saved.with_name(f"{PLAYER}__{mission.id}.report.html")
    downloaded = tmp_path / "downloads" / report.name
    assert "<svg" in report.read_text() and downloaded.read_bytes() == report.read_bytes()
