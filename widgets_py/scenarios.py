"""Scenario files: titled parameter presets for one widget, e.g. ``scaling_strategy.titanic.json``.

Format::

    {"widget": "<type>", "title": "...", "default": "<scenario name>",
     "scenarios": [{"name": "...", "title": "...", "description": "...", "params": {...}}]}

Every scenario's params are validated against the widget schema; errors name the file, the scenario
and the parameter in one line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import registry
from .core import ParamError, Widget

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ScenarioError(ValueError):
    """One line: ``<file>: <where>: <what is wrong> (<what is allowed>)``."""


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    params: dict[str, Any]  # validated, complete


@dataclass(frozen=True)
class ScenarioFile:
    widget: Widget
    title: str
    default: str
    scenarios: tuple[Scenario, ...]

    def get(self, name: str | None = None) -> Scenario:
        name = name or self.default
        for s in self.scenarios:
            if s.name == name:
                return s
        allowed = ", ".join(s.name for s in self.scenarios)
        raise ParamError("scenario", f"unknown scenario {name!r} (allowed: {allowed})")

    def to_json(self) -> dict[str, Any]:
        return {
            "widget": self.widget.type,
            "title": self.title,
            "default": self.default,
            "scenarios": [
                {"name": s.name, "title": s.title, "description": s.description, "params": s.params}
                for s in self.scenarios
            ],
        }


def parse(doc: Any, source: str, expected_type: str | None = None) -> ScenarioFile:
    def fail(where: str, what: str) -> ScenarioError:
        return ScenarioError(f"{source}: {where}: {what}")

    if not isinstance(doc, dict):
        raise fail("top level", "must be a JSON object with widget, title, default, scenarios")
    unknown = set(doc) - {"widget", "title", "default", "scenarios", "$schema", "notes"}
    if unknown:
        raise fail(sorted(unknown)[0], "unknown key (allowed: widget, title, default, scenarios, notes)")
    wtype = doc.get("widget")
    if not isinstance(wtype, str) or wtype not in registry.MODULES:
        raise fail("widget", f"{wtype!r} is not a widget type (allowed: {', '.join(registry.MODULES)})")
    if expected_type is not None and wtype != expected_type:
        raise fail("widget", f"file is for {wtype!r} but is used by {expected_type!r}")
    widget = registry.get(wtype)
    raw_list = doc.get("scenarios")
    if not isinstance(raw_list, list) or not raw_list:
        raise fail("scenarios", "must be a non-empty list of {name, title, params}")
    seen: set[str] = set()
    scenarios = []
    for i, raw in enumerate(raw_list):
        where = f"scenarios[{i}]"
        if not isinstance(raw, dict):
            raise fail(where, "must be an object with name, title, description, params")
        extra = set(raw) - {"name", "title", "description", "params"}
        if extra:
            raise fail(f"{where}.{sorted(extra)[0]}", "unknown key (allowed: name, title, description, params)")
        name = raw.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise fail(f"{where}.name", f"{name!r} is not a valid name (allowed: lower-case letters, digits, _ and -)")
        if name in seen:
            raise fail(f"{where}.name", f"duplicate scenario name {name!r}")
        seen.add(name)
        title = raw.get("title", name)
        if not isinstance(title, str):
            raise fail(f"{where}.title", "must be a string")
        params = raw.get("params", {})
        if not isinstance(params, dict):
            raise fail(f"{where}.params", "must be an object of parameter values")
        try:
            validated = widget.validate(params)
        except ParamError as err:
            raise fail(f"scenario {name!r} params.{err.param}", str(err).split(": ", 1)[1]) from None
        scenarios.append(Scenario(name, title, str(raw.get("description", "")), validated))
    default = doc.get("default", scenarios[0].name)
    if default not in seen:
        raise fail("default", f"{default!r} is not a scenario in this file (allowed: {', '.join(seen)})")
    return ScenarioFile(widget, str(doc.get("title", widget.title)), default, tuple(scenarios))


def load(path: str | Path, expected_type: str | None = None, label: str | None = None) -> ScenarioFile:
    """Read and validate a scenario file. ``label`` is how the file is named in errors."""
    path = Path(path)
    source = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{source}: file not found") from None
    except OSError as err:
        raise ScenarioError(f"{source}: cannot be read ({err.strerror})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ScenarioError(f"{source}:{err.lineno}: not valid JSON ({err.msg})") from None
    return parse(doc, source, expected_type)
