"""Turn lesson files into ``Lesson`` models and a list of problems an author can act on.

Every problem reads ``<file>:<line> <field path>: <what is wrong> (<what is allowed>)``. Nothing here
stops at the first problem: a build reports all of them together.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from widgets_py import registry, scenarios

from . import frontmatter
from .body import lines_outside_code
from .model import LESSON_ID, TAG, YOUTUBE_ID, Chapter, Lesson, QuizItem, Video, WidgetRef

# A widget is placed in the body by this marker on its own line; see docs in pages.py.
WIDGET_MARKER_RE = re.compile(r"^[ \t]*<!--[ \t]*widget:[ \t]*(?P<type>[^ \t>]+)[ \t]*-->[ \t]*$")
# Raw HTML that runs script: script-like elements, inline event handlers, javascript: URLs.
ACTIVE_HTML_RE = re.compile(
    r"<\s*(?:script|iframe|object|embed|base|meta|link|form|frame|frameset)\b[^>]*>?"
    r"|<[a-z][^>]*?\son[a-z]+\s*=[^>]*>?"
    r"|javascript\s*:",
    re.IGNORECASE,
)

_NESTED_MODELS: dict[str, type[BaseModel]] = {"quiz": QuizItem, "video": Video, "widgets": WidgetRef}
_PATTERN_HELP = {
    LESSON_ID: "a lesson id: lower-case letters, digits and '-'",
    YOUTUBE_ID: "an 11-character YouTube video id",
    r"^/.+\.json$": 'a docs-absolute path to a .json file, e.g. "/widgets/scaling_strategy.titanic.json"',
}
_PATTERN_HELP.setdefault(TAG, "lower-case letters, digits and '-'")
_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "list_type": "a list",
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
    "dict_type": "a mapping of keys",
    "bool_type": "true or false",
}


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.path}: {self.message}" if self.path else f"{self.file}:{self.line} {self.message}"


@dataclass
class LessonSource:
    """One lesson file: what parsed, and what is wrong with it."""

    file: str  # how the file is named in messages, e.g. docs/lessons/x.md
    stem: str  # file name without .md; the lesson's id and URL segment
    src_uri: str = ""  # path under docs/, e.g. lessons/<chapter>/<id>.md
    fm: frontmatter.FrontMatter | None = None
    lesson: Lesson | None = None
    problems: list[Problem] = field(default_factory=list)
    body: Any = None  # blocks.BodyReport: values, experiments and checks of the body, reading time

    @property
    def raw(self) -> dict[str, Any]:
        return self.fm.data if self.fm else {}

    def add(self, path: tuple, message: str, line: int | None = None) -> None:
        if line is None:
            line = self.fm.line_of(path) if self.fm else 1
        self.problems.append(Problem(self.file, line, format_path(path), message))


def format_path(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _short(value: Any, limit: int = 50) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _allowed_keys(loc: tuple, root: type[BaseModel] = Lesson) -> list[str]:
    names = [part for part in loc if isinstance(part, str)]
    model = (_NESTED_MODELS.get(names[0]) if root is Lesson else None) if len(names) > 1 else root
    return list((model or root).model_fields)


def describe(error: dict[str, Any], root: type[BaseModel] = Lesson) -> str:
    """A pydantic error as ``what is wrong (what is allowed)``; ``root`` is the model validated."""
    kind, loc, value, ctx = error["type"], error["loc"], error.get("input"), error.get("ctx", {})
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc, root)
        return f"unknown key ({suggest(str(loc[-1]), allowed)}allowed: {', '.join(allowed)})"
    if kind in _TYPE_NAMES:
        return f"expected {_TYPE_NAMES[kind]}, got {type(value).__name__} {_short(value)}"
    if kind == "string_pattern_mismatch":
        return f"{_short(value)} is not {_PATTERN_HELP.get(ctx.get('pattern'), 'valid (pattern ' + str(ctx.get('pattern')) + ')')}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s), got {len(value) if hasattr(value, '__len__') else 0}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most", "less_than": "less than"}[kind]
        limit = next(iter(ctx.values()), "?")
        return f"{_short(value)} is out of range (allowed: {bound} {limit})"
    if kind == "literal_error":
        return f"{_short(value)} is not allowed (allowed: {ctx.get('expected')})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{_short(value)}: {error['msg']}"


def _parse(source: LessonSource | ChapterSource, path: Path, model: type[BaseModel]) -> BaseModel | None:
    """Read ``path`` into ``source.fm`` and validate it against ``model``; problems go to ``source``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        source.add((), f"cannot be read ({err})", line=1)
        return None
    try:
        source.fm = frontmatter.parse(text)
    except frontmatter.FrontMatterError as err:
        source.add((), err.message, line=err.line)
        return None
    for dup_path, line in source.fm.duplicate_keys:
        source.add(dup_path, "key appears twice (YAML keeps only the last one; remove one)", line=line)
    try:
        return model.model_validate(source.raw)
    except ValidationError as err:
        for error in err.errors():
            source.add(tuple(error["loc"]), describe(error, model))
    return None


