"""Durability across processes: SIGKILL mid-save, two sessions on one save, hang-ups.

Each test runs real processes: a forked writer killed with SIGKILL at random moments,
a second interpreter holding the lock, a child on a pseudo-terminal whose master is
closed (what an ssh drop looks like to the game).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from edgequest.saves.store import SaveSlot, read_save

ROOT = Path(__file__).resolve().parent.parent
KILLS = 200


def run_python(code: str, *args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kwargs)


# ------------------------------------------------------------------ SIGKILL while saving

KILL_HARNESS = """
import json, os, random, signal, sys, time
from pathlib import Path
from edgequest.game.record import PartRecord, Record
from edgequest.saves.store import SaveSlot, read_save

folder, kills, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
SHA = "ab" * 32
path = folder / "ada__toy-track.json"

def state(n):
    # Every state differs in size and content, so a torn or mixed file cannot pass for one.
    rec = Record(track="toy-track", seed=n)
    rec.parts[1] = PartRecord(lock=float(n), runs=[{"size": n % 20 + 1, "mode": "plain"}] * (n % 9),
                              reflection="r" * (n * 37 % 5000) or None)
    rec.ledger = f"state {n}"
    return rec

last, mid_write, next_state = -1, 0, 0
for trial in range(kills):
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        slot = SaveSlot.open(folder, "ada", "toy-track")
        if slot.read_only:
            os._exit(3)
        n = next_state
        os.write(ready_w, b"r")
        while True:
            slot.write("toy-track", SHA, state(n))
            n += 1
    os.close(ready_w)
    os.read(ready_r, 1)
    os.close(ready_r)
    time.sleep(rng.uniform(0, 0.004))
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status), f"trial {trial}: the writer exited by itself ({status})"
    mid_write += any(p.name.endswith(".tmp") for p in folder.iterdir())
    if not path.exists():
        assert last == -1, f"trial {trial}: the save vanished"
        continue
    save = read_save(path)  # raises if the file is torn
    n = save.record.seed
    assert save.record == state(n), f"trial {trial}: state {n} was not written whole"
    assert n >= last, f"trial {trial}: went back from state {last} to {n}"
    last, next_state = n, n + 1
print(json.dumps({"kills": kills, "last_state": last, "killed_mid_write": mid_write}))
"""


def test_sigkill_at_random_moments_always_leaves_the_old_or_the_new_save(tmp_path):
    result = run_python(KILL_HARNESS, str(tmp_path), str(KILLS), "20260301")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["kills"] == KILLS
    assert report["last_state"] > 0  # the writers did make progress between kills
    assert report["killed_mid_write"] > 0  # and some kills landed inside a write
    assert read_save(tmp_path / "ada__toy-track.json").record.ledger == f"state {report['last_state']}"


# ------------------------------------------------------------------ two sessions, one save

HOLDER = """
import sys
from pathlib import Path
from edgequest.saves.store import SaveSlot
slot = SaveSlot.open(Path(sys.argv[1]), "ada", "toy-track")
print("read_only" if slot.read_only else "holding", slot.holder or "", flush=True)
sys.stdin.read()  # hold until the test closes our stdin
slot.close()
"""


def test_a_second_process_gets_read_only_and_is_told_who_holds_the_save(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().startswith("holding")
        second = SaveSlot.open(tmp_path, "ada", "toy-track")
        assert second.read_only
        assert "ada" in second.holder and f"process {holder.pid}" in second.holder
        second.close()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert holder.returncode == 0 and holder.stderr.read() == ""
    with SaveSlot.open(tmp_path, "ada", "toy-track") as third:  # released on exit
        assert not third.read_only


def test_the_lock_dies_with_a_killed_session(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert holder.stdout.readline().startswith("holding")
    holder.kill()
    holder.wait(timeout=30)
    with SaveSlot.open(tmp_path, "ada", "toy-track") as slot:
        assert not slot.read_only
        other = run_python(HOLDER, str(tmp_path), input="")
        assert other.stdout.startswith("read_only") and f"process {os.getpid()}" in other.stdout


# ------------------------------------------------------------------ hang-ups

HANGUP_CHILD = """
import os, sys, time
from pathlib import Path
from edgequest.saves.hangup import install_hangup_handler

out = Path(sys.argv[1])

def save_now():
    print("this line must not reach the terminal", flush=True)
    print("nor this one", file=sys.stderr, flush=True)
    time.sleep(float(sys.argv[2]))
    with open(out, "a") as handle:
        handle.write("saved\\n")

if len(sys.argv) > 3:  # become the session's controlling terminal, as a login shell's child is
    import fcntl, termios
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
install_hangup_handler(save_now)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_hangup_or_term_saves_and_exits_without_writing_to_the_terminal(tmp_path, sig):
    out = tmp_path / "saved.txt"
    child = subprocess.Popen([sys.executable, "-c", HANGUP_CHILD, str(out), "0"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout.readline() == "ready\n"
    child.send_signal(sig)
    stdout, stderr = child.communicate(timeout=30)
    assert child.returncode == 128 + sig
    assert out.read_text() == "saved\n"
    assert stdout == "" and stderr == ""


def test_a_second_signal_during_the_save_does_not_save_twice(tmp_path):
    out = tmp_path / "saved.txt"
    child = subprocess.Popen([sys.executable, "-c", HANGUP_CHILD, str(out), "0.3"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout.readline() == "ready\n"
    child.send_signal(signal.SIGHUP)
    time.sleep(0.1)
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=30)
    assert child.returncode == 128 + signal.SIGHUP
    assert out.read_text() == "saved\n"


def test_a_dropped_terminal_sends_sighup_and_the_game_saves(tmp_path):
    """Closing a pseudo-terminal's master is what sshd does when the link drops."""
    out = tmp_path / "saved.txt"
    master, slave = os.openpty()
    child = subprocess.Popen([sys.executable, "-c", HANGUP_CHILD, str(out), "0", "ctty"], stdin=slave,
                             stdout=slave, stderr=slave, start_new_session=True, cwd=ROOT)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    while b"ready" not in seen and time.monotonic() < deadline:
        seen += os.read(master, 1024)
    assert b"ready" in seen
    os.close(master)
    assert child.wait(timeout=30) == 128 + signal.SIGHUP
    assert out.read_text() == "saved\n"


def test_the_previous_handlers_come_back_when_the_game_ends():
    from edgequest.saves.hangup import install_hangup_handler

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    restore = install_hangup_handler(lambda: None)
    assert signal.getsignal(signal.SIGTERM) is not before[0]
    restore()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)) == before
