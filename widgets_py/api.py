"""The widgets' one JSON entry point: the browser worker, the build and the CLI all come through here.

``run`` returns plain data; ``compute`` adds the key numbers formatted for display and turns every
failure into data with one readable line (a bad parameter, or a bug in a simulator, must not kill the
worker or lose the chart); ``run_json`` is ``compute`` as a JSON string for Pyodide. Formatting the key
numbers here, in Python, keeps the build's static HTML and the live widget identical. Stdlib + numpy
only: this runs in Pyodide.
"""

from __future__ import annotations

import json
import math
import re
import traceback
from typing import Any

from . import registry
from .core import ParamError, metric_value


def run(widget_type: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"result", "charts"}``; raises ParamError for bad input."""
    widget = registry.get(widget_type)
    result = widget.run(overrides)
    return {"result": result, "charts": widget.charts(result)}


def _without_exponent(value: Any, fmt: str, text: str) -> str:
    """Readers parse "1,996" faster than "2e+03": a ``g`` format that fell back to an exponent for a
    number below a trillion is redone as a rounded, grouped integer with the same significant digits."""
    match = re.fullmatch(r"(,?)\.(\d+)g", fmt)
    if not match or "e" not in text or not 1 <= abs(value) < 1e12:
        return text
    digits = int(match.group(2))
    rounded = round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))
    return format(rounded, ",.0f")


def _si(value: float, digits: int) -> str:
    """``.3s`` as in d3-format: significant digits with an SI prefix (1.32G for 1.318e9)."""
    if value == 0:
        return "0"
    group = max(-4, min(4, int(math.floor(math.log10(abs(value)) / 3))))
    return f"{value / 1000 ** group:.{digits}g}{'pnµm kMGT'[group + 4].strip()}"


def format_value(value: Any, fmt: str, unit: str = "") -> str:
    """``value`` formatted with a Python format spec, plus its unit; missing values show a dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, str):  # a word such as "never" stands without a unit
        return value
    if isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        si = re.fullmatch(r"\.(\d+)s", fmt or "")
        try:
            text = _si(float(value), int(si.group(1))) if si else format(value, fmt or ".3g")
        except (TypeError, ValueError):
            text = str(value)
        else:
            text = _without_exponent(value, fmt or ".3g", text)
    if unit and not text.endswith("%"):
        text = f"{text}\u00a0{unit}"
    return text


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
    except ParamError as err:
        return {"ok": False, "error": str(err), "param": err.param}
    except Exception as err:  # a bug in a simulator must not kill the worker or lose the chart
        text = f"the simulation failed: {type(err).__name__}: {err}".splitlines()[0]
        return {"ok": False, "error": text + _where(err), "param": None}
    out["metrics"] = formatted_metrics(widget_type, out["result"].get("metrics", {}))
    return {"ok": True, **out}


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


def run_json(widget_type: str, overrides_json: str) -> str:
    try:
        overrides = json.loads(overrides_json or "{}")
    except ValueError:
        return json.dumps({"ok": False, "error": "parameters are not valid JSON", "param": None})
    if not isinstance(overrides, dict):
        return json.dumps({"ok": False, "error": "parameters must be an object", "param": None})
    return json.dumps(compute(widget_type, overrides), allow_nan=False)
