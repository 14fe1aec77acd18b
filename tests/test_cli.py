"""The command line's contracts: JSON on stdout, one-line errors and exit 2, silent stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from edgequest.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgequest", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_the_subcommands():
    result = run("--help")
    assert result.returncode == 0 and result.stderr == ""
    for command in ("simulate", "replay", "grade", "missions", "play"):
        assert command in result.stdout


def test_simulate_cloud_titan_lora_counts_grouped_query_attention(capsys):
    assert main(["simulate", "--track", "cloud-titan", "--part", "1", "--set", "method=lora", "--set", "rank=16",
                 "--set", "targets=q_v"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert err == ""
    # 80 layers x 16 x ((8192 + 8192) for q + (8192 + 1024) for v): K/V are 1024 wide (8 KV heads).
    assert data["metrics"]["trainable_params"] == 80 * 16 * ((8192 + 8192) + (8192 + 1024)) == 32_768_000


@pytest.mark.parametrize("track", ["cloud-titan", "edge-guardian", "mobile-nomad", "tiny-pioneer"])
@pytest.mark.parametrize("part", ["1", "2", "3"])
def test_simulate_prints_one_json_object_with_the_contracted_keys(track, part, capsys):
    assert main(["simulate", "--track", track, "--part", part, "--compact"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.count("\n") == 1
    data = json.loads(out)
    assert set(data) >= {"controls", "metrics", "spec", "score"}
    assert all(set(check) >= {"target", "value", "pass"} for check in data["spec"])
    metrics = data["metrics"]
    needed = {
        "1": {"memory_mb", "budget_mb", "fits", "trainable_params", "amplification", "accuracy"},
        "2": {"accuracy", "gb_transferred", "rounds_to_target", "curve"},
        "3": {"epsilon", "delta", "noise_multiplier", "accuracy", "compute_to_target"},
    }[part]
    assert needed <= set(metrics)
    if part == "1":
        assert set(metrics["memory_mb"]) == {"weights", "gradients", "optimizer", "activations", "stored_activations",
                                             "transient", "total"}


@pytest.mark.parametrize("track", ["cloud-titan", "edge-guardian", "mobile-nomad", "tiny-pioneer"])
def test_simulate_shows_what_every_student_sees_whatever_the_seed(capsys, track):
    """Same design, same result: --seed 0 and --seed 7 print the same run, part by part."""
    for part in ("1", "2", "3"):
        printed = []
        for seed in ("0", "7"):
            assert main(["simulate", "--track", track, "--part", part, "--seed", seed, "--compact"]) == 0
            out, err = capsys.readouterr()
            assert err == ""
            printed.append(json.loads(out))
        assert printed[0]["metrics"] == printed[1]["metrics"], (track, part)
        assert printed[0] == printed[1] and "seed" not in printed[0]


def test_simulate_explores_other_draws_only_when_asked(capsys):
    """An instructor's --explore-seed draws again (part 2 samples clients); the game never does."""
    from edgequest.campaign import load_campaign
    from edgequest.game.play import Game

    base = ["simulate", "--track", "edge-guardian", "--part", "2", "--compact", "--set", "rounds=20"]
    runs = {}
    for extra in ([], ["--explore-seed", "1"], ["--explore-seed", "2"], ["--explore-seed", "1"]):
        assert main(base + extra) == 0
        runs.setdefault(tuple(extra), []).append(json.loads(capsys.readouterr().out))
    fair = runs[()][0]
    one, two = runs[("--explore-seed", "1")], runs[("--explore-seed", "2")][0]
    assert one[0] == one[1] and one[0]["explore_seed"] == 1 and "explore_seed" not in fair
    assert len({json.dumps(r["metrics"], sort_keys=True) for r in (fair, one[0], two)}) == 3
    # The fair run is the game's run of the same design, whoever plays it and whenever.
    mission = load_campaign()["edge-guardian"]
    for seed in (0, 7):
        game = Game(mission, seed)
        game.answer_lock(1, 300)
        game.run(1, {"method": "lora", "rank": 8, "batch": 8})
        game.commit(1)
        game.reflect(1, "Long enough to count as a reflection for this test of the rules.")
        game.answer_lock(2, "no")
        if seed == 7:
            game.run(2, {"rounds": 21})  # a later run index changes nothing
        outcome = game.run(2, {"rounds": 20})
        assert outcome.metrics["accuracy"] == fair["metrics"]["accuracy"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--track", "moon-base", "--part", "1"], "expected one of cloud-titan"),
        (["--track", "edge-guardian", "--part", "7"], "expected one of 1, 2, 3"),
        (["--track", "edge-guardian", "--part", "1", "--set", "rank=0"], "expected an integer from 1 to 64"),
        (["--track", "edge-guardian", "--part", "1", "--set", "rank=abc"], "rank"),
        (["--track", "edge-guardian", "--part", "1", "--set", "method=magic"], "one of full, last_k"),
        (["--track", "edge-guardian", "--part", "1", "--set", "colour=red"], "no control 'colour'"),
        (["--track", "edge-guardian", "--part", "1", "--set", "rank"], "not NAME=VALUE"),
        (["--track", "edge-guardian", "--part", "1", "--seed", "-4"], "--seed"),
        (["--track", "edge-guardian", "--part", "1", "--explore-seed", "x"], "--explore-seed 'x' is not accepted"),
        (["--track", "edge-guardian"], "required"),
    ],
)
def test_bad_simulate_input_exits_2_with_one_line(args, fragment):
    result = run("simulate", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_missions_list_and_check(tmp_path, capsys):
    assert main(["missions", "list"]) == 0
    out = capsys.readouterr().out
    assert "tiny-pioneer" in out and "budget 10 runs" in out
    assert main(["missions", "check"]) == 0
    assert "4 mission file(s) valid" in capsys.readouterr().out


def test_missions_check_reports_a_typo_and_a_wrong_type_with_key_paths(tmp_path):
    from edgequest.campaign import mission_dir

    text = (mission_dir() / "edge-guardian.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('stakeholder = "David Patterson"', 'stakeholdr = "David Patterson"', 1)
                   .replace("budget = 10", 'budget = "ten"', 1))
    result = run("missions", "check", str(bad))
    assert result.returncode == 2
    assert "parts[0].stakeholdr: unknown key" in result.stderr
    assert "parts[0].budget: expected an integer" in result.stderr and "'ten'" in result.stderr
    assert "Traceback" not in result.stderr
    assert run("missions", "check", str(tmp_path / "absent.toml")).returncode == 2


def test_the_command_pins_numpy_to_one_thread_unless_told_otherwise():
    # Importing the command sets nothing and loads no numpy; running it pins before numpy loads.
    code = ("import os, sys, edgequest.cli as cli; before = ('numpy' in sys.modules, os.environ.get('OMP_NUM_THREADS'));"
            " cli.main(['missions', 'list']); print(before, os.environ['OPENBLAS_NUM_THREADS'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.stdout.strip().splitlines()[-1] == "(False, None) 1"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "2"})
    assert done.stdout.strip().splitlines()[-1] == "(False, None) 2"


@pytest.mark.parametrize("args", [(), ("play",), ("play", "--track", "cloud-titan")])
def test_play_without_a_terminal_exits_2_at_once_with_one_line(args):
    import time

    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "edgequest", *args], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a terminal" in lines[0]
    for command in ("simulate", "replay", "grade", "missions"):
        assert command in lines[0]
    assert time.monotonic() - started < 5  # the process start itself; nothing waits for keys


def test_play_through_the_browser_driver_is_not_refused_for_want_of_a_terminal():
    """`edgequest serve` runs the game with Textual's web driver over pipes: that is no script."""
    import io
    import pty

    from edgequest.cli import lacks_terminal

    pipe = io.StringIO()
    web = {"TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver"}
    assert lacks_terminal({}, pipe, pipe)  # a script: refused
    assert not lacks_terminal(web, pipe, pipe)  # the browser's game: played
    leader, follower = pty.openpty()
    try:
        with open(follower, closefd=False) as tty:
            assert not lacks_terminal({}, tty, tty)  # a terminal: played
            assert lacks_terminal({}, tty, pipe)  # output into a pipe: refused
    finally:
        os.close(leader)
        os.close(follower)
