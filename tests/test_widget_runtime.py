"""Build-side widget runtime: verified runtime assets, the widgets archive, pre-rendered HTML."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from hooks.widgets import build, render, runtime_assets
from widgets_py import api
from tests import toy_widget

WHEEL = "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"


# --- runtime assets: nothing that fails the hash is used --------------------------------------------

@pytest.fixture
def fake_npm(tmp_path) -> tuple[Path, bytes]:
    """A stand-in for node_modules/pyodide whose lock names a small fake numpy wheel."""
    npm = tmp_path / "npm"
    npm.mkdir()
    for name in runtime_assets.CORE_FILES:
        (npm / name).write_bytes(f"core {name}".encode())
    good = b"the official numpy wheel"
    lock = {
        "info": {"version": runtime_assets.PYODIDE_VERSION, "python": "3.12.7"},
        "packages": {
            "numpy": {"name": "numpy", "file_name": WHEEL, "sha256": hashlib.sha256(good).hexdigest(), "depends": []},
            "pandas": {"name": "pandas", "file_name": "pandas.whl", "sha256": "0" * 64, "depends": ["numpy"]},
        },
    }
    (npm / runtime_assets.LOCK_FILE).write_text(json.dumps(lock))
    return npm, good


def source(data: bytes, calls: list):
    def fetch(wheel, dest):
        calls.append(wheel.file_name)
        dest.write_bytes(data)
    return fetch


def failing(wheel, dest):
    raise OSError("network is unreachable")


def test_fetch_copies_core_verifies_wheel_and_trims_lock(tmp_path, fake_npm):
    npm, good = fake_npm
    calls = []
    cache = runtime_assets.fetch(npm, tmp_path / "cache", sources=[("cdn", failing), ("mirror", source(good, calls))])
    assert calls == [WHEEL]
    assert (cache / WHEEL).read_bytes() == good
    lock = json.loads((cache / runtime_assets.LOCK_FILE).read_text())
    assert list(lock["packages"]) == ["numpy"]  # only what is shipped
    assert lock["info"]["version"] == runtime_assets.PYODIDE_VERSION
    assert {p.name for p in runtime_assets.shipped_files(cache)} == {*runtime_assets.CORE_FILES, "pyodide-lock.json", WHEEL}


def test_tampered_cached_wheel_is_replaced_by_a_verified_copy(tmp_path, fake_npm):
    npm, good = fake_npm
    cache = tmp_path / "cache"
    runtime_assets.fetch(npm, cache, sources=[("mirror", source(good, []))])
    (cache / WHEEL).write_bytes(b"tampered")
    with pytest.raises(runtime_assets.RuntimeAssetError, match="sha256 mismatch"):
        runtime_assets.shipped_files(cache)  # the build refuses it too
    calls = []
    runtime_assets.fetch(npm, cache, sources=[("mirror", source(good, calls))])
    assert calls == [WHEEL]
    assert (cache / WHEEL).read_bytes() == good


def test_a_source_with_the_wrong_file_is_refused(tmp_path, fake_npm):
    npm, _ = fake_npm
    cache = tmp_path / "cache"
    with pytest.raises(runtime_assets.RuntimeAssetError) as info:
        runtime_assets.fetch(npm, cache, sources=[("cdn", failing), ("mirror", source(b"evil", []))])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"no verified copy of {WHEEL}")
    assert "cdn: network is unreachable" in message and "mirror: sha256" in message
    assert not (cache / WHEEL).exists()
    assert not list(cache.glob("*.part"))


def test_cli_prints_one_line_and_exits_1_when_no_source_works(tmp_path, fake_npm, monkeypatch, capsys):
    npm, _ = fake_npm
    monkeypatch.setattr(runtime_assets, "NPM_DIR", npm)
    monkeypatch.setattr(runtime_assets, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(runtime_assets, "DEFAULT_SOURCES", (("cdn", failing),))
    assert runtime_assets.main(["fetch"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: no verified copy of {WHEEL}")
    assert runtime_assets.main([]) == 2


def test_the_real_cache_matches_the_official_lock():
    """The wheel shipped in the site is the one pinned by npm pyodide@0.27.7's lock."""
    cache = runtime_assets.CACHE_DIR
    assert (cache / runtime_assets.LOCK_FILE).exists(), "runtime not fetched: run 'make install'"
    official = runtime_assets.read_lock()["packages"]["numpy"]
    assert official["sha256"] == "ebb61241d962b98b21597d7ce43b67668a6d5bab3acec4fbe958657320d7cd08"
    assert runtime_assets.sha256_of(cache / official["file_name"]) == official["sha256"]


