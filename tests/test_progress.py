"""The progress model and its schema, the course index the browser reads, and the static HTML of the
dashboard and review page (plain Python and the built site; no browser)."""

from __future__ import annotations

import html
import json
import re

import pytest
from pydantic import ValidationError

from hooks.lessons import course as course_mod
from hooks.lessons import progress, progress_pages, schema_json
from tests.conftest import ROOT
from tests.fixtures.lessons import sitekit

SCHEMA_FILE = ROOT / "docs" / "schema" / "progress.schema.json"
CARD = {"due": "2026-12-04T08:00:00.000Z", "stability": 2.3, "difficulty": 5.1, "elapsed_days": 0, "scheduled_days": 1,
        "learning_steps": 0, "reps": 1, "lapses": 0, "state": 2, "last_review": "2026-12-03T08:00:00.000Z"}
LOG = {"rating": 3, "state": 0, "due": "2026-12-03T08:00:00.000Z", "stability": 0, "difficulty": 0, "elapsed_days": 0,
       "last_elapsed_days": 0, "scheduled_days": 0, "learning_steps": 0, "review": "2026-12-03T08:00:00.000Z"}


def sample() -> dict:
    return {
        "schema_version": 1, "course_id": "scaling-ai-systems", "exported_at": "2026-12-03T09:00:00.000Z",
        "lessons": {"beta": {
            "visit": {"first": "2026-12-01T08:00:00.000Z", "last": "2026-12-03T08:00:00.000Z", "page": "lesson", "section": "what-to-watch"},
            "quiz": {"version": "0123456789ab", "answers": {"0": 1}, "answered": {"0": "2026-12-03T08:00:00.000Z"}},
            "cards": {"version": "0123456789ab", "cards": {"Data drift": {"mark": "known", "due": CARD["due"], "fsrs": CARD, "log": [LOG]}}},
            "review": {"version": "0123456789ab", "items": {"quiz-0": {"fsrs": CARD, "log": [LOG]}}},
            "notes": {"text": "Alert on drift.", "saved": "2026-12-03T08:00:00.000Z"},
        }},
    }


def test_committed_progress_schema_matches_the_model():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_json.render("progress.schema.json"), (
        "run: make schema (python -m hooks.lessons.schema_json docs/schema/progress.schema.json)")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["required"] == ["schema_version", "course_id", "exported_at", "lessons"]
    assert schema["properties"]["schema_version"]["const"] == progress.SCHEMA_VERSION
    assert set(schema["$defs"]["LessonProgress"]["properties"]) == set(progress.KINDS)


def test_schema_cli_names_the_files_it_knows(tmp_path, capsys):
    assert schema_json.main([str(tmp_path / "progress.schema.json")]) == 0
    assert (tmp_path / "progress.schema.json").read_text() == SCHEMA_FILE.read_text()
    assert schema_json.main([str(tmp_path / "other.json")]) == 2
    assert "file names: lesson.schema.json, chapter.schema.json, progress.schema.json" in capsys.readouterr().err


def test_model_accepts_a_full_file_and_refuses_wrong_shapes():
    progress.ProgressFile.model_validate_json(json.dumps(sample()))
    for path, value in [
        (("schema_version",), 2),
        (("lessons", "beta", "quiz", "answers"), {"first": 1}),
        (("lessons", "beta", "review", "items"), {"check-7": {"fsrs": CARD}}),
        (("lessons", "beta", "cards", "cards", "Data drift", "mark"), "maybe"),
        (("lessons", "beta", "notes", "colour"), "red"),
        (("lessons", "Not An Id"), {}),
    ]:
        data = sample()
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(ValidationError):
            progress.ProgressFile.model_validate_json(json.dumps(data))


@pytest.fixture
def course(tmp_path):
    return course_mod.load(sitekit.copy_docs(tmp_path, sitekit.FIXTURES / "escaping"), course_id="fixture-course")


def test_course_index_lists_questions_cards_and_relative_urls(course):
    index = progress.course_index(course, "review/")
    assert index["course_id"] == "fixture-course" and index["schema_version"] == 1
    beta = index["lessons"][1]
    assert beta["id"] == "beta" and beta["url"] == "../lessons/beta/" and beta["quiz_url"] == "../lessons/beta/quiz/"
    assert beta["quiz"] == {"version": progress.quiz_version(course.get("beta").lesson), "answers": [0, 1]}
    assert beta["cards"]["terms"] == ["Data drift", "Concept drift"]


def test_review_page_escapes_authored_text_and_holds_every_item(course):
    page = progress_pages.review_page(course, "review/")
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "&lt;script&gt;alert(3)&lt;/script&gt; and more" in page
    assert page.count('data-key="quiz-') == sum(len(cl.lesson.quiz) for cl in course.lessons)
    assert 'data-href="../lessons/alpha/quiz/#question-1"' in page
    attr = re.search(r'data-course-index="([^"]*)"', page).group(1)
    assert json.loads(html.unescape(attr)) == progress.course_index(course, "review/")
    schema = json.loads(html.unescape(re.search(r'data-progress-schema="([^"]*)"', page).group(1)))
    assert schema == schema_json.schema("progress.schema.json")


def test_static_home_shows_the_plain_map_and_the_review_page_is_in_the_navigation(site_dir):
    home = (site_dir / "index.html").read_text(encoding="utf-8")
    dashboard = re.search(r'<section class="course-dashboard"[^>]*>', home).group(0)
    assert " hidden" in dashboard  # shown by the browser only, from stored progress
    assert 'class="course-map__progress"' not in home
    review = (site_dir / "review" / "index.html").read_text(encoding="utf-8")
    assert 'href="review/"' in home and "input type=\"file\" accept=\".json,application/json\" data-progress-import" in review
    assert "data-progress-export" in review and "data-progress-export" in home
    first = json.loads((site_dir / "course.json").read_text())["lessons"][0]["url"]
    lesson = (site_dir / first / "index.html").read_text(encoding="utf-8")
    assert 'class="lesson-progress"' in lesson and "data-progress-reset" in lesson
    for text in (home, review, lesson):
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", text.split("md-content")[1].split("</article>")[0])
