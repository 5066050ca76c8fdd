"""The course: every lesson file under ``<docs>/lessons/``, validated, in prerequisite order, with
the site-relative URLs of its lesson, quiz and flashcards pages."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from . import blocks
from .model import Lesson
from .validate import LessonSource, Problem, check_course, load_lesson

LESSONS_DIR = "lessons"
TAGS_SRC = "tags.md"


def page_url(src_uri: str, use_directory_urls: bool = True) -> str:
    """Site-relative URL MkDocs gives a Markdown file (``lessons/x.md`` → ``lessons/x/``)."""
    stem, _ = posixpath.splitext(src_uri)
    parent, name = posixpath.split(stem)
    if name in ("index", "README"):
        if use_directory_urls:
            return f"{parent}/" if parent else ""
        return f"{parent}/index.html" if parent else "index.html"
    return f"{stem}/" if use_directory_urls else f"{stem}.html"


def relative(target: str, from_url: str) -> str:
    """Link from page ``from_url`` to ``target`` (both site-relative, '' is the home page). Relative
    links keep working when the site is served from a sub-path such as /course/."""
    target, _, anchor = target.partition("#")
    base = posixpath.dirname(from_url) or "."
    rel = posixpath.relpath(target or ".", base)
    if target == "" or target.endswith("/"):
        rel = "./" if rel == "." else rel + "/"
    return rel + (f"#{anchor}" if anchor else "")


def fingerprint(value: object) -> str:
    """Short content hash: the browser drops saved answers when the questions they belong to change."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]


@dataclass
class CourseLesson:
    lesson: Lesson
    source: LessonSource
    src_uri: str
    quiz_src: str
    flashcards_src: str
    url: str
    quiz_url: str
    flashcards_url: str
    position: int = 0  # 1-based, in prerequisite order


@dataclass
class Course:
    lessons: list[CourseLesson]
    sources: list[LessonSource]
    tags_url: str
    problems: list[Problem] = field(default_factory=list)
    scenarios: blocks.ScenarioIndex = field(default_factory=blocks.ScenarioIndex)  # every docs/widgets scenario

    def get(self, lesson_id: str) -> CourseLesson | None:
        return next((cl for cl in self.lessons if cl.lesson.id == lesson_id), None)

    def tags(self) -> dict[str, list[CourseLesson]]:
        index: dict[str, list[CourseLesson]] = {}
        for cl in self.lessons:
            for tag in cl.lesson.tags:
                index.setdefault(tag, []).append(cl)
        return dict(sorted(index.items()))

    def problems_for(self, file: str) -> list[Problem]:
        return [p for p in self.problems if p.file == file]


def label_for(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path, Path.cwd()) if path.resolve().is_relative_to(Path.cwd().resolve()) else str(path)
    except ValueError:
        return str(path)


def lesson_paths(docs_dir: Path) -> list[Path]:
    """Lesson files: ``lessons/*.md`` and ``lessons/<chapter>/*.md``; a chapter's ``index.md`` is its
    page, not a lesson."""
    root = Path(docs_dir) / LESSONS_DIR
    return sorted([*root.glob("*.md"), *(p for p in root.glob("*/*.md") if p.name != "index.md")])


def load(docs_dir: Path, use_directory_urls: bool = True) -> Course:
    """Read, validate and order every lesson. Never raises for author mistakes: see ``problems``."""
    docs_dir = Path(docs_dir)
    paths = lesson_paths(docs_dir)
    sources = [load_lesson(p, label_for(p), docs_dir) for p in paths]
    for path, source in zip(paths, sources):
        source.src_uri = path.relative_to(docs_dir).as_posix()
    index = blocks.ScenarioIndex.load(docs_dir)
    for source in sources:
        blocks.check_lesson(source, index)
    check_course(sources)
    blocks.check_course(sources, index)
    lessons = []
    seen: set[str] = set()
    for source in sources:
        if source.lesson is None or source.lesson.id in seen:
            continue
        seen.add(source.lesson.id)
        src = source.src_uri
        quiz_src = f"{src[:-3]}/quiz.md"
        cards_src = f"{src[:-3]}/flashcards.md"
        lessons.append(
            CourseLesson(
                lesson=source.lesson, source=source, src_uri=src, quiz_src=quiz_src, flashcards_src=cards_src,
                url=page_url(src, use_directory_urls), quiz_url=page_url(quiz_src, use_directory_urls),
                flashcards_url=page_url(cards_src, use_directory_urls),
            )
        )
    ordered = prerequisite_order(lessons)
    for position, cl in enumerate(ordered, start=1):
        cl.position = position
    problems = sorted(p for s in sources for p in s.problems)
    return Course(ordered, sources, page_url(TAGS_SRC, use_directory_urls), problems, index)


def prerequisite_order(lessons: list[CourseLesson]) -> list[CourseLesson]:
    """Topological order (prerequisites first); ties and cycles fall back to file-name order so a
    broken course still renders while its problems are shown."""
    by_id = {cl.lesson.id: cl for cl in lessons}
    remaining = {cl.lesson.id: {p for p in cl.lesson.prereqs if p in by_id} for cl in lessons}
    ordered: list[CourseLesson] = []
    while remaining:
        ready = sorted(i for i, deps in remaining.items() if not deps) or [min(remaining)]
        for lesson_id in ready:
            ordered.append(by_id[lesson_id])
            del remaining[lesson_id]
        for deps in remaining.values():
            deps.difference_update(ready)
    return ordered