# --- the widgets archive -------------------------------------------------------------------------------

def test_archive_is_deterministic_and_clean():
    data = build.archive_bytes()
    assert data == build.archive_bytes()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "widgets_py/core.py" in names and "widgets_py/api.py" in names  # api: what the worker imports
    assert any(n.startswith("widgets_py/data/") for n in names)
    # the only bytecode is what the build compiled with Pyodide (tests/test_bytecode.py), no stray caches
    assert not [n for n in names if (n.endswith(".pyc") or "__pycache__" in n) and not n.endswith(".cpython-312.pyc")]
    name, same = build.widgets_archive()
    assert same == data and name == f"widgets_py-{hashlib.sha256(data).hexdigest()[:16]}.zip"


def test_archive_name_follows_content(tmp_path):
    pkg = tmp_path / "widgets_py"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / "x.csv").write_text("a\n1\n")
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "junk.pyc").write_bytes(b"x")
    first = build.archive_bytes(pkg)
    (pkg / "data" / "x.csv").write_text("a\n2\n")
    assert build.archive_bytes(pkg) != first
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert [n for n in sorted(names) if n.startswith("widgets_py/")] == [
        "widgets_py/__init__.py", "widgets_py/__pycache__/__init__.cpython-312.pyc", "widgets_py/data/x.csv"]


# --- rendering ---------------------------------------------------------------------------------------

@pytest.fixture
def toy_docs(tmp_path, monkeypatch):
    toy_widget.register(monkeypatch)
    monkeypatch.setattr(build, "RENDER_CACHE", tmp_path / "render-cache")
    docs = tmp_path / "docs"
    (docs / "widgets").mkdir(parents=True)
    (docs / "widgets" / "toy.json").write_text(json.dumps(toy_widget.SCENARIOS))
    return docs


def render_toy(docs, data="/widgets/toy.json"):
    return render.widget_html("toy_queue", data, docs_dir=str(docs), page_url="lessons/toy/")


def embedded(html: str) -> dict:
    text = re.search(r'<template class="cw-data">(.*?)</template>', html, re.S).group(1)
    return json.loads(text)


def test_widget_html_has_real_static_results(toy_docs):
    html = render_toy(toy_docs)
    assert re.search(r'<section class="course-widget"[^>]* data-widget="toy_queue" data-state="static"', html)
    # the default scenario's numbers, formatted with each Metric's fmt and unit
    assert '<dd data-metric="mean_ms" data-value="20.0">20.0\u00a0ms</dd>' in html
    assert '<dd data-metric="utilisation" data-value="0.5">50.0%</dd>' in html
    assert '<dd data-metric="stable" data-value="true">yes</dd>' in html
    view = re.search(r'<div class="cw-chart-view" data-view="static"[^>]*>(.*?)</div>', html, re.S).group(1)
    # the picture is a content-hashed file beside the page, shown with <img> (works without JavaScript),
    # with a narrower drawing for small screens
    narrow, src = re.fullmatch(
        r'<picture><source media="\(max-width: 600px\)" srcset="\.\./\.\./assets/widgets/(charts/[0-9a-f]{16}\.svg)" '
        r'width="\d+" height="\d+"><img class="cw-static" src="\.\./\.\./assets/widgets/(charts/[0-9a-f]{16}\.svg)" '
        r'alt="" width="\d+" height="\d+" decoding="async"></picture>', view).groups()
    svg = build.STATIC_FILES[src].decode()
    assert svg.startswith("<svg") and "<path" in svg and 'width="640"' in svg
    assert "aria-label" not in svg and not re.search(r'="[^"]*\d\.\d{3}', svg)  # compact: no per-mark text
    assert f'width="{build.NARROW_CHART_WIDTH}"' in build.STATIC_FILES[narrow].decode()
    data = embedded(html)
    assert data["initial"] == {"scenario": "calm", "params": toy_widget.WIDGET.validate({"arrival_rate": 50})}
    assert data["archive"] == build.widgets_archive()[0]
    assert data["rendered"]["metrics"]["mean_ms"]["value"] == 20.0
    # no second copy of the chart data in the page: a digest to recognise it, the rows in a file
    assert [c["name"] for c in data["rendered"]["charts"]] == ["latency"]
    assert "spec" not in data["rendered"]["charts"][0]
    rows = json.loads(build.STATIC_FILES[data["rendered"]["data"]])["latency"]
    assert len(rows) == 41 and rows[0] == {"arrival_rate": 0.0, "response_ms": 10.0}


