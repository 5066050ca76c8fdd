"""MkDocs adapter for the widget runtime; the work lives in plain modules (build.py, render.py).

Scenario files are validated by the lessons validation (one report, at the lesson's line). Here:
* a widget whose default scenario fails to pre-render is reported after the pages render
  (an error, so ``--strict`` fails; under ``mkdocs serve`` shown and the server keeps running);
* after the build, the Pyodide runtime, the vendored Vega builds, the content-hashed widgets
  archive and the pre-rendered chart pictures and data are copied into ``site/assets``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mkdocs.exceptions import PluginError

from hooks.widgets import build, render, runtime_assets  # importable: `make install` installs the project

log = logging.getLogger("mkdocs.hooks.widgets")
_state = {"command": "build"}


def on_startup(command: str, **kwargs) -> None:
    _state["command"] = command


def on_config(config, **kwargs):
    # The widgets archive (with the bytecode compiled by Pyodide under Node, see bytecode.py) is made first,
    # so that a failure stops the build with one line before pages and lessons ask for its name.
    try:
        build.widgets_archive()
    except build.WidgetBuildError as err:
        raise PluginError(f"widgets archive: {err}") from None
    return config


def on_pre_build(config, **kwargs) -> None:
    # Pages register their pre-rendered files and problems again as they render.
    build.STATIC_FILES.clear()
    render.BUILD_PROBLEMS.clear()


def on_post_build(config, **kwargs) -> None:
    # Errors fail a strict build; under `mkdocs serve` they are shown and the server keeps running.
    report = log.info if _state["command"] == "serve" else log.error
    for problem in render.BUILD_PROBLEMS:
        report("widget problem: %s", problem)
    try:
        build.write_site_assets(Path(config["site_dir"]))
    except (runtime_assets.RuntimeAssetError, build.WidgetBuildError) as err:
        report(str(err))