# Parsed front matter by (label, content hash): under ``mkdocs serve`` every rebuild reloads the
# course, and only the edited lesson needs parsing again. Rules are re-run on every load (they read
# scenario files, which may have changed). One entry per file: the newest content.
_PARSED: dict[tuple[str, str], tuple[frontmatter.FrontMatter | None, Lesson | None, tuple[Problem, ...]]] = {}


def load_lesson(path: Path, label: str, docs_dir: Path) -> LessonSource:
    """Parse and check one lesson file on its own (cross-lesson checks: ``check_course``)."""
    source = LessonSource(file=label, stem=path.stem)
    try:
        key = (label, hashlib.sha256(path.read_bytes()).hexdigest())
    except OSError:
        key = None
    if key in _PARSED:
        source.fm, source.lesson, problems = _PARSED[key]
        source.problems.extend(problems)
    else:
        source.lesson = _parse(source, path, Lesson)
        if key is not None:
            for old in [k for k in _PARSED if k[0] == label]:
                del _PARSED[old]
            _PARSED[key] = (source.fm, source.lesson, tuple(source.problems))
    if source.fm is not None:
        _check_rules(source, docs_dir)
    return source


@dataclass
class ChapterSource(LessonSource):
    """A chapter folder's ``index.md``: ``stem`` is the folder name, the chapter id."""

    chapter: Chapter | None = None


def load_chapter(folder: Path, label: str) -> ChapterSource:
    """Parse and check a chapter's ``index.md`` (``label`` names that file in messages)."""
    source = ChapterSource(file=label, stem=folder.name)
    if not re.match(LESSON_ID, folder.name):
        source.add((), f"chapter folder name {folder.name!r} is not a chapter id (allowed: lower-case letters, digits and '-')", line=1)
    if not (folder / "index.md").is_file():
        source.add((), "chapter has no index.md (add one: front matter with title, summary and an optional order)", line=1)
        return source
    source.chapter = _parse(source, folder / "index.md", Chapter)
    declared = source.raw.get("id")
    if isinstance(declared, str) and declared != folder.name:
        source.add(("id",), f"{declared!r} does not match the folder name {folder.name!r} (the chapter id is the folder name)")
    return source


def check_chapters(chapters: list[ChapterSource], lessons: list[LessonSource]) -> None:
    """Rules across chapters: one chapter per id, and no chapter id that is also a lesson id (both name
    a ``lessons/<id>/`` page)."""
    by_id: dict[str, ChapterSource] = {}
    for source in chapters:
        declared = source.raw.get("id")
        chapter_id = declared if isinstance(declared, str) else source.stem
        if chapter_id in by_id:
            source.add(("id",) if isinstance(declared, str) else (), f"chapter id {chapter_id!r} is already used by {by_id[chapter_id].file} (chapter ids must be unique)")
        else:
            by_id[chapter_id] = source
    for lesson in lessons:
        if lesson.stem in by_id:
            lesson.add(("id",), f"lesson id {lesson.stem!r} is also the id of chapter {by_id[lesson.stem].file} (ids must be unique)")