def test_chart_digest_ignores_float_noise_but_not_changes():
    chart = {"name": "c", "spec": {"data": {"values": [{"x": 1.0, "y": 0.1 + 0.2, "s": "é<"}, {"x": 2, "y": None}]}}}
    noisy = json.loads(json.dumps(chart).replace("0.30000000000000004", "0.30000000000000010"))
    assert render.data_digest(noisy) == render.data_digest(chart)
    moved = json.loads(json.dumps(chart).replace("0.30000000000000004", "0.3001"))
    assert render.data_digest(moved) != render.data_digest(chart)
    # integral floats are integers, as JSON.parse sees them in the browser
    assert render.data_digest({"v": [3.0]}) == render.data_digest({"v": [3]})


def test_compact_svg_rounds_markup_not_text():
    svg = '<svg width="640"><path transform="translate(104.60385524074513,1.5)" opacity="0.8999999999999999"/><text>0.0125</text></svg>'
    assert build.compact_svg(svg) == '<svg width="640"><path transform="translate(104.6,1.5)" opacity="0.9"/><text>0.0125</text></svg>'


def test_controls_come_from_the_schema(toy_docs):
    html = render_toy(toy_docs)
    assert re.search(r'<input type="number" id="[^"]+-service_ms" name="service_ms" value="10" min="1" max="100" '
                     r'step="0.5"', html)
    assert re.search(r'<input type="range" data-range-for="arrival_rate" min="0" max="3" step="any" '
                     r'value="1.69897" data-log="1"', html)
    assert '<select id="cw-' in html and 'name="model"' in html
    assert re.search(r'<input type="checkbox" role="switch" id="[^"]+" name="show_marker" checked>', html)
    # one collapsible group per Param.group with its number of controls; the first two open
    groups = re.findall(r'<details class="cw-group" data-group="(\w*)"( open)?><summary><span class="cw-group-title">'
                        r'(\w+)</span> <span class="cw-count">(\d+)</span>', html)
    assert groups == [("Traffic", " open", "Traffic", "1"), ("Server", " open", "Server", "3"),
                      ("", "", "Parameters", "1")]
    assert 'data-role="share"' in html
    # every control has a label pointing at it
    for cid in re.findall(r'<(?:input|select) [^>]*id="([^"]+)" name=', html):
        assert f'<label for="{cid}">' in html
    assert 'data-role="scenario"' in html and 'data-role="reset"' in html
    assert '<option value="busy">Busy</option>' in html


def test_everything_authored_is_escaped(toy_docs):
    html = render_toy(toy_docs)
    assert "<script>alert" not in html and "<script>\"" not in html
    assert "Toy queue &lt;script&gt;" in html  # widget title
    assert "Calm &lt;i&gt;day&lt;/i&gt;" in html  # scenario title
    assert "Half load &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in html  # description
    # embedded JSON cannot end its element or form an entity; no inline script at all
    body = re.search(r'class="cw-data">(.*?)</template>', html, re.S).group(1)
    assert "<" not in body and ">" not in body and "&" not in body
    # no script in the widget's markup: the page's bundles bind it (an inline script would break a strict CSP)
    assert re.findall(r"<script[^>]*>", html) == []


