"""Build-time work for the widgets, free of MkDocs so it can be tested and reused directly.

* :func:`widgets_archive` — ``widgets_py`` (sources + data) as one
  deterministic zip whose name carries a hash of its content, so browsers may cache it forever.
* :func:`write_site_assets` — copies the verified Pyodide runtime, the vendored Vega builds and the
  archive into the built site.
* :func:`prerender` — runs a widget in CPython and renders its charts to SVG, cached under
  ``.cache/widgets-render`` keyed by everything that can change the output.
* :func:`computed_metrics` — the same run without charts, for the values and experiments quoted in
  lessons, cached the same way under ``.cache/widgets-metrics``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

from widgets_py.core import Memo

from . import bytecode, runtime_assets

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "widgets_py"
RENDER_CACHE = ROOT / ".cache" / "widgets-render"
METRICS_CACHE = ROOT / ".cache" / "widgets-metrics"
VENDOR_FILES = {
    "vega.min.js": ROOT / "node_modules" / "vega" / "build" / "vega.min.js",
    "vega-lite.min.js": ROOT / "node_modules" / "vega-lite" / "build" / "vega-lite.min.js",
    "vega-embed.min.js": ROOT / "node_modules" / "vega-embed" / "build" / "vega-embed.min.js",
}
# Total width (axes and legends included) of the static SVG charts: the widget's content width in the
# lesson column, so the pictures are shown at about their natural size.
STATIC_CHART_WIDTH = 640
# Small screens (the widget CSS uses the same media query): charts are drawn this wide, side-by-side
# views are stacked, legends go below the plot and long labels are cut (the table view has every value).
# charts.js applies the same rules to the live charts (the widget's embedded data carries them).
NARROW_MEDIA = "(max-width: 600px)"
NARROW_CHART_WIDTH = 340
NARROW_CHART_CONFIG = {
    "legend": {"orient": "bottom", "direction": "horizontal", "columns": 2, "labelLimit": 130},
    "axis": {"labelLimit": 110},
    "title": {"limit": NARROW_CHART_WIDTH - 20},
}
# Pre-rendered files (SVG charts, chart data) that pages refer to by a content-hashed name under
# assets/widgets/; filled while pages render, written by write_site_assets. {relative path: bytes}
STATIC_FILES: dict[str, bytes] = {}
STATIC_DIRS = ("charts", "data")
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


class WidgetBuildError(ValueError):
    """One line naming the file or widget at fault."""


def package_files(package_dir: Path = PACKAGE_DIR) -> list[tuple[str, Path]]:
    """(archive name, path) for every source and data file of widgets_py, sorted, no caches."""
    files = []
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix in (".pyc", ".pyo"):
            continue
        if rel.parts[0] != "data" and path.suffix != ".py":
            continue
        files.append((f"{package_dir.name}/{rel.as_posix()}", path))
    return files


def archive_bytes(package_dir: Path = PACKAGE_DIR) -> bytes:
    """A zip that is byte-identical for identical sources (fixed dates, sorted names): widgets_py's files
    and the bytecode of widgets_py and numpy (``numpy/**/__pycache__/*.pyc``: the worker writes those beside
    numpy's sources; see bytecode.py)."""
    buffer = io.BytesIO()
    sources = [(name, path.read_bytes()) for name, path in package_files(package_dir)]
    try:
        compiled = bytecode.bytecode(sources)
    except bytecode.BytecodeError as err:
        raise WidgetBuildError(str(err)) from None
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in sorted(sources + compiled):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buffer.getvalue()


@functools.lru_cache(maxsize=4)
def _archive(package_dir: Path, stamp: tuple) -> tuple[str, bytes]:
    data = archive_bytes(package_dir)
    return f"widgets_py-{hashlib.sha256(data).hexdigest()[:16]}.zip", data


def widgets_archive(package_dir: Path = PACKAGE_DIR) -> tuple[str, bytes]:
    """(file name with content hash, zip bytes); recomputed only when a file changes."""
    if _pinned and package_dir == PACKAGE_DIR:
        return _pinned[-1]
    stamp = tuple((name, p.stat().st_mtime_ns, p.stat().st_size) for name, p in package_files(package_dir))
    return _archive(package_dir, stamp)


_pinned: list[tuple[str, bytes]] = []


@contextlib.contextmanager
def archive_pinned():
    """Within the block, widgets_archive() stats the package once instead of on every call: one
    reading of a course sees one version of the simulators (a 200-lesson course asks ~4,000 times)."""
    _pinned.append(widgets_archive())
    try:
        yield
    finally:
        _pinned.pop()


def _copy_if_changed(src: Path, dest: Path) -> None:
    if dest.exists() and dest.stat().st_size == src.stat().st_size and dest.stat().st_mtime >= src.stat().st_mtime:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)


def write_site_assets(site_dir: Path, cache_dir: Path | None = None) -> dict[str, Any]:
    """Copy runtime, vendored Vega and the widgets archive into ``site_dir/assets``."""
    assets = Path(site_dir) / "assets"
    for path in runtime_assets.shipped_files(cache_dir):
        _copy_if_changed(path, assets / "pyodide" / path.name)
    for name, src in VENDOR_FILES.items():
        if not src.exists():
            raise WidgetBuildError(f"{src} not found: run 'npm ci'")
        _copy_if_changed(src, assets / "vendor" / name)
    archive_name, data = widgets_archive()
    target = assets / "widgets" / archive_name
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob("widgets_py-*.zip"):
        if stale.name != archive_name:
            stale.unlink()
    if not target.exists():
        target.write_bytes(data)
    write_static_files(assets / "widgets")
    return {"archive": archive_name}


def static_file(folder: str, stem: str, suffix: str, data: bytes) -> str:
    """Register a pre-rendered file; returns its path under assets/widgets/ (the name carries a hash of
    the content, so browsers may cache it forever and pages share identical files)."""
    path = f"{folder}/{stem}{'-' if stem else ''}{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    STATIC_FILES[path] = data
    return path


def write_static_files(widgets_dir: Path) -> None:
    for folder in STATIC_DIRS:
        current = widgets_dir / folder
        if current.is_dir():
            for old in current.iterdir():
                if f"{folder}/{old.name}" not in STATIC_FILES:
                    old.unlink()
    for rel, data in STATIC_FILES.items():
        target = widgets_dir / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


# --- pre-rendering -------------------------------------------------------------------------------

CONCATS = ("hconcat", "vconcat", "concat")


def _concat_key(spec: dict[str, Any]) -> str | None:
    return next((k for k in CONCATS if isinstance(spec.get(k), list)), None)


def static_spec(spec: dict[str, Any], width: float = STATIC_CHART_WIDTH, scale: float = 1.0) -> dict[str, Any]:
    """The spec sized for a picture ``width`` px wide: a single (or layered) view is fitted to it; the
    fixed-width views of a concatenation are scaled by ``scale`` (see chart_svg). No mark descriptions:
    the picture is one image whose name is the chart title, and the table view holds the values."""
    spec = dict(spec)
    spec["config"] = {**(spec.get("config") or {}), "aria": False}
    key = _concat_key(spec)
    if key:
        spec[key] = [
            {**part, "width": max(60, round(part["width"] * scale))}
            if isinstance(part, dict) and isinstance(part.get("width"), (int, float)) else part
            for part in spec[key]
        ]
    elif spec.get("width") == "container" or isinstance(spec.get("width"), (int, float)):
        spec["width"] = round(width)
        spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    if spec.get("height") == "container":
        spec["height"] = 300
    return spec


def narrow_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as a small screen draws it (see NARROW_CHART_CONFIG): side-by-side views stacked, the
    narrow config under the chart's own, every legend below its plot."""
    spec = dict(spec)
    if isinstance(spec.get("hconcat"), list):
        spec["vconcat"] = spec.pop("hconcat")
    config = dict(spec.get("config") or {})
    for key, rules in NARROW_CHART_CONFIG.items():
        config[key] = {**rules, **(config.get(key) or {})}
    spec["config"] = config
    return _legends_below(spec)


def _legends_below(node: Any) -> Any:
    """Every explicit ``legend`` of an encoding placed below its plot (the config cannot override them)."""
    if isinstance(node, list):
        return [_legends_below(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _legends_below(v) for k, v in node.items()}
    if isinstance(out.get("legend"), dict):
        out["legend"] = {**out["legend"], "orient": "bottom"}
    return out


def _svg_width(svg: str) -> float | None:
    match = re.search(r'<svg[^>]*?\swidth="([0-9.]+)"', svg)
    return float(match.group(1)) if match else None


def _render_svg(spec: dict[str, Any]) -> str:
    import vl_convert

    try:
        return vl_convert.vegalite_to_svg(spec, vl_version="6.4")
    except Exception as err:  # vl-convert raises plain ValueError with a long message
        raise WidgetBuildError(f"chart cannot be rendered: {str(err).splitlines()[0]}") from None


_TAG = re.compile(r"<[^>]+>")
_LONG_DECIMAL = re.compile(r"-?\d+\.\d{3,}")


def compact_svg(svg: str) -> str:
    """Coordinates in the markup rounded to 1/100 px (vl-convert writes up to 16 digits); text between
    tags (axis labels, titles) is left exactly as drawn."""
    def round_numbers(tag: re.Match) -> str:
        return _LONG_DECIMAL.sub(lambda m: f"{float(m.group(0)):.2f}".rstrip("0").rstrip("."), tag.group(0))
    return _TAG.sub(round_numbers, svg)


def chart_svg(spec: dict[str, Any], width: float = STATIC_CHART_WIDTH) -> str:
    return compact_svg(_chart_svg(spec, width))


def _chart_svg(spec: dict[str, Any], width: float) -> str:
    """SVG of the chart, ``width`` px wide overall. Concatenated views have fixed widths, so they are
    drawn once, measured, and redrawn with their plot widths scaled to take the rest of the width."""
    svg = _render_svg(static_spec(spec, width))
    key = _concat_key(spec)
    actual = _svg_width(svg)
    if not key or not actual:
        return svg
    widths = [p["width"] for p in spec[key] if isinstance(p, dict) and isinstance(p.get("width"), (int, float))]
    plots = (max(widths) if key == "vconcat" else sum(widths)) if widths else 0
    if not plots or abs(actual - width) <= 4:
        return svg
    scale = max(0.3, (width - (actual - plots)) / plots)
    return _render_svg(static_spec(spec, width, scale))


def render_key(widget_type: str, params: dict[str, Any]) -> str:
    import vl_convert

    archive_name, _ = widgets_archive()  # names every simulator source and data file by content
    renderer = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()  # how specs become SVG
    text = json.dumps([widget_type, params, archive_name, renderer, vl_convert.__version__], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def prerender(widget_type: str, params: dict[str, Any], cache_dir: Path | None = None) -> dict[str, Any]:
    """``{"ok", "result", "charts", "metrics", "svgs"}`` for these params; cached on disk."""
    cache_dir = cache_dir or RENDER_CACHE
    from widgets_py.api import compute  # the same call the browser worker makes

    key = render_key(widget_type, params)
    cached = cache_dir / f"{key}.json"
    out = _read_cache(cached)
    if out is not None:
        return out
    out = compute(widget_type, params)
    if not out["ok"]:
        raise WidgetBuildError(f"{widget_type}: default scenario fails: {out['error']}")
    out["svgs"] = [chart_svg(chart["spec"]) for chart in out["charts"]]
    out["narrow_svgs"] = [chart_svg(narrow_spec(chart["spec"]), NARROW_CHART_WIDTH) for chart in out["charts"]]
    _write_cache(cached, out)
    return out


def _read_cache(path: Path) -> dict[str, Any] | None:
    if path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            path.unlink(missing_ok=True)
    return None


def _write_cache(path: Path, value: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{id(value)}.tmp")  # written whole, then renamed: never half a file
    tmp.write_text(json.dumps(value, allow_nan=False), encoding="utf-8")
    tmp.replace(path)


# the values of one build (a lesson quotes the same scenario many times), bounded for `mkdocs serve`
METRICS_MEMO = Memo(256)


def computed_metrics(widget_type: str, params: dict[str, Any], cache_dir: Path | None = None) -> dict[str, Any]:
    """``{"ok", "metrics": {name: {"value", "text"}}}`` (or ``{"ok": False, "error", "param"}``) of
    ``widgets_py.api.compute`` for these params: the formatted key numbers the widget shows. Cached on
    disk by widget, params and the content hash of every simulator file, and in memory for the build."""
    archive_name, _ = widgets_archive()
    key = hashlib.sha256(json.dumps([widget_type, params, archive_name], sort_keys=True).encode()).hexdigest()
    path = (cache_dir or METRICS_CACHE) / f"{key}.json"
    return METRICS_MEMO.get(key, lambda: _read_cache(path) or _computed(widget_type, params, path))


def _computed(widget_type: str, params: dict[str, Any], path: Path) -> dict[str, Any]:
    from widgets_py.api import compute  # the same call the browser worker makes

    full = compute(widget_type, params)
    out = {k: v for k, v in full.items() if k in ("ok", "error", "param", "metrics")}
    _write_cache(path, out)
    return out
