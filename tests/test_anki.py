"""The Anki packages, checked with Anki's own library: each built deck is imported into a fresh
collection, and a rebuilt deck with one edited definition must update that note, not add one."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

from hooks.lessons import anki
from hooks.lessons import course as course_mod
from tests.conftest import ROOT, SITE_URL
from tests.fixtures.lessons import sitekit

COURSE_TITLE = "Scaling AI Systems"


def import_package(collection_path: Path, package: Path):
    """Import as Anki's import dialog does by default (update a note when the file's copy is newer)."""
    col = Collection(str(collection_path))
    try:
        result = col.import_anki_package(ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions()))
        notes = {}
        for note_id in col.find_notes(""):
            note = col.get_note(note_id)
            decks = {col.decks.name(card.did) for card in note.cards()}
            notes[note.guid] = {"id": note_id, "fields": list(note.fields), "tags": sorted(note.tags), "decks": decks}
        return result.log, notes, sorted(d.name for d in col.decks.all_names_and_ids())
    finally:
        col.close()


def expected_note(cl, term: str, definition: str, site_url: str | None = SITE_URL) -> dict:
    return {
        "fields": [html.escape(term), html.escape(definition), anki.lesson_link(cl, site_url)],
        "tags": sorted(cl.lesson.tags),
        "decks": {anki.deck_name(COURSE_TITLE, cl)},
    }


@pytest.fixture(scope="module")
def site_course():
    return course_mod.load(ROOT / "docs", course_id="scaling-ai-systems")


def test_each_lesson_package_imports_with_its_cards_tags_deck_and_link(site_dir, site_course, tmp_path):
    course_json = json.loads((site_dir / "course.json").read_text())
    assert len(course_json["lessons"]) == len(site_course.lessons)
    for entry, cl in zip(course_json["lessons"], site_course.lessons):
        log, notes, deck_names = import_package(tmp_path / f"{cl.lesson.id}.anki2", site_dir / entry["anki_url"])
        cards = cl.lesson.cards()
        assert len(log.new) == len(cards) and not log.duplicate
        assert len(notes) == len(cards)
        for term, definition in cards:
            note = notes[anki.note_guid(cl.lesson.id, term)]
            assert {k: note[k] for k in ("fields", "tags", "decks")} == expected_note(cl, term, definition)
            assert f'href="{SITE_URL}{cl.url}"' in note["fields"][2]
        assert anki.deck_name(COURSE_TITLE, cl) in deck_names


def test_course_package_has_a_sub_deck_per_lesson(site_dir, site_course, tmp_path):
    course_json = json.loads((site_dir / "course.json").read_text())
    log, notes, deck_names = import_package(tmp_path / "course.anki2", site_dir / course_json["anki_url"])
    total = sum(len(cl.lesson.cards()) for cl in site_course.lessons)
    assert len(log.new) == total and len(notes) == total
    assert deck_names == sorted(["Default", COURSE_TITLE] + [anki.deck_name(COURSE_TITLE, cl) for cl in site_course.lessons])
    for cl in site_course.lessons:
        for term, definition in cl.lesson.cards():
            note = notes[anki.note_guid(cl.lesson.id, term)]
            assert {k: note[k] for k in ("fields", "tags", "decks")} == expected_note(cl, term, definition)


def test_lesson_and_course_packages_share_notes(site_dir, site_course, tmp_path):
    """Importing a lesson deck after the course deck adds nothing: same GUIDs, same deck."""
    collection = tmp_path / "both.anki2"
    import_package(collection, site_dir / site_course.anki_url)
    log, notes, _ = import_package(collection, site_dir / site_course.lessons[0].anki_url)
    assert not log.new
    assert len(notes) == sum(len(cl.lesson.cards()) for cl in site_course.lessons)


def test_edited_definition_reimports_as_an_update_of_the_same_note(tmp_path):
    docs = sitekit.copy_docs(tmp_path, sitekit.FIXTURES / "escaping")
    site = tmp_path / "site"
    course = course_mod.load(docs, course_id="fixture-course")
    anki.write_all(course, site, COURSE_TITLE, "https://example.org/course/", timestamp=1_800_000_000)
    collection = tmp_path / "learner.anki2"
    log, before, _ = import_package(collection, site / "anki" / "beta.apkg")
    assert len(log.new) == 2

    beta = docs / "lessons" / "beta.md"
    old = "Data drift: The input distribution moves away from the training data"
    beta.write_text(beta.read_text().replace(old, "Data drift: Live inputs no longer look like the training set"))
    course = course_mod.load(docs, course_id="fixture-course")
    anki.write_all(course, site, COURSE_TITLE, "https://example.org/course/", timestamp=1_800_000_600)  # a later build
    log, after, _ = import_package(collection, site / "anki" / "beta.apkg")

    guid = anki.note_guid("beta", "Data drift")
    # Anki counts every note of the newer file as updated; nothing is added and the ids are kept.
    assert not log.new and not log.duplicate
    assert {entry.id.nid for entry in log.updated} == {note["id"] for note in before.values()}
    assert len(after) == 2 and after[guid]["id"] == before[guid]["id"]
    assert after[guid]["fields"][1] == "Live inputs no longer look like the training set"
    assert after[guid]["fields"][2] == 'Lesson: <a href="https://example.org/course/lessons/beta/">Watching a model in production</a>'
    other = anki.note_guid("beta", "Concept drift")
    assert after[other] == before[other]


def test_authored_html_is_escaped_and_deck_names_cannot_nest(tmp_path):
    docs = sitekit.copy_docs(tmp_path, sitekit.FIXTURES / "escaping")
    alpha = docs / "lessons" / "alpha.md"
    alpha.write_text(alpha.read_text().replace('title: "Serving <img', 'title: "Serving :: <img'))
    course = course_mod.load(docs, course_id="fixture-course")
    anki.write_all(course, tmp_path / "site", COURSE_TITLE, None)
    _, notes, deck_names = import_package(tmp_path / "c.anki2", tmp_path / "site" / "anki" / "alpha.apkg")
    note = notes[anki.note_guid("alpha", "<img src=x onerror=alert(1)>")]
    assert note["fields"][:2] == ["&lt;img src=x onerror=alert(1)&gt;", "&lt;script&gt;alert(3)&lt;/script&gt; and more"]
    assert note["fields"][2] == "Lesson: Serving :: &lt;img src=x onerror=alert(1)&gt; basics"  # no site_url: no link
    assert deck_names == ["Default", COURSE_TITLE, f"{COURSE_TITLE}::1. Serving : <img src=x onerror=alert(1)> basics"]
