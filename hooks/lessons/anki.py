"""Anki decks of the lessons' flashcards, written at build time with genanki.

One ``.apkg`` per lesson and one for the whole course, in which each lesson is a sub-deck of the
course deck (``<course>::<n>. <lesson title>``); a lesson's own package uses the same deck name, so
importing both puts every card in one place. Identity is what makes re-imports safe:

- a note's GUID is derived from the lesson id and the card's term only, so after an author edits a
  definition, importing the new package updates the note (and keeps the learner's review history)
  instead of adding a duplicate;
- the note type and deck ids are derived from the course and lesson ids, so they too survive rebuilds.

Fields are HTML in Anki, so every authored string is escaped. The back of a card links to the lesson
page (absolute, from ``site_url``: a link inside Anki has no page to be relative to).
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable
from pathlib import Path

import genanki

from .course import Course, CourseLesson

FIELDS = ("Term", "Definition", "Lesson")
CARD_CSS = """.card { font-family: sans-serif; font-size: 20px; text-align: center; color: black; background-color: white; }
.definition { margin: 1em 0; }
.lesson { font-size: 14px; }
"""


def stable_id(*parts: str) -> int:
    """A 31-bit id from text: Anki keeps note type and deck ids as 64-bit integers, genanki asks for
    values between 2**30 and 2**31 so they stay clear of ids Anki makes from timestamps."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


def note_guid(lesson_id: str, term: str) -> str:
    return genanki.guid_for(lesson_id, term)


def deck_name(course_title: str, cl: CourseLesson) -> str:
    # "::" separates sub-decks in Anki; a title that contains it must not make one.
    clean = lambda text: " ".join(text.replace("::", ":").split())  # noqa: E731
    return f"{clean(course_title)}::{cl.position}. {clean(cl.lesson.title)}"


def note_model(course_id: str, course_title: str) -> genanki.Model:
    return genanki.Model(
        stable_id(course_id, "note type"),
        f"{course_title} flashcard",
        fields=[{"name": name} for name in FIELDS],
        templates=[{
            "name": "Term → definition",
            "qfmt": "{{Term}}",
            "afmt": '{{FrontSide}}<hr id="answer"><div class="definition">{{Definition}}</div><div class="lesson">{{Lesson}}</div>',
        }],
        css=CARD_CSS,
    )


def lesson_link(cl: CourseLesson, site_url: str | None) -> str:
    title = html.escape(cl.lesson.title)
    if not site_url:
        return f"Lesson: {title}"
    href = site_url.rstrip("/") + "/" + cl.url
    return f'Lesson: <a href="{html.escape(href, quote=True)}">{title}</a>'


def lesson_deck(cl: CourseLesson, model: genanki.Model, course_id: str, course_title: str, site_url: str | None) -> genanki.Deck:
    deck = genanki.Deck(stable_id(course_id, "deck", cl.lesson.id), deck_name(course_title, cl))
    link = lesson_link(cl, site_url)
    for term, definition in cl.lesson.cards():
        deck.add_note(genanki.Note(
            model=model,
            fields=[html.escape(term), html.escape(definition), link],
            guid=note_guid(cl.lesson.id, term),
            tags=list(cl.lesson.tags),
        ))
    return deck


def write(decks: Iterable[genanki.Deck], path: Path, timestamp: float | None) -> None:
    """Write a package atomically: a half-written .apkg never replaces a good one. ``timestamp`` is
    the notes' modification time (Anki updates a note on import when the file's copy is newer);
    None means now."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    genanki.Package(list(decks)).write_to_file(str(partial), timestamp=timestamp)
    partial.replace(path)


def write_all(course: Course, site_dir: Path, course_title: str, site_url: str | None,
              timestamp: float | None = None) -> list[Path]:
    """Every lesson's package and the course package under ``site_dir``; the paths written."""
    course_id = course.id
    model = note_model(course_id, course_title)
    decks = {cl.lesson.id: lesson_deck(cl, model, course_id, course_title, site_url) for cl in course.lessons}
    written = []
    for cl in course.lessons:
        path = site_dir / cl.anki_url
        write([decks[cl.lesson.id]], path, timestamp)
        written.append(path)
    if course.lessons:
        path = site_dir / course.anki_url
        # The parent deck exists in Anki as soon as a sub-deck named "<course>::..." is imported.
        write(decks.values(), path, timestamp)
        written.append(path)
    return written
