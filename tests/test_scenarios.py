"""Scenario files: every mistake is one line naming the file, the place and what is allowed."""

from __future__ import annotations

import json

import pytest

from tests import toy_widget
from widgets_py.scenarios import ScenarioError, load


@pytest.fixture(autouse=True)
def toy(monkeypatch):
    toy_widget.register(monkeypatch)


def write(tmp_path, doc, name="toy.json"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2), encoding="utf-8")
    return path


def error_of(path, **kwargs) -> str:
    with pytest.raises(ScenarioError) as info:
        load(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_valid_file_is_complete_and_validated(tmp_path):
    sf = load(write(tmp_path, toy_widget.SCENARIOS), expected_type="toy_queue")
    assert sf.default == "calm"
    busy = sf.get("busy")
    assert busy.params["arrival_rate"] == 90.0
    assert busy.params["service_ms"] == 10.0  # defaults filled in
    assert sf.to_json()["scenarios"][1]["params"] == busy.params


def test_bad_json_names_the_line(tmp_path):
    text = '{\n  "widget": "toy_queue",\n  "scenarios": [\n    {"name": "a",}\n  ]\n}\n'
    message = error_of(write(tmp_path, text), label="docs/widgets/toy.json")
    assert message.startswith("docs/widgets/toy.json:4: not valid JSON")


def test_unknown_scenario_parameter(tmp_path):
    doc = {"widget": "toy_queue", "scenarios": [{"name": "a", "params": {"arival_rate": 3}}]}
    message = error_of(write(tmp_path, doc))
    assert "scenario 'a' params.arival_rate" in message
    assert "unknown parameter" in message and "arrival_rate" in message


def test_out_of_range_value_names_parameter_and_range(tmp_path):
    doc = {"widget": "toy_queue", "scenarios": [{"name": "a", "params": {"service_ms": 500}}]}
    message = error_of(write(tmp_path, doc))
    assert "params.service_ms" in message
    assert "500 is out of range (allowed: a number from 1 to 100 ms)" in message


def test_cross_parameter_rule_is_checked(tmp_path):
    doc = {"widget": "toy_queue", "scenarios": [{"name": "a", "params": {"arrival_rate": 200}}]}
    assert "params.arrival_rate" in error_of(write(tmp_path, doc))


def test_wrong_widget_for_the_lesson(tmp_path, monkeypatch):
    monkeypatch.setitem(toy_widget.registry.MODULES, "other_toy", "tests.toy_widget")
    message = error_of(write(tmp_path, toy_widget.SCENARIOS), expected_type="other_toy")
    assert "file is for 'toy_queue' but is used by 'other_toy'" in message


def test_unknown_widget_type(tmp_path):
    message = error_of(write(tmp_path, {"widget": "toy_cue", "scenarios": []}))
    assert "widget: 'toy_cue' is not a widget type" in message and "toy_queue" in message


def test_default_must_name_a_scenario(tmp_path):
    doc = {**toy_widget.SCENARIOS, "default": "stormy"}
    assert "default: 'stormy' is not a scenario in this file" in error_of(write(tmp_path, doc))


def test_duplicate_and_badly_named_scenarios(tmp_path):
    dup = {"widget": "toy_queue", "scenarios": [{"name": "a"}, {"name": "a"}]}
    assert "scenarios[1].name: duplicate scenario name 'a'" in error_of(write(tmp_path, dup))
    bad = {"widget": "toy_queue", "scenarios": [{"name": "Has Space"}]}
    assert "scenarios[0].name" in error_of(write(tmp_path, bad, "bad.json"))


def test_missing_file(tmp_path):
    assert error_of(tmp_path / "nope.json", label="docs/widgets/nope.json") == "docs/widgets/nope.json: file not found"
