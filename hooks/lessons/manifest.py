"""``site/course.json``: the course in prerequisite order, for tools and the browser.

Shape (issue 2): ``{"id", "anki_url", "lessons": [{"id", "title", "url", "quiz_url", "flashcards_url", "anki_url", "prereqs",
"next", "tags", "duration_min", "widgets": [{"type", "data"}], "chapter"}], "chapters": [{"id", "title",
"summary", "url", "lessons": [ids]}]}`` (issue 15: ``chapter`` is the lesson's chapter id, or null for a
lesson directly in ``lessons/``; chapters in course order, their lessons in course order; issue 12: the
course ``id`` and the Anki packages, ``anki_url``). URLs are site-relative (no
leading slash) so the file is correct wherever the site is mounted; widget ``data`` is the scenario
file's site-relative URL (the docs-absolute ``/widgets/x.json`` without its slash).
"""

from __future__ import annotations

import json
from typing import Any

from .course import Course


def build(course: Course) -> dict[str, Any]:
    return {
        "id": course.id,
        "anki_url": course.anki_url,
        "lessons": [
            {
                "id": cl.lesson.id,
                "title": cl.lesson.title,
                "url": cl.url,
                "quiz_url": cl.quiz_url,
                "flashcards_url": cl.flashcards_url,
                "anki_url": cl.anki_url,
                "prereqs": list(cl.lesson.prereqs),
                "next": cl.lesson.next,
                "tags": list(cl.lesson.tags),
                "duration_min": cl.lesson.duration_min,
                "widgets": [{"type": w.type, "data": w.data.lstrip("/")} for w in cl.lesson.widgets],
                "chapter": cl.chapter,
            }
            for cl in course.lessons
        ],
        "chapters": [
            {"id": ch.id, "title": ch.title, "summary": ch.summary, "url": ch.url, "lessons": [cl.lesson.id for cl in ch.lessons]}
            for ch in course.chapters
        ],
    }


def dumps(course: Course) -> str:
    return json.dumps(build(course), indent=2, ensure_ascii=False) + "\n"
