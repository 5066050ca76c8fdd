"""The widgets' one JSON entry point: the browser worker, the build and the CLI all come through here.

``run`` returns plain data; ``compute`` adds the key numbers formatted for display and turns every
failure into data with one readable line (a bad parameter, or a bug in a simulator, must not kill the
worker or lose the chart); ``run_json`` is ``compute`` as a JSON string for Pyodide. Formatting the key
numbers here, in Python, keeps the build's static HTML and the live widget identical. Stdlib + numpy
only: this runs in Pyodide.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from . import registry
from .core import ParamError, format_value, metric_value  # noqa: F401 - format_value: the API's name for it


def run(widget_type: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"result", "charts"}``; raises ParamError for bad input."""
    widget = registry.get(widget_type)
    result = widget.run(overrides)
    return {"result": result, "charts": widget.charts(result)}


def formatted_metrics(widget_type: str, metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{metric name: {"value": raw, "text": display}}`` for the widget's declared key metrics."""
    out: dict[str, dict[str, Any]] = {}
    for metric in registry.get(widget_type).metrics:
        try:
            value = metric_value(metrics, metric.name)
        except (KeyError, TypeError):
            value = None
        out[metric.name] = {"value": value, "text": format_value(value, metric.fmt, metric.unit)}
    return out


def compute(widget_type: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Run a widget; every failure comes back as data with one readable line."""
    try:
        out = run(widget_type, overrides or {})
        out["metrics"] = formatted_metrics(widget_type, out["result"].get("metrics", {}))
        describe(widget_type, out)
    except ParamError as err:
        return {"ok": False, "error": str(err), "param": err.param}
    except Exception as err:  # a bug in a simulator must not kill the worker or lose the chart
        text = f"the simulation failed: {type(err).__name__}: {err}".splitlines()[0]
        return {"ok": False, "error": text + _where(err), "param": None}
    return {"ok": True, **out}


def describe(widget_type: str, out: dict[str, Any]) -> None:
    """Adds the widget's words for this result: ``out["summary"]`` (one sentence) and a ``"summary"``
    line on every chart (empty when the widget says nothing about it)."""
    widget = registry.get(widget_type)
    said = widget.describe(out["result"], out["metrics"]) if widget.describe else {"sentence": "", "charts": {}}
    out["summary"] = said["sentence"]
    for chart in out["charts"]:
        chart["summary"] = said["charts"].get(chart["name"], "")


def _where(err: BaseException) -> str:
    """`` (at widgets_py/x.py:123)`` for the innermost frame in widgets_py, so authors can find the bug."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "widgets_py" in f.filename.replace("\\", "/")]
    if not frames:
        return ""
    path = frames[-1].filename.replace("\\", "/")
    return f" (at {path[path.rindex('widgets_py'):]}:{frames[-1].lineno})"


def preload(widget_types: list[str]) -> list[str]:
    """Import these widgets' modules; return the types that loaded (a broken one is reported as a
    message when it is run)."""
    loaded = []
    for widget_type in widget_types:
        try:
            registry.get(widget_type)
        except Exception:  # noqa: BLE001 - compute() turns the same failure into a message
            continue
        loaded.append(widget_type)
    return loaded


class WarmUp:
    """The warm-up of some widgets in pieces: each ``step()`` runs one (one of a widget's
    ``warm_up_steps``, or its warm-up case) and says whether any remain. The browser worker runs one
    piece per task, right after it is ready, so a reader's change waits for one piece at most; a
    widget the reader has run meanwhile is ``drop``-ped (that run did the compiling the warm-up is for).
    ``warmed``: the widgets whose warm-up case ran without error."""

    def __init__(self, widget_types: list[str]):
        self.warmed: list[str] = []
        self._pieces: dict[str, Any] = {}
        self.add(widget_types)

    def add(self, widget_types: list[str]) -> None:
        for widget_type in widget_types:
            if widget_type not in self._pieces and widget_type not in self.warmed:
                self._pieces[widget_type] = self._widget_pieces(widget_type)

    def drop(self, widget_type: str) -> None:
        pieces = self._pieces.pop(widget_type, None)
        if pieces is not None:
            pieces.close()

    def step(self) -> bool:
        for widget_type, pieces in list(self._pieces.items()):
            try:
                next(pieces)
                return True
            except StopIteration:
                del self._pieces[widget_type]
            except Exception:  # noqa: BLE001 - only a head start: a failure shows when the widget runs
                del self._pieces[widget_type]
        return False

    def _widget_pieces(self, widget_type: str):
        widget = registry.get(widget_type)
        if widget.warm_up is None:
            return
        if widget.warm_up_steps is not None:
            for _ in widget.warm_up_steps():
                yield
        if compute(widget_type, dict(widget.warm_up)).get("ok"):
            self.warmed.append(widget_type)
        yield


def run_json(widget_type: str, overrides_json: str) -> str:
    """``compute`` as JSON for the page, without ``result["series"]``: the page draws from the charts
    (which carry the same data, per chart), and a simulator's raw series can be most of the message
    (the scaling simulator's: 90 of 390 kB), all of it to encode, post and decode on every change.
    ``compute`` and ``run`` keep them for the build and the CLI."""
    try:
        overrides = json.loads(overrides_json or "{}")
    except ValueError:
        return json.dumps({"ok": False, "error": "parameters are not valid JSON", "param": None})
    if not isinstance(overrides, dict):
        return json.dumps({"ok": False, "error": "parameters must be an object", "param": None})
    out = compute(widget_type, overrides)
    if out.get("ok"):
        out["result"].pop("series", None)
    return json.dumps(out, allow_nan=False)
