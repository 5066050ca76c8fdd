"""The HTML of one widget: real results (numbers, SVG charts, data tables) before any JavaScript runs,
plus the schema-driven controls and the embedded data the front end needs to go live.

Everything authored or computed is escaped; URLs are relative or ``data:`` only, so the page works
under any sub-path and never reaches another origin.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from html import escape
from pathlib import Path
from typing import Any

from widgets_py import registry
from widgets_py.core import Param, Widget
from widgets_py.scenarios import ScenarioError, ScenarioFile, load

from .build import WidgetBuildError, prerender, static_file, widgets_archive

STATE_VERSION = 1
MAX_TABLE_ROWS = 200  # a table view longer than this helps nobody; the downloads hold everything
OPEN_GROUPS = 2  # parameter groups shown open at first; the rest are one click away
DATA_DIGITS = 6  # significant digits kept in the pre-rendered chart data (downloads before going live)


def _a(value: Any) -> str:
    """Attribute-safe text."""
    return escape(str(value), quote=True)


def script_json(data: Any) -> str:
    """JSON that reads back unchanged as the text of an HTML element: no markup or entity can form."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def asset_prefix(page_url: str) -> str:
    """Relative path from a page (MkDocs ``page.url``, e.g. ``lessons/x/``) back to the site root."""
    return "../" * page_url.count("/")


def scenario_label(docs_dir: str | Path, data_path: str) -> tuple[Path, str]:
    docs = Path(docs_dir)
    path = docs / data_path.lstrip("/")
    label = f"{docs.name}/{data_path.lstrip('/')}"
    return path, label


def load_scenarios(widget_type: str, data_path: str, docs_dir: str | Path) -> ScenarioFile:
    """Validated scenario file; raises ScenarioError/WidgetBuildError with one line naming the file."""
    path, label = scenario_label(docs_dir, data_path)
    if widget_type not in registry.MODULES:
        raise WidgetBuildError(f"{label}: unknown widget type {widget_type!r} "
                               f"(allowed: {', '.join(registry.MODULES)})")
    return load(path, expected_type=widget_type, label=label)


# --- chart data -----------------------------------------------------------------------------------

def round_significant(value: Any, digits: int = DATA_DIGITS) -> Any:
    """``value`` with every float rounded to ``digits`` significant digits (ints, text untouched)."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: round_significant(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [round_significant(v, digits) for v in value]
    return value


def _canonical(value: Any, out: list[str]) -> None:
    """Text of ``value`` that charts.js ``canonical`` reproduces from the same data parsed in the
    browser: integral numbers as integers, others as 6 significant digits (numpy in Pyodide and in
    CPython may differ in the last bits), keys in their order."""
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, (int, float)):
        x = float(value)
        if not math.isfinite(x):
            out.append("null")
        elif x.is_integer() and abs(x) < 1e15:
            out.append(str(int(x)))
        else:
            mantissa, exponent = f"{x:.5e}".split("e")
            out.append(f"{mantissa}e{int(exponent)}")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, dict):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            out.append(("," if i else "") + json.dumps(str(k), ensure_ascii=False) + ":")
            _canonical(v, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _canonical(v, out)
        out.append("]")
    else:
        out.append(json.dumps(str(value), ensure_ascii=False))


def data_digest(value: Any) -> str:
    """FNV-1a (32 bit) of the canonical text's UTF-8 bytes, plus its length: lets the browser tell
    whether its first live chart equals the pre-rendered one without shipping the data twice."""
    parts: list[str] = []
    _canonical(value, parts)
    data = "".join(parts).encode("utf-8")
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}-{len(data)}"

def chart_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The inline data rows of a chart (top-level data, else every layer's, concatenated)."""
    data = spec.get("data")
    if isinstance(data, dict) and isinstance(data.get("values"), list):
        return [row for row in data["values"] if isinstance(row, dict)]
    rows: list[dict[str, Any]] = []
    for part in spec.get("layer", []) + spec.get("hconcat", []) + spec.get("vconcat", []):
        if isinstance(part, dict):
            rows.extend(chart_rows(part))
    return rows


def columns_of(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.6g}"
    return str(value)


