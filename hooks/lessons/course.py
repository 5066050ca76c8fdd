"""The course: every chapter and lesson under ``<docs>/lessons/``, validated, in prerequisite order,
with the site-relative URLs of each lesson's lesson, quiz and flashcards pages.

A chapter is a folder ``lessons/<chapter-id>/`` whose ``index.md`` holds its title, summary and
optional order; its lessons are the folder's other Markdown files. Lessons directly in ``lessons/``
belong to no chapter. Chapters are ordered by ``order`` (then id); lessons follow their chapter's
place unless a prerequisite must come first."""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from . import blocks
from .model import Lesson
from .validate import ChapterSource, LessonSource, Problem, check_chapters, check_course, load_chapter, load_lesson

LESSONS_DIR = "lessons"
TAGS_SRC = "tags.md"
ANKI_DIR = "anki"  # site folder of the Anki packages (hooks/lessons/anki.py)


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
    chapter: str | None = None  # chapter id
    chapter_position: int = 0  # 1-based within the chapter

    @property
    def anki_url(self) -> str:
        return f"{ANKI_DIR}/{self.lesson.id}.apkg"


@dataclass
class CourseChapter:
    id: str
    title: str  # the folder name while index.md is broken, so the course still renders
    summary: str
    order: int | None
    src_uri: str  # lessons/<id>/index.md
    url: str
    source: ChapterSource
    lessons: list[CourseLesson] = field(default_factory=list)  # in course order


@dataclass
class Course:
    lessons: list[CourseLesson]
    sources: list[LessonSource]
    tags_url: str
    problems: list[Problem] = field(default_factory=list)
    scenarios: blocks.ScenarioIndex = field(default_factory=blocks.ScenarioIndex)  # every docs/widgets scenario
    chapters: list[CourseChapter] = field(default_factory=list)
    # Names the course in progress files and Anki packages (mkdocs.yml extra.course_id).
    id: str = "course"

    def __post_init__(self) -> None:
        self._by_id = {cl.lesson.id: cl for cl in self.lessons}

    def get(self, lesson_id: str) -> CourseLesson | None:
        return self._by_id.get(lesson_id)

    def unchaptered(self) -> list[CourseLesson]:
        return [cl for cl in self.lessons if cl.chapter is None]

    def tags(self) -> dict[str, list[CourseLesson]]:
        index: dict[str, list[CourseLesson]] = {}
        for cl in self.lessons:
            for tag in cl.lesson.tags:
                index.setdefault(tag, []).append(cl)
        return dict(sorted(index.items()))

    def problems_for(self, file: str) -> list[Problem]:
        return [p for p in self.problems if p.file == file]

    @property
    def anki_url(self) -> str:
        """The whole course's Anki package; named after the course so a download says what it is."""
        return f"{ANKI_DIR}/{self.id}.apkg"


def label_for(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path, Path.cwd()) if path.resolve().is_relative_to(Path.cwd().resolve()) else str(path)
    except ValueError:
        return str(path)


def chapter_folders(docs_dir: Path) -> list[Path]:
    """Folders of ``lessons/`` holding Markdown files: chapters (well formed or not)."""
    root = Path(docs_dir) / LESSONS_DIR
    return sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.md"))) if root.is_dir() else []


def lesson_paths(docs_dir: Path) -> list[Path]:
    """Lesson files: ``lessons/*.md`` and ``lessons/<chapter>/*.md`` except each chapter's ``index.md``."""
    root = Path(docs_dir) / LESSONS_DIR
    return sorted([*root.glob("*.md"), *(p for p in root.glob("*/*.md") if p.name != "index.md")])


def _chapter(source: ChapterSource, src_uri: str, use_directory_urls: bool) -> CourseChapter:
    raw, chapter = source.raw, source.chapter
    title = chapter.title if chapter else raw.get("title") if isinstance(raw.get("title"), str) else source.stem
    return CourseChapter(
        id=source.stem, title=title, summary=chapter.summary if chapter else "", order=chapter.order if chapter else None,
        src_uri=src_uri, url=page_url(src_uri, use_directory_urls), source=source)