def _check_rules(source: LessonSource, docs_dir: Path) -> None:
    """Rules across fields of one lesson. Run on the raw data, guarded, so they are reported even
    when other fields failed the model."""
    raw = source.raw
    lesson_id = raw.get("id")
    if isinstance(lesson_id, str) and lesson_id != source.stem:
        source.add(("id",), f"{lesson_id!r} does not match the file name {source.stem + '.md'!r} (the id must equal the file name without .md)")
    quiz = raw.get("quiz")
    for i, item in enumerate(quiz if isinstance(quiz, list) else []):
        for path, message in quiz_item_rules(item):
            source.add(("quiz", i) + path, message)
    video = raw.get("video")
    if isinstance(video, dict):
        start, end = video.get("start", 0), video.get("end")
        if isinstance(start, int) and isinstance(end, int) and end <= start:
            source.add(("video", "end"), f"{end} must be greater than start ({start}); end is where playback stops, in seconds")
    _check_widgets(source, docs_dir)


def quiz_item_rules(item: Any) -> list[tuple[tuple, str]]:
    """``(path within the item, message)`` for the rules of a quiz question the model cannot express:
    options differ, the answer indexes an option. Shared by front-matter quizzes and ``check`` blocks."""
    if not isinstance(item, dict) or not isinstance(item.get("options"), list):
        return []
    options, answer = item["options"], item.get("answer")
    found = []
    first_seen: dict[str, int] = {}
    for j, option in enumerate(options):
        key = option.strip().casefold() if isinstance(option, str) else None
        if key is None:
            continue
        if key in first_seen:
            found.append((("options", j), f"duplicate option {option!r} (same as options[{first_seen[key]}]; options must differ)"))
        first_seen.setdefault(key, j)
    if isinstance(answer, int) and not isinstance(answer, bool) and not 0 <= answer < len(options):
        found.append((("answer",), f"{answer} is out of range ({len(options)} options; answer is a 0-based index from 0 to {len(options) - 1})"))
    return found


def _check_widgets(source: LessonSource, docs_dir: Path) -> None:
    widgets = source.raw.get("widgets")
    known = registry.names()
    listed: set[str] = set()
    for i, ref in enumerate(widgets if isinstance(widgets, list) else []):
        if not isinstance(ref, dict):
            continue
        wtype, data = ref.get("type"), ref.get("data")
        if not isinstance(wtype, str):
            continue
        if wtype not in known:
            source.add(("widgets", i, "type"), f"unknown widget type {wtype!r} ({suggest(wtype, known)}allowed: {', '.join(known)})")
            continue
        if wtype in listed:
            source.add(("widgets", i, "type"), f"{wtype!r} is listed twice (a lesson shows each widget type once)")
        listed.add(wtype)
        if isinstance(data, str) and data.startswith("/"):
            target = (docs_dir / data.lstrip("/")).resolve()
            if docs_dir.resolve() not in target.parents:
                source.add(("widgets", i, "data"), f"{data!r} points outside the docs folder (allowed: a path under docs/)")
                continue
            try:
                scenarios.load(target, expected_type=wtype, label=f"{docs_dir.name}{data}")
            except scenarios.ScenarioError as err:
                source.add(("widgets", i, "data"), str(err))
            except ImportError as err:  # widget module not installed: say so instead of a traceback
                source.add(("widgets", i, "type"), f"widget module for {wtype!r} cannot be imported ({err})")
    if source.fm is None:
        return
    placed: set[str] = set()
    for line, wtype in widget_markers(source.fm.body, source.fm.body_line):
        if wtype not in listed:
            allowed = ", ".join(sorted(listed)) or "none: add the widget under widgets: first"
            source.problems.append(Problem(source.file, line, "body", f"marker <!-- widget: {wtype} --> names a widget not in this lesson's front matter (allowed: {allowed})"))
        elif wtype in placed:
            source.problems.append(Problem(source.file, line, "body", f"widget {wtype!r} is placed twice (place each widget once)"))
        placed.add(wtype)
    for line, snippet in active_html(source.fm.body, source.fm.body_line):
        source.problems.append(Problem(source.file, line, "body", f"raw HTML that runs script is not allowed: {_short(snippet, 40)} (allowed: Markdown, plain HTML without script, event handlers or javascript: links; show code in a code block)"))