def rows_csv(rows: list[dict[str, Any]]) -> str:
    cols = columns_of(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(cols)
    for row in rows:
        writer.writerow([cell_text(row.get(c)) if not isinstance(row.get(c), float) else repr(row[c])
                         for c in cols])
    return out.getvalue()


def _table_html(rows: list[dict[str, Any]], title: str) -> str:
    cols = columns_of(rows)
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell_text(row.get(c)))}</td>" for c in cols) + "</tr>"
        for row in rows[:MAX_TABLE_ROWS]
    )
    more = (f'<p class="cw-table-note">First {MAX_TABLE_ROWS} of {len(rows)} rows; the downloads hold all.</p>'
            if len(rows) > MAX_TABLE_ROWS else "")
    return (f'<table><caption>{escape(title)}</caption><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table>{more}')


def _downloads_html(stem: str) -> str:
    """Buttons that save the chart's current data; the front end builds the file on click (they stay
    hidden without JavaScript, where the table view still shows every value)."""
    return (f'<p class="cw-downloads" hidden>Download data: '
            f'<button type="button" class="cw-download" data-format="csv" data-filename="{_a(stem)}.csv">CSV</button> '
            f'<button type="button" class="cw-download" data-format="json" data-filename="{_a(stem)}.json">JSON</button>'
            f"</p>")


def _svg_size(svg: str) -> tuple[str, str]:
    head = svg[:svg.find(">")]
    found = [next((m.split('"')[1] for m in head.split(" ") if m.startswith(f'{attr}="')), "") for attr in ("width", "height")]
    return found[0], found[1]


def chart_html(chart: dict[str, Any], svg: str, widget_type: str, prefix: str) -> str:
    name, title = str(chart["name"]), str(chart.get("title", chart["name"]))
    rows = chart_rows(chart["spec"])
    # the picture is a separate, content-hashed file: cached across visits, and the page stays light;
    # <img> shows it without JavaScript (vl-convert escapes every text it draws)
    path = static_file("charts", "", ".svg", svg.encode("utf-8"))
    width, height = _svg_size(svg)
    size = f' width="{_a(width)}" height="{_a(height)}"' if width and height else ""
    return (
        f'<figure class="cw-chart" data-chart="{_a(name)}">'
        f'<figcaption class="cw-chart-title">{escape(title)}</figcaption>'
        f'<div class="cw-chart-view" data-view="static" role="img" aria-label="{_a(title)}">'
        f'<img class="cw-static" src="{_a(prefix)}assets/widgets/{_a(path)}" alt=""{size} decoding="async"></div>'
        f'<details class="cw-table"><summary>Data table</summary>'
        # focusable, so keyboard users can scroll it
        f'<div class="cw-table-scroll" tabindex="0" role="region" aria-label="{_a(f"Data of {title}")}">'
        f'{_table_html(rows, title)}</div></details>'
        f'{_downloads_html(f"{widget_type}-{name}")}'
        f"</figure>"
    )


# --- controls ---------------------------------------------------------------------------------------

