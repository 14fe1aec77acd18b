"""Hostile saves: whatever bytes arrive, grading answers (never raises) and results are written.

Three families: byte-level damage (truncation, random bytes, flipped bits), JSON-level
edits at a random place in a real save (a hostile value, an unknown key, a deleted key),
and generated JSON. For each, grading must return a verdict that renders in every
results format; a gradable verdict must be exactly what a fresh replay of the parsed
record gives; anything else is "not gradable" with a reason. The edits that can never
make a valid save (NaN, 1e308, negatives, wrong types, unknown keys, truncation) must be
refused.
"""

from __future__ import annotations

import copy
import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from edgequest import cli
from edgequest.errors import EdgeQuestError
from edgequest.game.play import Game
from edgequest.game.record import MoveTime
from edgequest.grading import grade as grade_module
from edgequest.grading.grade import render
from edgequest.grading.library import MissionLibrary
from edgequest.grading.verdict import NOT_GRADABLE, SaveGrade, Signing, grade_bytes, grade_file
from edgequest.saves.store import SaveData, parse_save
from tests.conftest import FIXTURES

LIBRARY = MissionLibrary(FIXTURES)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


@lru_cache(maxsize=1)
def base_save() -> bytes:
    from edgequest.campaign import load_mission

    mission = load_mission(FIXTURES / "toy_mission.toml")
    game = Game(mission, seed=5)
    game.answer_lock(1, 28)
    game.run(1, {"size": 9})
    game.run(1, {"size": 14, "mode": "fancy"})
    game.commit(1, 1)
    game.reflect(1, "Smaller designs cost less; fancy mode buys value without cost.")
    game.answer_lock(2, "yes")
    game.run(2, {"size": 4, "mode": "fancy"})
    game.commit(2, 0)
    game.reflect(2, "Fancy mode doubled the value for the same cost here.")
    game.write_ledger("Keep it local.")
    # Move times and a signature, as a lab server's game writes them, so every edit below reaches them too.
    game.record.times = [MoveTime(part=p, move=m, session=0, t=5.0 + 20 * i) for i, (p, m) in enumerate(game.record.moves())]
    return SaveData(mission_id=mission.id, mission_sha256=mission.sha256, player="ada",
                    created="2026-03-01T10:00:00+00:00", updated="2026-03-01T11:00:00+00:00",
                    record=game.record, display={"total": 55.5}).signed(KEY).to_bytes()


KEY = b"hostile-tests-key-0123456789"


def check_verdict(grade: SaveGrade, raw: bytes) -> None:
    """The contract every verdict keeps, whatever the input."""
    assert isinstance(grade, SaveGrade)
    for fmt in ("gradescope", "json"):
        json.loads(render(fmt, [grade]))
    render("csv", [grade]).decode("utf-8")
    assert 0.0 <= grade.total <= 100.0 and math.isfinite(grade.total)
    if grade.gradable:
        save = parse_save(raw)
        mission = LIBRARY(save.mission_sha256)
        reference = Game.replay(mission, save.record)  # raises if the grader accepted an illegal record
        assert grade.total == pytest.approx(reference.total_points())
    else:
        assert isinstance(grade.reason, str) and grade.reason.strip()


def grade_raw(raw: bytes) -> SaveGrade:
    return grade_bytes(raw, "hostile.json", LIBRARY)


# ------------------------------------------------------------------ byte-level damage


@SETTINGS
@given(data=st.data())
def test_truncated_saves_are_not_gradable(data):
    raw = base_save()
    cut = data.draw(st.integers(0, len(raw.rstrip()) - 1))
    grade = grade_raw(raw[:cut])
    check_verdict(grade, raw[:cut])
    assert grade.status == NOT_GRADABLE and ("JSON" in grade.reason or "empty" in grade.reason)


@SETTINGS
@given(raw=st.binary(max_size=4000))
def test_random_bytes_are_not_gradable(raw):
    grade = grade_raw(raw)
    check_verdict(grade, raw)
    assert grade.status == NOT_GRADABLE


@SETTINGS
@given(data=st.data())
def test_flipped_bits_never_break_the_grader(data):
    raw = bytearray(base_save())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] ^= 1 << data.draw(st.integers(0, 7))
    check_verdict(grade_raw(bytes(raw)), bytes(raw))


# ------------------------------------------------------------------ JSON-level edits

NEVER_VALID = [float("nan"), float("inf"), 1e308, -1, -(10**30), True, "x" * 25_000, [[[]]], 10**400]


