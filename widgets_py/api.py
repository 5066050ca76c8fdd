"""String-in, string-out entry points for the browser worker (and anything else that speaks JSON).

The worker calls ``run_json`` with the widget type and the parameter overrides as a JSON string and
gets back one JSON string; errors come back as data, never as a Python traceback.
"""

from __future__ import annotations

import json
from typing import Any

from . import registry
from .core import ParamError


def run(widget_type: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    widget = registry.get(widget_type)
    result = widget.run(overrides)
    return {"result": result, "charts": widget.charts(result)}


def run_json(widget_type: str, overrides_json: str) -> str:
    try:
        payload: dict[str, Any] = {"ok": True, **run(widget_type, json.loads(overrides_json or "{}"))}
    except ParamError as err:
        payload = {"ok": False, "error": str(err), "param": err.param}
    return json.dumps(payload, allow_nan=False)


def schema_json(widget_type: str) -> str:
    return json.dumps(registry.get(widget_type).schema_json())
