"""The mission loader: a valid file loads; every kind of mistake is named precisely."""

from __future__ import annotations

import copy
import tomllib

import pytest
import tomli_w

from edgequest.campaign import load_campaign, load_mission, load_mission_bytes
from edgequest.errors import MissionError


@pytest.fixture
def toy_data(toy_path):
    return tomllib.loads(toy_path.read_text())


def problems_of(data) -> list[str]:
    with pytest.raises(MissionError) as info:
        load_mission_bytes(tomli_w.dumps(data).encode(), "m.toml")
    return info.value.problems


def one_problem(data, *fragments) -> str:
    problems = problems_of(data)
    matching = [p for p in problems if all(f in p for f in fragments)]
    assert matching, f"no problem mentions {fragments}: {problems}"
    return matching[0]


def test_valid_mission_loads_typed_and_immutable(toy_mission):
    assert toy_mission.id == "toy-track"
    part = toy_mission.part(1)
    assert part.budget == 3 and part.lock.kind == "number"
    assert part.defaults == {"size": 20, "mode": "plain"}
    assert part.params["scale"].assumption
    assert len(toy_mission.sha256) == 64
    with pytest.raises(TypeError):
        part.params["scale"] = None  # type: ignore[index]  # a read-only mapping must refuse
    with pytest.raises(AttributeError):
        part.budget = 5  # type: ignore[misc]  # a frozen part must refuse


def test_misspelled_key_is_rejected_with_its_path(toy_data):
    toy_data["parts"][0]["controls"][0]["defualt"] = 3
    problem = one_problem(toy_data, "parts[0].controls[0].defualt", "unknown key")
    assert "default" in problem  # the accepted keys are listed


def test_string_where_number_belongs_names_key_and_found_value(toy_data):
    toy_data["parts"][0]["controls"][0]["max"] = "twenty"
    problem = one_problem(toy_data, "parts[0].controls[0].max")
    assert "expected an integer" in problem and "'twenty'" in problem


def test_missing_key_is_named(toy_data):
    del toy_data["parts"][1]["stakeholder"]
    assert "missing" in one_problem(toy_data, "parts[1].stakeholder")


def test_every_problem_is_reported_at_once(toy_data):
    del toy_data["persona"]
    toy_data["parts"][0]["budget"] = 0
    toy_data["parts"][1]["lock"]["kind"] = "essay"
    problems = problems_of(toy_data)
    assert any("persona" in p for p in problems)
    assert any("parts[0].budget" in p for p in problems)
    assert any("parts[1].lock.kind" in p for p in problems)


@pytest.mark.parametrize(
    "mutate, fragments",
    [
        (lambda d: d.update(schema_version=99), ("schema_version", "from 1 to 1")),
        (lambda d: d.update(id="Toy Track!"), ("id", "lowercase")),
        (lambda d: d["device"].update(memory_mb=100), ("device.memory_mb", "figure table")),
        (lambda d: d["device"]["memory_mb"].pop("assumption"), ("device.memory_mb", "source")),
        (lambda d: d["parts"][0]["params"]["scale"].pop("assumption"), ("params.scale", "source")),
        (lambda d: d["parts"][0]["spec"][0].pop("assumption"), ("spec[0]", "source")),
        (lambda d: d["parts"][0]["spec"][0].update(op="=="), ("spec[0].op",)),
        (lambda d: d["parts"][0]["spec"][0].update(metric="costs"), ("spec[0].metric", "costs")),
        (lambda d: d["parts"][0]["optimise"].update(best=60), ("optimise.best", "better than worst")),
        (lambda d: d["parts"][0].update(model="tarot"), ("parts[0].model", "tarot")),
        (lambda d: d["parts"][0]["lock"].update(truth="oracle"), ("lock.truth", "oracle")),
        (lambda d: d["parts"][0]["lock"].update(min=2000), ("lock.max", "greater than min")),
        (lambda d: d["parts"][1]["lock"].update(choices=["yes"]), ("lock.choices",)),
        (lambda d: d["parts"][0]["controls"][0].update(default=99), ("controls[0].default", "from 1 to 20")),
        (lambda d: d["parts"][0]["controls"][0].update(min=30), ("controls[0].max", "greater than min")),
        (lambda d: d["parts"][0]["controls"][1].update(default="gaudy"), ("controls[1].default", "plain, fancy")),
        (lambda d: d["parts"][0]["controls"][1].update(choices=["plain", "gaudy"]), ("controls.mode.choices", "gaudy")),
        (lambda d: d["parts"][0]["controls"][1].update(name="size"), ("controls", "distinct")),
        (lambda d: d["parts"][0]["controls"].append(dict(d["parts"][0]["controls"][0], name="extra")),
         ("extra", "not read by model")),
        (lambda d: d["parts"][0]["params"].update(scael={"value": 1, "assumption": "x"}), ("params.scael", "unknown param")),
        (lambda d: d["parts"][0]["params"].pop("scale"), ("params.scale", "missing")),
        (lambda d: d["parts"][0]["params"].update(scale={"value": -1, "assumption": "x"}), ("params.scale", ">= 0")),
        (lambda d: d["parts"][1].update(number=3), ("parts", "numbered 1, 2, 3")),
        (lambda d: d["parts"][1]["weights"].update(lock=-1), ("weights.lock",)),
        (lambda d: d["parts"][1]["weights"].update(lock=0, spec=0, runs=0, margin=0, reflection=0), ("weights", "more than 0")),
        (lambda d: d.update(parts=[]), ("parts", "array of tables")),
        (lambda d: d.update(crisis=""), ("crisis", "text")),
    ],
)
def test_schema_errors_name_the_key_path(toy_data, mutate, fragments):
    data = copy.deepcopy(toy_data)
    mutate(data)
    one_problem(data, *fragments)


def test_bad_toml_and_bad_bytes_are_reported_with_the_file():
    with pytest.raises(MissionError, match="m.toml: not valid TOML"):
        load_mission_bytes(b"id = [", "m.toml")
    with pytest.raises(MissionError, match="not UTF-8"):
        load_mission_bytes(b"\xff\xfe id", "m.toml")


def test_unreadable_and_huge_files(tmp_path):
    with pytest.raises(MissionError, match="cannot be read"):
        load_mission(tmp_path / "absent.toml")
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"#" * 1_000_001)
    with pytest.raises(MissionError, match="larger than"):
        load_mission(huge)


def test_campaign_folder_rejects_duplicate_track_ids(tmp_path, toy_path):
    (tmp_path / "a.toml").write_bytes(toy_path.read_bytes())
    (tmp_path / "b.toml").write_bytes(toy_path.read_bytes())
    with pytest.raises(MissionError, match="is also used by"):
        load_campaign(tmp_path)


def test_campaign_folder_loads_each_track(tmp_path, toy_path):
    (tmp_path / "a.toml").write_bytes(toy_path.read_bytes())
    assert list(load_campaign(tmp_path)) == ["toy-track"]


def test_prose_is_reflowed_for_the_screen():
    from edgequest.campaign.loader import reflow

    assert reflow("\nOne line\n  wrapped here.\n\nSecond paragraph.\n") == "One line wrapped here.\n\nSecond paragraph."
    mission = load_campaign()["edge-guardian"]
    assert "\n" not in mission.crisis.strip()
