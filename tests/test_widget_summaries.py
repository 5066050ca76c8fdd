"""The words each widget says about a result: one sentence (announced live, shown on the page) and a
line per chart, computed in widgets_py with the result so the build and the browser agree."""

from __future__ import annotations

import pytest

from widgets_py import api, registry
from widgets_py.core import Comparison, Metric, Param, Widget

WIDGETS = registry.names()


@pytest.fixture(scope="module", params=WIDGETS)
def computed(request):
    return request.param, api.compute(request.param, {})


def test_every_widget_says_its_result_in_one_sentence(computed):
    widget_type, out = computed
    assert out["ok"], out
    sentence = out["summary"]
    assert sentence.endswith(".") and "\n" not in sentence and 20 < len(sentence) < 200
    widget = registry.get(widget_type)
    # the sentence quotes the key numbers exactly as the widget shows them
    shown = widget.key_metrics or [f"autoscaled.{c}" for c, _ in widget.comparison.columns]
    quoted = [name for name in shown if out["metrics"][name]["text"] in sentence]
    assert len(quoted) >= 3, (sentence, shown)


def test_every_chart_has_a_one_line_summary(computed):
    widget_type, out = computed
    for chart in out["charts"]:
        line = chart["summary"]
        assert line and line.endswith(".") and "\n" not in line, (chart["name"], line)
        assert line[0].isalnum(), line
        assert "None" not in line and "nan" not in line.lower(), line


def test_summaries_follow_the_result():
    before = api.compute("scaling_strategy_simulator", {})
    after = api.compute("scaling_strategy_simulator", {"price_per_hour": 0.5})
    cost = after["metrics"]["autoscaled.cost_usd"]["text"]
    assert cost != before["metrics"]["autoscaled.cost_usd"]["text"]
    assert f"{cost} (" in after["summary"] and cost not in before["summary"]
    lines = {c["name"]: c["summary"] for c in after["charts"]}
    assert cost in lines["cost_vs_slo"]
    slo = api.compute("scaling_strategy_simulator", {"slo_ms": 80})
    assert "80\u00a0ms SLO" in next(c["summary"] for c in slo["charts"] if c["name"] == "p95")


def test_lab_and_dashboard_lines_quote_their_data():
    lab = api.compute("distributed_training_lab", {"zero_stage": 3})
    memory = next(c["summary"] for c in lab["charts"] if c["name"] == "memory")
    assert "ZeRO 3 is chosen" in memory and memory.count("GB") == 5
    dash = api.compute("cost_performance_dashboard", {"cache": 1})
    cache = next(c["summary"] for c in dash["charts"] if c["name"] == "cache")
    assert "1 entries hit " + dash["metrics"]["cache_hit_rate"]["text"] in cache


def test_a_failing_description_is_reported_like_a_failing_simulation(monkeypatch):
    widget = registry.get("cost_performance_dashboard")
    broken = Widget(**{**{f: getattr(widget, f) for f in ("type", "title", "summary", "params", "simulate",
                                                          "charts", "metrics", "check", "key_metrics")},
                       "describe": lambda result, metrics: {}["missing"]})
    monkeypatch.setattr(registry, "get", lambda name: broken)
    out = api.compute("cost_performance_dashboard", {})
    assert not out["ok"] and "KeyError" in out["error"]


def test_key_metrics_must_be_declared_metrics():
    params = (Param("x", "X", "int", 1, min=0, max=2),)
    kwargs = dict(type="t", title="T", summary="", params=params, simulate=lambda p: {}, charts=lambda r: [],
                  metrics=(Metric("a.y", "Y"),))
    Widget(**kwargs, comparison=Comparison(rows=(("a", "A"),), columns=(("y", "Y"),)))
    with pytest.raises(ValueError, match="not among its metrics"):
        Widget(**kwargs, key_metrics=("z",))
    with pytest.raises(ValueError, match="not among its metrics"):
        Widget(**kwargs, comparison=Comparison(rows=(("b", "B"),), columns=(("y", "Y"),)))
