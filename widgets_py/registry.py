"""Maps a front-matter widget ``type`` to the module that implements it.

Modules are imported lazily so that listing widgets, or running one, never pays for the others.
"""

from __future__ import annotations

import importlib

from .core import ParamError, Widget

MODULES: dict[str, str] = {
    "scaling_strategy_simulator": "widgets_py.scaling_strategy",
    "distributed_training_lab": "widgets_py.distributed_training",
    "cost_performance_dashboard": "widgets_py.cost_performance",
}


class UnknownWidget(ParamError):
    def __init__(self, name: str):
        super().__init__("type", f"unknown widget {name!r} (allowed: {', '.join(MODULES)})")


def names() -> list[str]:
    return list(MODULES)


def get(widget_type: str) -> Widget:
    if widget_type not in MODULES:
        raise UnknownWidget(widget_type)
    return importlib.import_module(MODULES[widget_type]).WIDGET
