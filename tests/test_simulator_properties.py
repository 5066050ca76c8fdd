"""Property tests of every simulator, driven by its own parameter schema (hypothesis).

For random valid parameter sets (each parameter drawn from its declared kind, range and scale), a run
either succeeds or is refused with one ParamError line naming one of the widget's parameters. A
successful run's metrics are finite numbers, booleans or the explicit "never"; shares lie in [0, 1];
everything else (costs, times, sizes, counts) is at least 0, except the few signed metrics named here.
Any other outcome is a bug in the simulator, not a case to exclude.

Only the run length is narrowed (documented per widget below): a week of 1-second steps or two
thousand training steps per lab run would make each example take seconds without reaching any
code path that shorter runs do not.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from widgets_py import registry
from widgets_py.core import Param, ParamError

NEVER = "never"
SIGNED = {"accuracy_delta"}  # accuracy change against the baseline: negative when compression hurts
SHARE = re.compile(r"(attainment|fraction|availability|utilization|accuracy|hit_rate|mfu|share)$")
# Narrowed ranges (name → (min, max)) that keep one example fast; see the module docstring.
RUN_LENGTH = {
    "scaling_strategy_simulator": {"hours": (0.25, 6.0), "step_s": (10.0, 3600.0)},
    "distributed_training_lab": {"lab_steps": (1, 60)},
    "cost_performance_dashboard": {},
}


def _values(param: Param, narrowed: dict[str, tuple]):
    if param.kind == "bool":
        return st.booleans()
    if param.kind == "choice":
        return st.sampled_from(param.choices)
    lo, hi = narrowed.get(param.name, (param.min, param.max))
    if param.kind == "int":
        ints = st.integers(int(lo), int(hi))
        if param.log and lo >= 1:  # spread draws over the orders of magnitude too
            top = math.log(hi)
            ints = st.one_of(ints, st.floats(math.log(lo), top).map(lambda x: max(int(lo), min(int(hi), round(math.exp(x))))))
        return ints
    floats = st.floats(float(lo), float(hi), allow_nan=False, allow_infinity=False)
    if param.log:
        bottom = math.log(max(float(lo), float(hi) * 1e-9))
        floats = st.one_of(floats, st.floats(bottom, math.log(float(hi))).map(lambda x: min(float(hi), max(float(lo), math.exp(x)))))
        if lo == 0:
            floats = st.one_of(st.just(0.0), floats)
    return floats


def parameter_sets(widget_type: str):
    widget = registry.get(widget_type)
    narrowed = RUN_LENGTH[widget_type]
    return st.fixed_dictionaries({p.name: _values(p, narrowed) for p in widget.params})


def _leaves(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}" if path else key)
    else:
        yield path, node


def check_run(widget_type: str, params: dict) -> None:
    widget = registry.get(widget_type)
    try:
        result = widget.run(params)
    except ParamError as err:
        text = str(err)
        assert "\n" not in text, text
        assert err.param in {p.name for p in widget.params}, text
        assert text.startswith(err.param + ":"), text
        return
    for name, value in _leaves(result["metrics"]):
        if value == NEVER:
            continue
        assert isinstance(value, (bool, int, float)), (name, value)
        if isinstance(value, bool):
            continue
        assert math.isfinite(value), (name, value)
        leaf = name.rsplit(".", 1)[-1]
        if SHARE.search(leaf):
            assert 0.0 <= value <= 1.0, (name, value)
        elif leaf not in SIGNED:
            assert value >= 0.0, (name, value)


PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(params=parameter_sets("scaling_strategy_simulator"))
def test_scaling_strategy_simulator_properties(params):
    check_run("scaling_strategy_simulator", params)


@PROPERTY
@given(params=parameter_sets("distributed_training_lab"))
def test_distributed_training_lab_properties(params):
    check_run("distributed_training_lab", params)


@PROPERTY
@given(params=parameter_sets("cost_performance_dashboard"))
def test_cost_performance_dashboard_properties(params):
    check_run("cost_performance_dashboard", params)


@pytest.mark.parametrize("widget_type", sorted(RUN_LENGTH))
def test_every_widget_has_a_property_test(widget_type):
    assert widget_type in registry.names()
    assert set(RUN_LENGTH) == set(registry.names())
