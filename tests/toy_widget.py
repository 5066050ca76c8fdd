"""A small, real widget used only by the runtime tests, so they do not depend on the simulators.

Single-server queue response time (Kleinrock, *Queueing Systems* Vol. 1, 1975, ch. 3 and 5):
M/M/1 mean time in system W = 1 / (mu - lambda); M/D/1 (Pollaczek-Khinchine with zero service
variance) W = 1/mu + rho / (2 mu (1 - rho)), with rho = lambda / mu.
Tests register it with ``register(monkeypatch)``; it is never shipped.
"""

from __future__ import annotations

import sys

import numpy as np

from widgets_py import registry
from widgets_py.core import Metric, Param, ParamError, Widget

TYPE = "toy_queue"


def response_ms(arrival_rate: np.ndarray | float, service_ms: float, model: str) -> np.ndarray:
    mu = 1000.0 / service_ms
    rho = np.asarray(arrival_rate, dtype=float) / mu
    if model == "mm1":
        return 1000.0 / (mu - np.asarray(arrival_rate, dtype=float))
    return 1000.0 * (1.0 / mu + rho / (2.0 * mu * (1.0 - rho)))


def check(params: dict) -> None:
    if params["arrival_rate"] * params["service_ms"] / 1000.0 >= 1.0:
        raise ParamError("arrival_rate", "must stay below the service rate (1000 / service_ms) or the queue grows forever")


def simulate(params: dict) -> dict:
    lam, service, model = params["arrival_rate"], params["service_ms"], params["model"]
    mu = 1000.0 / service
    loads = np.linspace(0.0, 0.95, 40) * mu
    curve = response_ms(loads, service, model)
    mean = float(response_ms(lam, service, model))
    return {
        "metrics": {"utilisation": lam / mu, "mean_ms": mean, "stable": bool(lam < mu)},
        "units": {"utilisation": "", "mean_ms": "ms"},
        "series": {"curve": {"arrival_rate": loads, "response_ms": curve}},
        "tables": {},
    }


def charts(result: dict) -> list[dict]:
    curve = result["series"]["curve"]
    rows = [{"arrival_rate": a, "response_ms": r} for a, r in zip(curve["arrival_rate"], curve["response_ms"])]
    marker = [{"arrival_rate": result["params"]["arrival_rate"], "response_ms": result["metrics"]["mean_ms"]}]
    return [{
        "name": "latency",
        "title": "Response time <b>vs</b> load",
        "spec": {
            "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
            "width": "container",
            "height": 200,
            "layer": [
                {"data": {"values": rows}, "mark": "line",
                 "encoding": {"x": {"field": "arrival_rate", "type": "quantitative"},
                              "y": {"field": "response_ms", "type": "quantitative"}}},
                {"data": {"values": marker}, "mark": {"type": "point", "filled": True, "size": 80},
                 "encoding": {"x": {"field": "arrival_rate", "type": "quantitative"},
                              "y": {"field": "response_ms", "type": "quantitative"}}},
            ],
        },
    }]


WIDGET = Widget(
    type=TYPE,
    title="Toy queue <script>",
    summary="One server, random arrivals: response time explodes near full load.",
    params=(
        Param("arrival_rate", "Arrival rate", "float", 50.0, unit="req/s", min=1.0, max=1000.0, log=True,
              group="Traffic", help="Requests per second"),
        Param("service_ms", "Service time", "float", 10.0, unit="ms", min=1.0, max=100.0, step=0.5, group="Server"),
        Param("servers", "Servers (display only)", "int", 1, min=1, max=8, group="Server"),
        Param("model", "Service time distribution", "choice", "mm1", choices=("mm1", "md1"), group="Server"),
        Param("show_marker", "Mark current load", "bool", True),
    ),
    simulate=simulate,
    charts=charts,
    metrics=(
        Metric("utilisation", "Utilisation", "", ".1%"),
        Metric("mean_ms", "Mean response", "ms", ".1f"),
        Metric("stable", "Stable"),
    ),
    check=check,
)

SCENARIOS = {
    "widget": TYPE,
    "title": "Toy scenarios",
    "default": "calm",
    "scenarios": [
        {"name": "calm", "title": "Calm <i>day</i>", "description": "Half load & <script>alert(1)</script>",
         "params": {"arrival_rate": 50}},
        {"name": "busy", "title": "Busy", "description": "Near saturation", "params": {"arrival_rate": 90}},
    ],
}


def register(monkeypatch) -> None:
    monkeypatch.setitem(registry.MODULES, TYPE, __name__)
    sys.modules.setdefault(__name__, sys.modules[__name__])
