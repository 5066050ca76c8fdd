"""MkDocs adapter for the widget runtime; the work lives in plain modules (build.py, render.py).

* before the build: every scenario file named by a lesson's ``widgets`` front matter is validated
  and its default scenario pre-rendered (cached);
  problems are logged as errors naming file and parameter (``--strict`` then fails the build,
  ``mkdocs serve`` keeps serving);
* after the build: the Pyodide runtime, the vendored Vega builds, the content-hashed widgets
  archive and the pre-rendered chart pictures and data are copied into ``site/assets``.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # MkDocs loads hooks by path; make the package importable as hooks.widgets
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from hooks.widgets import build, runtime_assets  # noqa: E402
from hooks.widgets.render import check_widget  # noqa: E402
from widgets_py import registry  # noqa: E402
from widgets_py.scenarios import ScenarioError  # noqa: E402

log = logging.getLogger("mkdocs.hooks.widgets")


def lesson_widgets(docs_dir: Path) -> list[tuple[str, str, str]]:
    """(lesson file, widget type, data path) for every widget named in lesson front matter."""
    found = []
    for md in sorted((docs_dir / "lessons").glob("*.md")):
        text = md.read_text(encoding="utf-8")
        if not text.startswith("---"):
            continue
        head = text.split("\n---", 1)[0][3:]
        try:
            meta = yaml.safe_load(head) or {}
        except yaml.YAMLError:
            continue  # the lessons hook reports malformed front matter with its line
        widgets = meta.get("widgets") if isinstance(meta, dict) else None
        for item in widgets if isinstance(widgets, list) else []:
            if isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get("data"), str):
                found.append((f"{docs_dir.name}/lessons/{md.name}", item["type"], item["data"]))
    return found


def _reported_by_lessons(widget_type: str, path: Path) -> bool:
    """The lessons hook already reports an unknown type or a missing/unparsable file, with the lesson's line."""
    if widget_type not in registry.MODULES or not path.is_file():
        return True
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return True
    return False


def validate_scenarios(docs_dir: Path) -> list[str]:
    problems = []
    for lesson, widget_type, data_path in lesson_widgets(docs_dir):
        if _reported_by_lessons(widget_type, docs_dir / data_path.lstrip("/")):
            continue
        try:
            check_widget(widget_type, data_path, docs_dir)
        except (ScenarioError, build.WidgetBuildError) as err:
            problems.append(f"{err} (widget of {lesson})")
    return problems


def on_pre_build(config, **kwargs) -> None:
    build.STATIC_FILES.clear()  # pages register their pre-rendered files again as they render
    for problem in validate_scenarios(Path(config["docs_dir"])):
        log.error(problem)


def on_post_build(config, **kwargs) -> None:
    try:
        build.write_site_assets(Path(config["site_dir"]))
    except (runtime_assets.RuntimeAssetError, build.WidgetBuildError) as err:
        log.error(str(err))
