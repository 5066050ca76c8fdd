"""The widget contract shared by every simulator.

A widget is one module that defines ``WIDGET = Widget(...)``: a parameter schema, a ``simulate``
function that turns validated parameters into plain JSON-able data, and a ``charts`` function that
builds Vega-Lite specs from that result. Nothing here knows about browsers or MkDocs: the same code
runs in CPython at build time, in the CLI, in tests, and in Pyodide in the reader's browser.

Parameters are validated up front (scikit-learn style): ``Widget.validate`` coerces and range-checks
every value and raises :class:`ParamError` with one line naming the parameter and what is allowed.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

KINDS = ("int", "float", "choice", "bool")
# Every chart spec names this schema: vl-convert (build) and vega-embed (browser) both accept it.
VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


class ParamError(ValueError):
    """A bad parameter value. ``str(err)`` is one line: the parameter and what is allowed."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param


@dataclass(frozen=True)
class Param:
    """One input of a widget. The single source for controls, CLI help and scenario validation."""

    name: str
    label: str
    kind: str
    default: Any
    unit: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    group: str = ""
    # Sliders over many orders of magnitude (GPU counts, tokens) read better on a log scale.
    log: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Param {self.name}: kind must be one of {KINDS}")
        if self.kind == "choice" and self.default not in self.choices:
            raise ValueError(f"Param {self.name}: default {self.default!r} not in choices")
        if self.kind in ("int", "float"):
            self.coerce(self.default)  # the default itself must be valid

    def allowed(self) -> str:
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        lo = "-inf" if self.min is None else _fmt(self.min)
        hi = "inf" if self.max is None else _fmt(self.max)
        word = "an integer" if self.kind == "int" else "a number"
        return f"{word} from {lo} to {hi}" + (f" {self.unit}" if self.unit else "")

    def coerce(self, value: Any) -> Any:
        """Return ``value`` as this parameter's type, or raise ParamError."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            if isinstance(value, (int, np.integer)) and value in (0, 1):
                return bool(value)
            raise ParamError(self.name, f"{value!r} is not allowed (allowed: true or false)")
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            raise ParamError(self.name, f"{value!r} is not allowed (allowed: {self.allowed()})")
        # numeric
        number: float
        if isinstance(value, bool):
            raise ParamError(self.name, f"{value!r} is not a number (allowed: {self.allowed()})")
        if isinstance(value, (int, float, np.integer, np.floating)):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise ParamError(
                    self.name, f"{value!r} is not a number (allowed: {self.allowed()})"
                ) from None
        else:
            raise ParamError(self.name, f"{value!r} is not a number (allowed: {self.allowed()})")
        if not math.isfinite(number):
            raise ParamError(self.name, f"{value!r} is not finite (allowed: {self.allowed()})")
        if self.kind == "int":
            if number != int(number):
                raise ParamError(self.name, f"{value!r} is not an integer (allowed: {self.allowed()})")
            number = int(number)
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise ParamError(self.name, f"{_fmt(number)} is out of range (allowed: {self.allowed()})")
        return number

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "default": self.default,
            "unit": self.unit,
            "help": self.help,
        }
        for key in ("min", "max", "step", "group"):
            if getattr(self, key) not in (None, ""):
                out[key] = getattr(self, key)
        if self.choices:
            out["choices"] = list(self.choices)
        if self.log:
            out["log"] = True
        return out


@dataclass(frozen=True)
class Metric:
    """A key number shown on the widget. ``name`` may be dotted (``autoscaled.p95_ms``) to reach
    into nested metrics; the DOM exposes it as ``data-metric="<name>"``."""

    name: str
    label: str
    unit: str = ""
    # Python format spec applied to the value for display, e.g. ".1f", ",.0f", ".1%".
    fmt: str = ".3g"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "unit": self.unit, "fmt": self.fmt}


@dataclass(frozen=True)
class Comparison:
    """Key metrics as a small table, the first thing a phone shows: one row per ``(key, label)`` of
    ``rows`` (e.g. a strategy), one column per ``(name, label)`` of ``columns``; the cell is the
    metric ``f"{row key}.{column name}"``."""

    rows: tuple[tuple[str, str], ...]
    columns: tuple[tuple[str, str], ...]

    def metric_names(self) -> list[str]:
        return [f"{row}.{col}" for row, _ in self.rows for col, _ in self.columns]


# What ``describe`` returns: {"sentence": the result in one sentence (announced to screen readers after
# a change), "charts": {chart name: one line saying what that chart shows}}.
Description = dict[str, Any]


@dataclass(frozen=True)
class Widget:
    type: str
    title: str
    summary: str
    params: tuple[Param, ...]
    simulate: Callable[[dict[str, Any]], dict[str, Any]]
    charts: Callable[[dict[str, Any]], list[dict[str, Any]]]
    metrics: tuple[Metric, ...] = ()
    # Cross-parameter rules (e.g. tp*pp must divide the GPU count); raise ParamError.
    check: Callable[[dict[str, Any]], None] | None = None
    # What a small screen shows first (the full metric set is one tap away): a comparison table, or
    # else these 4-6 key metrics.
    comparison: Comparison | None = None
    key_metrics: tuple[str, ...] = ()
    # (result, formatted metrics) -> Description; computed with the result, so the build's static page
    # and the live widget say the same thing.
    describe: Callable[[dict[str, Any], dict[str, dict[str, Any]]], Description] | None = None
    # Parameters of a small run that goes through the usual code paths, run once right after the page's
    # runtime is ready (``api.WarmUp``): in Pyodide the first call of each numpy routine is compiled
    # then (V8 compiles WebAssembly lazily), which made a reader's first change several times slower.
    warm_up: Mapping[str, Any] | None = None
    # Optional: a generator function doing the expensive part of that warm-up in small pieces (it yields
    # between them, and leaves its work in the widget's caches for the warm-up run that follows). The
    # worker runs one piece per task, so a reader's change waits at most one piece, not the whole run.
    warm_up_steps: Callable[[], Iterator[None]] | None = None
    _by_name: dict[str, Param] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({p.name: p for p in self.params})
        if len(self._by_name) != len(self.params):
            raise ValueError(f"widget {self.type}: duplicate parameter names")
        declared = {m.name for m in self.metrics}
        shown = list(self.key_metrics) + (self.comparison.metric_names() if self.comparison else [])
        unknown = [name for name in shown if name not in declared]
        if unknown:
            raise ValueError(f"widget {self.type}: key metrics {unknown} are not among its metrics")

    def param(self, name: str) -> Param:
        try:
            return self._by_name[name]
        except KeyError:
            raise ParamError(name, f"unknown parameter (allowed: {', '.join(self._by_name)})") from None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def validate(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated with ``overrides``, every value coerced and checked."""
        values = self.defaults()
        for name, raw in (overrides or {}).items():
            values[name] = self.param(name).coerce(raw)
        if self.check is not None:
            self.check(values)
        return values

    def run(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate, simulate, and return the plain result (``params`` included)."""
        params = self.validate(overrides)
        result = plain(self.simulate(params))
        result["params"] = params
        return result

    def schema_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "summary": self.summary,
            "params": [p.to_json() for p in self.params],
            "metrics": [m.to_json() for m in self.metrics],
        }


class Memo:
    """A small least-recently-used cache of computed values: a reader moving one slider should not pay
    again for the parts of a simulation that slider does not touch, and a long session must not grow
    without bound. ``get(key, compute)`` returns the cached value or stores ``compute()``."""

    __slots__ = ("size", "entries")

    def __init__(self, size: int = 16):
        self.size = size
        self.entries: OrderedDict = OrderedDict()

    def get(self, key, compute: Callable[[], Any]) -> Any:
        entries = self.entries
        if key in entries:
            entries.move_to_end(key)
            return entries[key]
        value = compute()
        entries[key] = value
        if len(entries) > self.size:
            entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self.entries.clear()


def metric_value(metrics: Mapping[str, Any], dotted: str) -> Any:
    """Look up ``a.b.c`` in nested metrics."""
    node: Any = metrics
    for part in dotted.split("."):
        node = node[part]
    return node


def plain(value: Any) -> Any:
    """Convert numpy containers and scalars to JSON-able Python; non-finite floats become None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            arr = value.astype(float)
            if np.isfinite(arr).all():
                return arr.tolist()
            return [plain(v) for v in arr.tolist()]
        return value.tolist()
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


# --- display text of a value: key numbers, live summaries and chart summaries all use it ----------

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


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


__all__ = [
    "Comparison",
    "Memo",
    "format_value",
    "Metric",
    "Param",
    "ParamError",
    "Widget",
    "metric_value",
    "plain",
    "VEGA_LITE_SCHEMA",
]