def test_urls_are_relative(toy_docs):
    html = render_toy(toy_docs)
    urls = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert len(urls) == 1
    assert re.fullmatch(r"\.\./\.\./assets/widgets/charts/[0-9a-f]{16}\.svg", urls[0])
    assert render.asset_prefix("") == "" and render.asset_prefix("lessons/x.html") == "../"


def test_table_view_and_downloads_hold_the_chart_data(toy_docs):
    html = render_toy(toy_docs)
    figure = re.search(r'<figure class="cw-chart" data-chart="latency">.*?</figure>', html, re.S).group(0)
    assert "Response time &lt;b&gt;vs&lt;/b&gt; load" in figure
    table = re.search(r"<details class=\"cw-table\">.*?</details>", figure, re.S).group(0)
    assert '<th scope="col">arrival_rate</th><th scope="col">response_ms</th>' in table
    assert table.count("<tr>") == 1 + 40 + 1  # header, the curve, the marker
    assert '<button type="button" class="cw-download" data-format="csv" data-filename="toy_queue-latency.csv">' in figure
    lines = render.rows_csv(json.loads(build.STATIC_FILES[embedded(html)["rendered"]["data"]])["latency"]).splitlines()
    assert lines[0] == "arrival_rate,response_ms" and lines[1] == "0.0,10.0" and len(lines) == 42


def test_bad_scenario_file_becomes_a_visible_error(toy_docs, monkeypatch):
    monkeypatch.setattr(render, "BUILD_PROBLEMS", [])
    (toy_docs / "widgets" / "toy.json").write_text(json.dumps(
        {"widget": "toy_queue", "scenarios": [{"name": "a", "params": {"service_ms": 0}}]}))
    html = render_toy(toy_docs)
    assert 'data-state="error"' in html
    assert "docs/widgets/toy.json: scenario &#x27;a&#x27; params.service_ms: 0 is out of range" in html
    # Reported once, by the lessons validation, at the lesson's widgets line.
    assert render.BUILD_PROBLEMS == []


def test_a_widget_that_fails_to_prerender_is_reported(toy_docs, monkeypatch):
    monkeypatch.setattr(render, "BUILD_PROBLEMS", [])

    def failing(widget_type, params):
        raise build.WidgetBuildError("toy_queue: simulate failed (ZeroDivisionError)")

    monkeypatch.setattr(render, "prerender", failing)
    html = render_toy(toy_docs)
    assert 'data-state="error"' in html and "simulate failed" in html
    assert len(render.BUILD_PROBLEMS) == 1 and "simulate failed" in render.BUILD_PROBLEMS[0]


def test_prerender_is_cached(toy_docs, monkeypatch):
    params = toy_widget.WIDGET.validate({})
    first = build.prerender("toy_queue", params)
    monkeypatch.setattr(api, "compute", lambda *a: pytest.fail("not cached"))
    assert build.prerender("toy_queue", params) == first
    assert len(list(build.RENDER_CACHE.glob("*.json"))) == 1


# --- the JSON entry point (same code runs in Pyodide) ----------------------------------------------------------

def test_run_json_reports_errors_as_data(monkeypatch):
    toy_widget.register(monkeypatch)
    ok = json.loads(api.run_json("toy_queue", '{"arrival_rate": 80}'))
    assert ok["ok"] and ok["metrics"]["mean_ms"] == {"value": pytest.approx(50.0), "text": "50.0\u00a0ms"}
    # the page draws from the charts: the raw series stay out of its message, the rest is compute's
    full = api.compute("toy_queue", {"arrival_rate": 80})
    assert "series" in full["result"] and "series" not in ok["result"]
    assert ok["charts"] == json.loads(json.dumps(full["charts"])) and ok["result"]["params"] == full["result"]["params"]
    bad = json.loads(api.run_json("toy_queue", '{"service_ms": 0}'))
    assert bad == {"ok": False, "error": bad["error"], "param": "service_ms"} and "out of range" in bad["error"]

    def boom(params):
        raise ZeroDivisionError("division by zero\nsecond line")
    monkeypatch.setattr(toy_widget, "WIDGET", toy_widget.WIDGET.__class__(
        **{**{f: getattr(toy_widget.WIDGET, f) for f in ("type", "title", "summary", "params", "charts", "metrics",
                                                          "check")}, "simulate": boom}))
    crashed = json.loads(api.run_json("toy_queue", "{}"))
    assert crashed["ok"] is False and crashed["param"] is None
    # one line, with the innermost widgets_py frame so an author can find the bug
    assert re.fullmatch(r"the simulation failed: ZeroDivisionError: division by zero \(at widgets_py/core\.py:\d+\)",
                        crashed["error"])
    assert json.loads(api.run_json("toy_queue", "[1]"))["error"] == "parameters must be an object"