def paths_of(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON tree, as a tuple of keys and indexes."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths_of(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += paths_of(value, prefix + (i,))
    return found


def set_at(tree: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return tree


def encode(tree: Any) -> bytes:
    # json.dumps writes NaN and Infinity as bare words, which is how a hostile file would hold them.
    return json.dumps(tree, allow_nan=True).encode()


@SETTINGS
@given(data=st.data())
def test_a_hostile_value_anywhere_outside_the_display_cache_is_refused(data):
    tree = json.loads(base_save())
    path = data.draw(st.sampled_from([p for p in paths_of(tree) if p[:1] != ("display",)]))
    value = data.draw(st.sampled_from(NEVER_VALID))
    raw = encode(set_at(tree, path, copy.deepcopy(value)))
    grade = grade_raw(raw)
    check_verdict(grade, raw)
    assert grade.status == NOT_GRADABLE, (path, repr(value)[:40])


@SETTINGS
@given(data=st.data())
def test_an_unknown_key_in_any_table_is_refused(data):
    tree = json.loads(base_save())
    tables = [p for p in paths_of(tree) if p[:1] != ("display",) and isinstance(_get(tree, p), dict)]
    path = data.draw(st.sampled_from(tables))
    key = data.draw(st.text(min_size=1, max_size=12))
    assume(key not in _get(tree, path))
    _get(tree, path)[key] = data.draw(st.sampled_from([0, "x", None, [], {}]))
    raw = encode(tree)
    grade = grade_raw(raw)
    check_verdict(grade, raw)
    assert grade.status == NOT_GRADABLE, (path, key)


@SETTINGS
@given(data=st.data())
def test_deleting_or_retyping_any_field_never_breaks_the_grader(data):
    tree = json.loads(base_save())
    path = data.draw(st.sampled_from([p for p in paths_of(tree) if p]))
    if data.draw(st.booleans()):
        parent = _get(tree, path[:-1])
        del parent[path[-1]]
    else:
        set_at(tree, path, data.draw(json_values))
    raw = encode(tree)
    check_verdict(grade_raw(raw), raw)


@SETTINGS
@given(value=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4),
                          max_leaves=30))
def test_edits_inside_the_display_cache_never_change_the_grade(value):
    tree = json.loads(base_save())
    honest = grade_raw(base_save())
    tree["display"] = {"total": value, "parts": value}
    raw = encode(tree)
    grade = grade_raw(raw)
    assert grade.gradable and grade.total == honest.total


def _get(tree: Any, path: tuple) -> Any:
    for key in path:
        tree = tree[key]
    return tree


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)


@SETTINGS
@given(data=st.data())
def test_any_edit_outside_the_display_cache_breaks_the_signature(data):
    tree = json.loads(base_save())
    assert grade_bytes(base_save(), "signed.json", LIBRARY, signing=Signing(KEY, required=True)).gradable
    path = data.draw(st.sampled_from([p for p in paths_of(tree) if p and p[:1] != ("display",)]))
    old = _get(tree, path)
    new = data.draw(json_values.filter(lambda v: v != old or type(v) is not type(old)))
    raw = encode(set_at(tree, path, new))
    grade = grade_bytes(raw, "signed.json", LIBRARY, signing=Signing(KEY, required=True))
    check_verdict(grade, raw)
    assert grade.status == NOT_GRADABLE, (path, repr(new)[:40])


@SETTINGS
@given(data=st.data(), digits=st.text(st.characters(whitelist_categories=("Nd",)), min_size=1, max_size=3))
def test_a_part_key_in_any_script_of_digits_is_refused_or_ascii(data, digits):
    tree = json.loads(base_save())
    tree["record"]["parts"][digits] = tree["record"]["parts"].pop(data.draw(st.sampled_from(["1", "2"])))
    raw = encode(tree)
    grade = grade_raw(raw)
    check_verdict(grade, raw)
    if not digits.isascii():
        assert grade.status == NOT_GRADABLE and "expected part numbers 1 to 99" in grade.reason
    assert "internal error" not in (grade.reason or "")


@SETTINGS
@given(data=st.data())
def test_a_key_written_twice_in_any_table_is_refused(data):
    raw = base_save().decode()
    keys = sorted(set(re.findall(r'^ *("[a-z_0-9]+"): ', raw, flags=re.M)))
    key = data.draw(st.sampled_from(keys))
    at = data.draw(st.sampled_from([m.start() for m in re.finditer(re.escape(key) + ": ", raw)]))
    twice = (raw[:at] + key + ': null, ' + raw[at:]).encode()
    grade = grade_raw(twice)
    check_verdict(grade, twice)
    assert grade.status == NOT_GRADABLE and "appears twice" in grade.reason, key


# ------------------------------------------------------------------ generated saves

