"""Author tools, without building the site: ``python -m hooks.lessons check|new``.

``check [PATH…]`` runs the build's own validation (``course.load``: lessons, chapters, the scenario
files widgets reference, prerequisites and ``next`` across the whole course) and prints every
problem as ``file:line field: message``; exit 1 if there is any, 0 if none. A PATH is a docs folder
or a file/folder inside one (the whole course is loaded, since cross-lesson rules need it, and
problems are shown for the given paths only), so a pre-commit hook can pass the changed files.

``new <id> --chapter <chapter-id> --title "…" [--after <id>]`` writes
``lessons/<chapter-id>/<id>.md`` with every front-matter key present and a comment on each, valid as
written; with ``--after`` the new lesson follows that lesson (its prerequisite) and takes its place
in the ``next`` chain.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from . import course as course_mod
from . import frontmatter
from .model import LESSON_ID
from .validate import Problem

DEFAULT_DOCS = Path("docs")


class CliError(Exception):
    """An author mistake on the command line: printed as one line, exit 2."""


def docs_root(path: Path) -> Path:
    """The docs folder holding ``path``: the path itself or its nearest ancestor with ``lessons/``."""
    path = path.resolve()
    for candidate in (path, *path.parents):
        if (candidate / course_mod.LESSONS_DIR).is_dir():
            return candidate
    raise CliError(f"{path}: not in a docs folder (no lessons/ folder here or above)")


def _covers(paths: list[Path], problem: Problem) -> bool:
    target = Path(problem.file).resolve()
    return any(target == p or p in target.parents for p in paths)


def check(paths: list[Path]) -> int:
    for path in paths:
        if not path.exists():
            raise CliError(f"{path}: no such file or folder")
    by_root: dict[Path, list[Path]] = {}
    for path in paths:
        by_root.setdefault(docs_root(path), []).append(path.resolve())
    problems: list[Problem] = []
    counts = [0, 0]
    for root, wanted in by_root.items():
        course = course_mod.load(root)
        counts[0] += len(course.sources)
        counts[1] += len(course.chapters)
        whole = root in wanted
        problems += [p for p in course.problems if whole or _covers(wanted, p)]
    for problem in problems:
        print(problem)
    lessons, chapters = counts
    summary = f"{lessons} lesson(s) in {chapters} chapter(s) checked"
    print(f"{summary}: {len(problems)} problem(s)" if problems else f"{summary}: no problems", file=sys.stderr)
    return 1 if problems else 0


# Every key of the lesson front matter, each with a comment saying what it is for. Valid as written.
LESSON_TEMPLATE = """\
---
id: {id}  # equals the file name without .md; never change it once published
title: {title}  # shown in the header, the navigation and the course map
duration_min: 20  # expected study time in minutes (1-600)
prereqs: {prereqs}  # lesson ids to study first; any chapter
tags: [{chapter}]  # lower-case words; each links to the tags index
video: null  # or {{platform: youtube, id: <11-character id>, start: 0, end: null}}
widgets: []  # simulators, e.g. [{{type: scaling_strategy_simulator, data: /widgets/scaling_strategy.titanic.json}}]
goals:  # what a reader can do after the lesson; shown at the top
  - State the main idea of this lesson in one sentence
quiz:  # multiple choice: answer is the 0-based index of the right option
  - q: Which statement is the main idea of this lesson?
    options: ["The main idea", "Something else"]
    answer: 0
    explain: Shown after answering, right or wrong.
flashcards:  # "Term: definition"; the deck is scheduled for spaced review
  - "Main idea: the one sentence a reader should remember"
reflection:  # prompts above the reader's private notes box
  - Where would you use this in a system you know?
next: {next}  # the following lesson's id, or null for the last one
---

Write the lesson here, in Markdown. Put `<!-- widget: <type> -->` on a line of its own where a widget
listed under `widgets:` should appear.
"""


def _yaml_scalar(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _set_next(path: Path, new_next: str) -> None:
    """Point the lesson at ``path`` to ``new_next``: its ``next:`` line is replaced (or added at the
    end of the front matter), the rest of the file is left byte for byte."""
    text = path.read_text(encoding="utf-8")
    fm = frontmatter.parse(text)
    lines = text.splitlines(keepends=True)
    if ("next",) in fm.lines:
        index = fm.lines[("next",)] - 1
        if not re.match(r"next\s*:\s*(\"[^\"]*\"|'[^']*'|[a-z0-9-]+|null|~)?\s*(#.*)?$", lines[index].rstrip("\r\n")):
            raise CliError(f"{course_mod.label_for(path)}:{index + 1} next: write it on one line (next: <id>) so it can be updated")
        ending = lines[index][len(lines[index].rstrip("\r\n")):]
        lines[index] = f"next: {new_next}{ending}"
    else:
        closing = fm.body_line - 2  # the '---' line that ends the front matter
        lines.insert(closing, f"next: {new_next}\n")
    path.write_text("".join(lines), encoding="utf-8")


def new(docs: Path, lesson_id: str, chapter_id: str, title: str, after: str | None) -> int:
    if not re.match(LESSON_ID, lesson_id):
        raise CliError(f"id {lesson_id!r} is not a lesson id (allowed: lower-case letters, digits and '-')")
    if not title.strip():
        raise CliError("--title must not be empty")
    if not (docs / course_mod.LESSONS_DIR).is_dir():
        raise CliError(f"{docs}: not a docs folder (no lessons/ folder; use --docs)")
    course = course_mod.load(docs)
    chapter = next((ch for ch in course.chapters if ch.id == chapter_id), None)
    if chapter is None:
        known = ", ".join(ch.id for ch in course.chapters) or "none: create lessons/<chapter-id>/index.md first"
        raise CliError(f"--chapter {chapter_id!r}: no such chapter (known: {known})")
    taken = {s.stem for s in course.sources} | {ch.id for ch in course.chapters}
    if lesson_id in taken:
        raise CliError(f"id {lesson_id!r} is already used in {docs} (ids must be unique across the course)")
    previous = course.get(after) if after else None
    if after and previous is None:
        raise CliError(f"--after {after!r}: no such lesson (known: {', '.join(cl.lesson.id for cl in course.lessons)})")
    path = docs / course_mod.LESSONS_DIR / chapter_id / f"{lesson_id}.md"
    text = LESSON_TEMPLATE.format(
        id=lesson_id, title=_yaml_scalar(title.strip()), chapter=chapter_id,
        prereqs=f"[{after}]" if previous else "[]", next=(previous.lesson.next or "null") if previous else "null",
    )
    path.write_text(text, encoding="utf-8")
    if previous is not None:
        _set_next(docs / previous.src_uri, lesson_id)
    print(f"wrote {course_mod.label_for(path)}" + (f"; {after} now continues with {lesson_id}" if previous else ""))
    return check([path])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hooks.lessons", description="Check and scaffold lessons without building the site.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="validate lessons and chapters; every problem as file:line field: message")
    p_check.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="docs folder, or files/folders in one (default: docs/)")
    p_new = sub.add_parser("new", help="write a new lesson with every key present, valid as written")
    p_new.add_argument("id", help="lesson id: lower-case letters, digits and '-'; also the file name")
    p_new.add_argument("--chapter", required=True, help="chapter id (folder under lessons/)")
    p_new.add_argument("--title", required=True)
    p_new.add_argument("--after", help="lesson this one follows: it becomes the prerequisite and points here with next")
    p_new.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="docs folder (default: docs/)")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return check(args.paths or [DEFAULT_DOCS])
        return new(args.docs, args.id, args.chapter, args.title, args.after)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