def test_format_value():
    assert api.format_value(0.1234, ".1%") == "12.3%"
    assert api.format_value(1234567.0, ",.0f", "tokens") == "1,234,567\u00a0tokens"
    assert api.format_value(None, ".1f", "ms") == "—"
    assert api.format_value(True, ".3g") == "yes"
    # no exponents for everyday magnitudes; d3-style SI prefixes for ``s``
    assert api.format_value(1996.2, ".3g", "ms") == "2,000\u00a0ms"
    assert api.format_value(19.46, ".3g") == "19.5"
    assert api.format_value(1.318e9, ".3s") == "1.32G"
    assert api.format_value(0.002, ".3s") == "2m"


# --- the warm-up in pieces (the worker runs one per task, so a reader's run waits for one at most) ------------

def test_warm_up_runs_in_pieces_and_a_dropped_widget_stops(monkeypatch):
    import dataclasses

    toy_widget.register(monkeypatch)
    done = []

    def steps():
        for piece in ("a", "b"):
            done.append(piece)
            yield

    monkeypatch.setattr(toy_widget, "WIDGET", dataclasses.replace(toy_widget.WIDGET, warm_up={"arrival_rate": 5},
                                                                  warm_up_steps=steps))
    runs = []
    real = api.compute
    monkeypatch.setattr(api, "compute", lambda t, p: runs.append((t, p)) or real(t, p))
    warming = api.WarmUp(["toy_queue", "no_such_widget"])
    assert warming.step() and done == ["a"] and not runs  # one piece per step
    assert warming.step() and done == ["a", "b"] and not runs
    assert warming.step() and runs == [("toy_queue", {"arrival_rate": 5})]  # then the warm-up case
    assert not warming.step() and warming.warmed == ["toy_queue"]  # an unknown widget is skipped, not raised
    warming.add(["toy_queue"])  # warmed already: nothing more
    assert not warming.step()

    done.clear()
    dropped = api.WarmUp(["toy_queue"])
    assert dropped.step() and done == ["a"]
    dropped.drop("toy_queue")  # the reader ran it meanwhile
    assert not dropped.step() and done == ["a"] and dropped.warmed == []


def test_cost_model_trained_in_pieces_equals_one_piece():
    import numpy as np

    from widgets_py import cost_performance as cp

    def finish(training):
        pieces = 0
        while True:
            try:
                next(training)
                pieces += 1
            except StopIteration as done:
                return done.value, pieces

    for model, hidden, seed in (("mlp", 16, 0), ("mlp", 22, 3), ("logistic", 16, 1)):
        whole, none = finish(cp.train_base(model, hidden, seed, cp.TRAIN_STEPS[model]))
        split, pieces = finish(cp.train_base(model, hidden, seed, cp.WARM_UP_TRAIN_STEPS))
        assert none == 0 and pieces == cp.TRAIN_STEPS[model] // cp.WARM_UP_TRAIN_STEPS - 1
        for a, b in zip(whole, split):
            assert np.array_equal(a["W"], b["W"]) and np.array_equal(a["b"], b["b"])
    # the warm-up leaves the defaults' model and Part A in the caches: the defaults' run trains nothing
    cp._TRAINED.clear()
    cp._PART_A.clear()
    for _ in cp.warm_up_steps():
        pass
    params = cp.WIDGET.validate({})
    assert cp.base_key(params["model"], params["mlp_hidden"], params["seed"]) in cp._TRAINED.entries
    trained = len(cp._TRAINED.entries)
    assert api.compute("cost_performance_dashboard", {})["ok"] and len(cp._TRAINED.entries) == trained