generated = st.fixed_dictionaries(
    {"format": st.just("edgequest-save"), "format_version": st.sampled_from([1, 0, 2, "1", 1.0])},
    optional={
        "edgequest_version": json_values,
        "mission": st.fixed_dictionaries({"id": st.sampled_from(["toy-track", "x"]),
                                          "sha256": st.sampled_from(["0" * 64, "zz"])}) | json_values,
        "player": st.sampled_from(["ada", "", "a b"]) | json_values,
        "created": st.sampled_from(["2026-01-01T00:00:00+00:00", "no"]) | json_values,
        "updated": st.sampled_from(["2026-01-01T00:00:00+00:00", "no"]) | json_values,
        "record": st.fixed_dictionaries({"track": st.just("toy-track"), "seed": st.integers(-5, 2**64)},
                                        optional={"parts": json_values, "ledger": json_values}) | json_values,
        "display": json_values,
        "extra": json_values,
    },
)


@SETTINGS
@given(tree=generated)
def test_generated_saves_are_not_gradable_and_say_why(tree):
    raw = encode(tree)
    grade = grade_raw(raw)
    check_verdict(grade, raw)
    assert grade.status == NOT_GRADABLE  # no generated save can name a kept mission version


# ------------------------------------------------------------------ the named monsters, through the command


def monsters(folder: Path) -> dict[str, str]:
    """File name -> a fragment the reason must contain."""
    folder.mkdir()
    tree = json.loads(base_save())
    cases: dict[str, tuple[Any, str]] = {}

    def variant(name: str, change, reason: str) -> None:
        t = copy.deepcopy(tree)
        change(t)
        cases[name] = (encode(t), reason)

    variant("nan.json", lambda t: t["record"]["parts"]["1"].update(lock=float("nan")), "NaN is not a number")
    variant("huge.json", lambda t: t["record"]["parts"]["1"]["runs"][0].update(size=1e308), "control 'size'")
    variant("negative.json", lambda t: t["record"]["parts"]["1"].update(commit=-3), "commit")
    variant("wrong_type.json", lambda t: t["record"].update(parts=["not", "a", "table"]), "record.parts")
    variant("unknown_key.json", lambda t: t.update(grade=100), "unknown key 'grade'")
    variant("million_runs.json", lambda t: t["record"]["parts"]["1"].update(runs=[{}] * 1_000_000), "bytes")
    variant("ten_mb.json", lambda t: t["record"]["parts"]["1"].update(reflection="w" * 10_000_000), "bytes")
    variant("long_ok_size.json", lambda t: t["record"]["parts"]["1"].update(runs=[{}] * 150), "at most 100 runs")
    variant("long_text.json", lambda t: t["record"]["parts"]["1"].update(reflection="w" * 30_000), "characters")
    cases["truncated.json"] = (base_save()[:200], "cut short")
    cases["random.json"] = (bytes(range(256)) * 8, "not UTF-8")
    for name, (raw, _) in cases.items():
        (folder / name).write_bytes(raw)
    (folder / "link.json").symlink_to(folder / "truncated.json")
    reasons = {name: reason for name, (_, reason) in cases.items()}
    reasons["link.json"] = "symbolic link"
    return reasons


def test_every_named_monster_is_not_gradable_with_its_reason(tmp_path):
    reasons = monsters(tmp_path / "m")
    for name, fragment in reasons.items():
        grade = grade_file(tmp_path / "m" / name, LIBRARY)
        assert grade.status == NOT_GRADABLE, name
        assert fragment in grade.reason, (name, grade.reason)
        assert name in grade.reason  # where: the file is named


@pytest.mark.parametrize("fmt", ["gradescope", "json", "csv"])
def test_the_command_writes_results_for_a_folder_of_monsters_with_stderr_empty(tmp_path, monkeypatch, capsys, fmt):
    reasons = monsters(tmp_path / "m")
    monkeypatch.setattr(grade_module, "MissionLibrary", lambda folder=None: LIBRARY)
    monkeypatch.chdir(tmp_path)
    results = tmp_path / f"out.{fmt}"
    assert cli.main(["grade", "m", "--format", fmt, "--results", str(results), "--jobs", "2"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and f"0 gradable, {len(reasons)} not gradable" in out
    text = results.read_text()
    if fmt == "json":
        data = json.loads(text)
        assert len(data["saves"]) == len(reasons) and all(s["reason"] for s in data["saves"])
    elif fmt == "csv":
        assert text.count("\n") == len(reasons) + 1
    else:
        assert json.loads(text)["score"] == 0


def test_grading_never_raises_even_when_the_library_does(tmp_path):
    def exploding(sha256: str):
        raise EdgeQuestError("the library is on fire")

    grade = grade_bytes(base_save(), "s.json", exploding)
    assert grade.status == NOT_GRADABLE and "on fire" in grade.reason