def _num(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _range_attrs(p: Param, value: Any) -> str | None:
    """Attributes of the slider paired with a number input, or None when the range is open."""
    if p.min is None or p.max is None:
        return None
    if p.log:
        if p.min <= 0:
            return None
        lo, hi = math.log10(p.min), math.log10(p.max)
        pos = math.log10(value) if value and value > 0 else lo
        return (f'min="{lo:.6g}" max="{hi:.6g}" step="any" value="{pos:.6g}" data-log="1"')
    step = _num(p.step) if p.step else ("1" if p.kind == "int" else "any")
    return f'min="{_num(p.min)}" max="{_num(p.max)}" step="{step}" value="{_num(value)}"'


def control_html(p: Param, value: Any, prefix: str) -> str:
    cid = f"{prefix}-{p.name}"
    unit = f' <span class="cw-unit">({escape(p.unit)})</span>' if p.unit else ""
    help_id = f"{cid}-help"
    help_html = f'<p class="cw-help" id="{_a(help_id)}">{escape(p.help)}</p>' if p.help else ""
    described = f' aria-describedby="{_a(help_id)}"' if p.help else ""
    label = f'<label for="{_a(cid)}">{escape(p.label)}{unit}</label>'
    if p.kind == "bool":
        checked = " checked" if value else ""
        body = (f'<input type="checkbox" role="switch" id="{_a(cid)}" name="{_a(p.name)}"{checked}{described}> '
                f'{label}')
        return f'<div class="cw-control cw-toggle" data-param="{_a(p.name)}">{body}{help_html}</div>'
    if p.kind == "choice":
        options = "".join(
            f'<option value="{_a(c)}"{" selected" if c == value else ""}>{escape(c)}</option>' for c in p.choices
        )
        body = f'<select id="{_a(cid)}" name="{_a(p.name)}"{described}>{options}</select>'
        return f'<div class="cw-control" data-param="{_a(p.name)}">{label}{body}{help_html}</div>'
    bounds = "".join(
        f' {k}="{_num(v)}"' for k, v in (("min", p.min), ("max", p.max)) if v is not None
    )
    step = _num(p.step) if p.step else ("1" if p.kind == "int" else "any")
    number = (f'<input type="number" id="{_a(cid)}" name="{_a(p.name)}" value="{_num(value)}"{bounds} '
              f'step="{step}" inputmode="decimal"{described}>')
    slider_attrs = _range_attrs(p, value)
    slider = ""
    if slider_attrs:
        slider = (f'<input type="range" data-range-for="{_a(p.name)}" {slider_attrs} '
                  f'aria-label="{_a(p.label)}" tabindex="0">')
    return (f'<div class="cw-control" data-param="{_a(p.name)}">{label}'
            f'<div class="cw-inputs">{slider}{number}</div>{help_html}</div>')


def controls_html(widget: Widget, values: dict[str, Any], prefix: str) -> str:
    """One collapsible group per Param.group, in schema order: the first OPEN_GROUPS open, each
    summary with its number of controls, so a long schema stays one short, scannable block."""
    groups: dict[str, list[str]] = {}
    for p in widget.params:
        groups.setdefault(p.group, []).append(control_html(p, values[p.name], prefix))
    parts = []
    for i, (group, items) in enumerate(groups.items()):
        title = (group or "Parameters")
        title = title[:1].upper() + title[1:]
        opened = " open" if i < OPEN_GROUPS else ""
        parts.append(
            f'<details class="cw-group" data-group="{_a(group)}"{opened}>'
            f'<summary><span class="cw-group-title">{escape(title)}</span> '
            f'<span class="cw-count">{len(items)}</span>'
            f'<span class="cw-changed" hidden></span></summary>'
            f'<div class="cw-group-body">{"".join(items)}</div></details>'
        )
    return "".join(parts)


def metrics_html(widget: Widget, metrics: dict[str, dict[str, Any]]) -> str:
    items = []
    for m in widget.metrics:
        shown = metrics.get(m.name, {"value": None, "text": "—"})
        value = "" if shown["value"] is None else json.dumps(shown["value"])
        items.append(
            f'<div class="cw-metric"><dt>{escape(m.label)}</dt>'
            f'<dd data-metric="{_a(m.name)}" data-value="{_a(value)}">{escape(shown["text"])}</dd></div>'
        )
    return f'<dl class="cw-metrics">{"".join(items)}</dl>'


def check_widget(widget_type: str, data_path: str, docs_dir: str | Path) -> tuple[ScenarioFile, dict[str, Any]]:
    """Validate the scenario file and pre-render its default scenario; raises ScenarioError or
    WidgetBuildError with one line naming the file (the build hook reports these)."""
    scenarios = load_scenarios(widget_type, data_path, docs_dir)
    try:
        return scenarios, prerender(widget_type, scenarios.get().params)
    except WidgetBuildError as err:
        raise WidgetBuildError(f"{scenario_label(docs_dir, data_path)[1]}: {err}") from None


def error_html(widget_type: str, message: str) -> str:
    """What a reader sees in place of a widget that could not be built (the build log names the cause)."""
    return (f'<section class="course-widget" data-widget="{_a(widget_type)}" data-state="error">'
            f'<p class="cw-message" role="alert">This widget could not be built: {escape(message)}</p></section>')


# Widgets whose default scenario failed to pre-render in this build; the build hook reports them.
BUILD_PROBLEMS: list[str] = []


def widget_html(widget_type: str, data_path: str, *, docs_dir: str, page_url: str) -> str:
    """The complete widget: static results, controls, and the data the front end needs.

    A widget that cannot be built becomes a visible error box; the widgets build hook validates
    every lesson's widgets before pages render and logs the same one-line error, so strict builds fail.
    """
    try:
        scenarios, pre = check_widget(widget_type, data_path, docs_dir)
    except ScenarioError as err:  # the lessons validation reports it, with the lesson's line
        return error_html(widget_type, str(err))
    except WidgetBuildError as err:
        BUILD_PROBLEMS.append(f"{err} (widget on {page_url})")
        return error_html(widget_type, str(err))
    widget = scenarios.widget
    default = scenarios.get()
    archive_name, _ = widgets_archive()
    prefix = "cw-" + hashlib.sha1(f"{page_url}|{widget_type}|{data_path}".encode()).hexdigest()[:8]
    embedded = {
        "v": STATE_VERSION,
        "type": widget_type,
        "archive": archive_name,
        "schema": widget.schema_json(),
        "scenarios": scenarios.to_json(),
        "initial": {"scenario": default.name, "params": default.params},
    }
    options = "".join(
        f'<option value="{_a(s.name)}"{" selected" if s.name == default.name else ""}>{escape(s.title)}</option>'
        for s in scenarios.scenarios
    )
    prefix_url = asset_prefix(page_url)
    charts = "".join(chart_html(c, svg, widget_type, prefix_url) for c, svg in zip(pre["charts"], pre["svgs"]))
    # the chart data, for downloads before the live runtime has computed its own
    data_file = static_file("data", widget_type, ".json", json.dumps(
        {c["name"]: round_significant(chart_rows(c["spec"])) for c in pre["charts"]},
        allow_nan=False, separators=(",", ":")).encode("utf-8"))
    embedded["rendered"] = {
        "metrics": pre["metrics"],
        "charts": [{"name": c["name"], "digest": data_digest(c)} for c in pre["charts"]],
        "data": data_file,
    }
    return (
        f'<section class="course-widget" id="{_a(prefix)}" data-widget="{_a(widget_type)}" data-state="static" '
        f'data-archive="{_a(archive_name)}" '
        f'aria-labelledby="{_a(prefix)}-title">'
        # A <template>, not <script type="application/json">: material's instant navigation re-runs every
        # inline <script> of the new page as JavaScript, dropping its type.
        f'<template class="cw-data">{script_json(embedded)}</template>'
        f'<header class="cw-header"><h3 class="cw-title" id="{_a(prefix)}-title">{escape(widget.title)}</h3>'
        f'<p class="cw-summary">{escape(widget.summary)}</p></header>'
        f'<form class="cw-form" autocomplete="off">'
        f'<div class="cw-toolbar">'
        f'<div class="cw-scenario"><label for="{_a(prefix)}-scenario">Scenario</label>'
        f'<select id="{_a(prefix)}-scenario" data-role="scenario" disabled>{options}</select></div>'
        f'<div class="cw-actions">'
        f'<button type="button" data-role="reset" disabled>Reset</button>'
        f'<button type="button" data-role="share" disabled>Copy link</button></div></div>'
        f'<p class="cw-scenario-description">{escape(default.description)}</p>'
        f'<p class="cw-status" role="status" aria-live="polite">'
        f"Results computed for the default scenario when this page was built. "
        f"Live controls need JavaScript.</p>"
        f'<p class="cw-notice" hidden></p>'
        f'<p class="cw-message" role="alert" hidden></p>'
        f'<div class="cw-results">{metrics_html(widget, pre["metrics"])}</div>'
        f'<fieldset class="cw-controls" disabled><legend class="cw-visually-hidden">Parameters</legend>'
        f"{controls_html(widget, default.params, prefix)}</fieldset>"
        f"</form>"
        f'<div class="cw-charts">{charts}</div>'
        f"</section>"
    )


__all__ = ["widget_html", "check_widget", "load_scenarios", "ScenarioError", "WidgetBuildError", "chart_rows", "rows_csv"]
