"""Split a Markdown file into YAML front matter and body, remembering the line of every field.

``parse(text)`` returns the loaded data plus ``lines``: a map from a field path such as
``("quiz", 2, "answer")`` to the 1-based line in the *file*, so any problem can be reported where the
author has to fix it. Positions come from PyYAML's composed node tree (``start_mark``).

The YAML is composed once, with libyaml's C parser when PyYAML has it (several times faster than pure
Python; its nodes keep line marks too), and the data is constructed from that same node tree. A
text that does not parse is parsed again by the pure-Python loader, whose messages are clearer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

# Same delimiters MkDocs accepts: '---' opens, '---' or '...' closes.
FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(?P<yaml>.*?\r?\n)??(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)

Path_ = tuple[str | int, ...]
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FrontMatterError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class FrontMatter:
    data: dict[str, Any]
    lines: dict[Path_, int]
    body: str
    body_line: int  # file line on which the body starts
    duplicate_keys: list[tuple[Path_, int]] = field(default_factory=list)

    def line_of(self, path: Path_) -> int:
        """Line of ``path``, or of its closest ancestor that exists (a missing key is reported at
        the mapping that should hold it)."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return self.lines.get((), 1)  # the line of the whole mapping, when known


def split(text: str) -> tuple[str | None, str, int]:
    """``(yaml_text or None, body, body_line)``. Front matter starts on line 2, after '---'."""
    match = FRONT_MATTER_RE.match(text)
    if not match:
        return None, text, 1
    body_line = text[: match.end()].count("\n") + 1
    return match.group("yaml") or "", text[match.end():], body_line


def parse(text: str) -> FrontMatter:
    yaml_text, body, body_line = split(text)
    if yaml_text is None:
        raise FrontMatterError(1, "no front matter: the file must start with '---', the lesson's YAML keys, then '---'")
    # node marks are 0-based within the YAML block, which starts on file line 2
    fm = parse_mapping(yaml_text, 2, "front matter")
    fm.body, fm.body_line = body, body_line
    return fm


def parse_mapping(yaml_text: str, offset: int, what: str) -> FrontMatter:
    """A YAML mapping whose first line is file line ``offset`` (front matter, or the body of an
    ``experiment``/``check`` block), with the line of every field; ``body`` is left empty."""
    try:
        root, data = _compose_and_construct(yaml_text, FAST_LOADER)
    except yaml.YAMLError:
        root, data = _parse_slow(yaml_text, offset)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError(offset, f"{what} must be a mapping of keys, got a {type(data).__name__}")
    fm = FrontMatter(data=data, lines={}, body="", body_line=offset)
    _record(root, (), fm, offset)
    return fm


def _compose_and_construct(yaml_text: str, loader_class) -> tuple[yaml.Node | None, Any]:
    loader = loader_class(yaml_text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def _parse_slow(yaml_text: str, offset: int) -> tuple[yaml.Node | None, Any]:
    """The pure-Python loader: the error messages authors see (libyaml's are terser)."""
    try:
        return _compose_and_construct(yaml_text, yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + offset if mark else offset
        where = " ".join(part for part in (err.context, err.problem) if part)
        raise FrontMatterError(line, f"YAML syntax error: {where} (check indentation, quotes and ':' in values)") from None
    except yaml.YAMLError as err:  # e.g. a reader error on control characters
        raise FrontMatterError(offset, f"YAML error: {err}") from None


def _record(node: yaml.Node | None, path: Path_, fm: FrontMatter, offset: int) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            child = path + (key,)
            line = key_node.start_mark.line + offset
            if key in seen:
                fm.duplicate_keys.append((child, line))
            seen.add(key)
            fm.lines.setdefault(child, line)
            _record(value_node, child, fm, offset)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            fm.lines[path + (index,)] = item.start_mark.line + offset
            _record(item, path + (index,), fm, offset)
