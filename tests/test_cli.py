"""``python -m widgets_py``: output on success, exit code 2 and ONE line naming the problem otherwise."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests import toy_widget
from tests.conftest import ROOT
from widgets_py.__main__ import main


@pytest.fixture(autouse=True)
def toy(monkeypatch):
    toy_widget.register(monkeypatch)


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_list_names_every_widget(capsys, monkeypatch):
    monkeypatch.setattr(toy_widget.registry, "MODULES", {"toy_queue": "tests.toy_widget"})
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    assert out == "toy_queue\tToy queue <script>\n"


def test_params_prints_the_schema(capsys):
    code, out, _ = run_cli(capsys, "params", "toy_queue")
    assert code == 0
    schema = json.loads(out)
    by_name = {p["name"]: p for p in schema["params"]}
    assert by_name["service_ms"] == {"name": "service_ms", "label": "Service time", "kind": "float", "default": 10.0,
                                     "unit": "ms", "help": "", "min": 1.0, "max": 100.0, "step": 0.5,
                                     "group": "Server"}
    assert by_name["model"]["choices"] == ["mm1", "md1"]


def test_run_prints_result_json(capsys):
    code, out, _ = run_cli(capsys, "run", "toy_queue", "--set", "arrival_rate=80", "--set", "model=mm1")
    assert code == 0
    result = json.loads(out)
    assert set(result) >= {"params", "metrics", "series", "tables"}
    assert result["params"]["arrival_rate"] == 80.0
    assert result["metrics"]["mean_ms"] == pytest.approx(50.0)  # 1 / (100/s - 80/s)
    assert "charts" not in result
    code, out, _ = run_cli(capsys, "run", "toy_queue", "--charts")
    assert code == 0 and json.loads(out)["charts"][0]["name"] == "latency"


def test_run_with_scenario_file(capsys, tmp_path):
    path = tmp_path / "toy.json"
    path.write_text(json.dumps(toy_widget.SCENARIOS))
    code, out, _ = run_cli(capsys, "run", "toy_queue", "--data", str(path), "--scenario", "busy")
    assert code == 0 and json.loads(out)["params"]["arrival_rate"] == 90.0
    code, out, _ = run_cli(capsys, "run", "toy_queue", "--data", str(path))  # the file's default
    assert code == 0 and json.loads(out)["params"]["arrival_rate"] == 50.0
    code, out, _ = run_cli(capsys, "run", "toy_queue", "--data", str(path), "--scenario", "busy",
                           "--set", "service_ms=5")
    params = json.loads(out)["params"]
    assert code == 0 and (params["arrival_rate"], params["service_ms"]) == (90.0, 5.0)


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "toy_cue"], "error: type: unknown widget 'toy_cue' (allowed: "),
        (["params", "toy_cue"], "error: type: unknown widget 'toy_cue'"),
        (["run", "toy_queue", "--set", "arival_rate=3"], "error: arival_rate: unknown parameter (allowed: arrival_rate, "),
        (["run", "toy_queue", "--set", "service_ms=500"],
         "error: service_ms: 500 is out of range (allowed: a number from 1 to 100 ms)"),
        (["run", "toy_queue", "--set", "servers=2.5"], "error: servers: '2.5' is not an integer"),
        (["run", "toy_queue", "--set", "model=gpu"], "error: model: 'gpu' is not allowed (allowed: one of mm1, md1)"),
        (["run", "toy_queue", "--set", "arrival_rate=150"], "error: arrival_rate: must stay below the service rate"),
        (["run", "toy_queue", "--set", "service_ms"], "error: service_ms: expected name=value"),
        (["run", "toy_queue", "--scenario", "busy"], "error: --scenario: needs --data FILE"),
        (["frobnicate"], "python -m widgets_py: argument command: invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, expected):
    code, out, err = run_cli(capsys, *argv) if argv[0] != "frobnicate" else _exit_code(capsys, argv)
    assert code == 2
    assert out == ""
    assert one_error_line(err).startswith(expected)


def _exit_code(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_bad_scenario_file_and_name(capsys, tmp_path):
    path = tmp_path / "toy.json"
    path.write_text(json.dumps(toy_widget.SCENARIOS))
    code, _, err = run_cli(capsys, "run", "toy_queue", "--data", str(path), "--scenario", "stormy")
    assert code == 2
    assert one_error_line(err) == "error: scenario: unknown scenario 'stormy' (allowed: calm, busy)"
    code, _, err = run_cli(capsys, "run", "toy_queue", "--data", str(tmp_path / "missing.json"))
    assert code == 2 and one_error_line(err).endswith("missing.json: file not found")


def test_module_entry_point_exits_2_without_traceback():
    proc = subprocess.run([sys.executable, "-m", "widgets_py", "run", "no_such_widget"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert one_error_line(proc.stderr).startswith("error: type: unknown widget 'no_such_widget'")