def load(docs_dir: Path, use_directory_urls: bool = True, course_id: str = "course") -> Course:
    """Read, validate and order every chapter and lesson. Never raises for author mistakes: see
    ``problems``."""
    docs_dir = Path(docs_dir)
    folders = chapter_folders(docs_dir)
    chapter_sources = [load_chapter(f, label_for(f / "index.md")) for f in folders]
    paths = lesson_paths(docs_dir)
    sources = [load_lesson(p, label_for(p), docs_dir) for p in paths]
    for path, source in zip(paths, sources):
        source.src_uri = path.relative_to(docs_dir).as_posix()
    index = blocks.ScenarioIndex.load(docs_dir)
    for source in sources:
        blocks.check_lesson(source, index)
    check_course(sources)
    blocks.check_course(sources, index)
    check_chapters(chapter_sources, sources)
    chapters = sorted(
        (_chapter(cs, f"{LESSONS_DIR}/{cs.stem}/index.md", use_directory_urls) for cs in chapter_sources),
        key=lambda c: (c.order is None, c.order or 0, c.id))
    chapter_of_folder = {c.id: c for c in chapters}
    lessons = []
    seen: set[str] = set()
    for source in sources:
        if source.lesson is None or source.lesson.id in seen:
            continue
        seen.add(source.lesson.id)
        src = source.src_uri
        quiz_src = f"{src[:-3]}/quiz.md"
        cards_src = f"{src[:-3]}/flashcards.md"
        folder = posixpath.dirname(posixpath.relpath(src, LESSONS_DIR))
        lessons.append(
            CourseLesson(
                lesson=source.lesson, source=source, src_uri=src, quiz_src=quiz_src, flashcards_src=cards_src,
                url=page_url(src, use_directory_urls), quiz_url=page_url(quiz_src, use_directory_urls),
                flashcards_url=page_url(cards_src, use_directory_urls),
                chapter=chapter_of_folder[folder].id if folder in chapter_of_folder else None,
            )
        )
    rank = {c.id: i for i, c in enumerate(chapters)}
    ordered = prerequisite_order(lessons, key=lambda cl: (rank.get(cl.chapter, len(rank)), cl.lesson.id))
    for position, cl in enumerate(ordered, start=1):
        cl.position = position
        if cl.chapter is not None:
            chapter = chapter_of_folder[cl.chapter]
            chapter.lessons.append(cl)
            cl.chapter_position = len(chapter.lessons)
    generated = [TAGS_SRC, *(src for cl in lessons for src in (cl.quiz_src, cl.flashcards_src))]
    clashes = [Problem(label_for(docs_dir / src), 1, "", "this page is generated from front matter; remove the file")
               for src in generated if (docs_dir / src).exists()]
    problems = sorted([*clashes, *(p for s in [*chapter_sources, *sources] for p in s.problems)])
    return Course(ordered, sources, page_url(TAGS_SRC, use_directory_urls), problems, index, chapters, course_id)


def prerequisite_order(lessons: list[CourseLesson], key=lambda cl: cl.lesson.id) -> list[CourseLesson]:
    """Topological order (prerequisites first); among the lessons ready at each step, the smallest
    ``key`` comes first. A cycle falls back to the smallest remaining key so a broken course still
    renders while its problems are shown. O(n log n): a heap of ready lessons (Kahn's algorithm)."""
    by_id = {cl.lesson.id: cl for cl in lessons}
    waiting = {cl.lesson.id: {p for p in cl.lesson.prereqs if p in by_id and p != cl.lesson.id} for cl in lessons}
    dependents: dict[str, list[str]] = {}
    for lesson_id, deps in waiting.items():
        for dep in deps:
            dependents.setdefault(dep, []).append(lesson_id)
    ready = [(key(by_id[i]), i) for i, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    pending = {i for i, deps in waiting.items() if deps}
    ordered: list[CourseLesson] = []
    while ready or pending:
        if not ready:  # only cycles remain
            stuck = min(pending, key=lambda i: key(by_id[i]))
            waiting[stuck].clear()
            pending.discard(stuck)
            ready.append((key(by_id[stuck]), stuck))
        _, lesson_id = heapq.heappop(ready)
        ordered.append(by_id[lesson_id])
        for child in dependents.get(lesson_id, []):
            if child in pending:
                waiting[child].discard(lesson_id)
                if not waiting[child]:
                    pending.discard(child)
                    heapq.heappush(ready, (key(by_id[child]), child))
    return ordered