def widget_markers(body: str, first_line: int = 1) -> list[tuple[int, str]]:
    """``(file line, widget type)`` of every ``<!-- widget: type -->`` line outside fenced code."""
    return [(line, marker.group("type")) for line, text in lines_outside_code(body, first_line)
            if (marker := WIDGET_MARKER_RE.match(text))]


def _active_matches(body: str, first_line: int = 1):
    for line, text in lines_outside_code(body, first_line):
        for match in ACTIVE_HTML_RE.finditer(text):
            yield line, match.start(), match.end()


def active_html(body: str, first_line: int = 1) -> list[tuple[int, str]]:
    """``(file line, snippet)`` of raw HTML in the body that would run script in a reader's browser.
    Markdown passes raw HTML through untouched, so a lesson could otherwise ship ``<script>``;
    inside code (fenced or inline) it is escaped by Markdown and harmless."""
    lines = body.splitlines()
    return [(line, lines[line - first_line][a:b]) for line, a, b in _active_matches(body, first_line)]


def neutralize_active_html(body: str) -> str:
    """The body with every active-HTML match made inert text (used while ``mkdocs serve`` shows the
    problem, so the preview never runs it)."""
    lines = body.splitlines(keepends=True)
    for line, a, b in sorted(_active_matches(body), reverse=True):  # right to left keeps offsets valid
        text = lines[line - 1]
        lines[line - 1] = text[:a] + text[a:b].replace("<", "&lt;").replace(":", "&#58;") + text[b:]
    return "".join(lines)


def check_course(sources: list[LessonSource]) -> None:
    """Rules across lessons: unique ids, prereqs/next resolve, no prerequisite cycle. Problems are
    added to the file where the author has to fix them."""
    by_id: dict[str, LessonSource] = {}
    for source in sources:
        lesson_id = source.raw.get("id")
        if not isinstance(lesson_id, str):
            continue
        if lesson_id in by_id:
            source.add(("id",), f"lesson id {lesson_id!r} is already used by {by_id[lesson_id].file} (ids must be unique)")
        else:
            by_id[lesson_id] = source
    # A file whose front matter does not parse still names a lesson: don't cascade "unknown lesson".
    unparsed = {s.stem for s in sources if s.fm is None}
    known = sorted(set(by_id) | unparsed)
    graph: dict[str, list[str]] = {}
    for lesson_id, source in by_id.items():
        prereqs = source.raw.get("prereqs")
        graph[lesson_id] = []
        for j, prereq in enumerate(prereqs if isinstance(prereqs, list) else []):
            if not isinstance(prereq, str):
                continue
            if prereq in unparsed and prereq not in by_id:
                continue
            if prereq not in by_id:
                others = [k for k in known if k != lesson_id]
                source.add(("prereqs", j), f"unknown lesson {prereq!r} ({suggest(prereq, others)}known: {', '.join(known)})")
            else:
                graph[lesson_id].append(prereq)
        nxt = source.raw.get("next")
        if isinstance(nxt, str):
            if nxt in unparsed and nxt not in by_id:
                pass
            elif nxt not in by_id:
                others = [k for k in known if k != lesson_id]
                source.add(("next",), f"unknown lesson {nxt!r} ({suggest(nxt, others)}known: {', '.join(known)}; use null for the last lesson)")
            elif nxt == lesson_id:
                source.add(("next",), "points at the lesson itself (use another lesson id, or null)")
    for cycle in find_cycles(graph):
        source = by_id[cycle[0]]
        source.add(("prereqs",), f"prerequisite cycle: {' → '.join(cycle + [cycle[0]])} (a lesson cannot require itself, directly or through others)")


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each cycle once, as the list of ids starting from its smallest id."""
    cycles: set[tuple[str, ...]] = set()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):]
                start = cycle.index(min(cycle))
                cycles.add(tuple(cycle[start:] + cycle[:start]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return [list(c) for c in sorted(cycles)]
