"""Learner progress in headless Chromium on the project's built site: the dashboard, the review queue
with wrong answers, the progress file (export, import, merge, refusal of bad files), reset, and
storage that the browser refuses."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from hooks.lessons.progress import ProgressFile
from tests.conftest import axe_violations
from tests.test_lessons_browser import open_bound

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("progress-browser")]

LESSON = "ai-builder-ch4-lesson2"
OTHER = "ai-builder-ch4-lesson3"
WITH_CHECKS = "ai-builder-ch4-lesson1"
PREFIX = "scaling-course:v1:"


@pytest.fixture(scope="module")
def urls(site_dir) -> dict:
    """Site-relative page URLs by lesson id, from course.json."""
    return {lesson["id"]: lesson for lesson in json.loads((site_dir / "course.json").read_text())["lessons"]}


@pytest.fixture
def page(page, urls):
    page.urls = urls
    return page


def quiz(pg, base_url, lesson=LESSON):
    open_bound(pg, base_url + pg.urls[lesson]["quiz_url"], ".course-quiz")
    return [int(q.get_attribute("data-answer")) for q in pg.locator(".course-quiz__question").all()]


def answer(pg, question: int, option: int) -> None:
    fieldset = pg.locator(".course-quiz__question").nth(question)
    fieldset.locator("label").nth(option).click()
    fieldset.locator(".course-quiz__check").click()


def wrong(correct: int) -> int:
    return 0 if correct else 1


def mark_cards(pg, base_url, marks: list[str], lesson=LESSON) -> None:
    open_bound(pg, base_url + pg.urls[lesson]["flashcards_url"], ".course-cards")
    for mark in marks:
        before = pg.locator(".course-cards__summary").inner_text()
        pg.locator(f".course-cards__{mark}").click()
        pg.wait_for_function("(b) => document.querySelector('.course-cards__summary').textContent !== b", arg=before)
        pg.locator(".course-cards__next").click()


def write_note(pg, base_url, text: str, lesson=LESSON) -> None:
    open_bound(pg, base_url + pg.urls[lesson]["url"], ".course-notes")
    pg.locator(".course-notes").fill(text)
    pg.wait_for_function("document.querySelector('.course-notes__status').textContent === 'Saved in this browser.'")


def stored(pg) -> dict:
    return pg.evaluate(f"""() => Object.fromEntries(Object.keys(localStorage).filter((k) => k.startsWith('{PREFIX}'))
        .map((k) => [k.slice({len(PREFIX)}), JSON.parse(localStorage.getItem(k))]))""")


def open_review(pg, base_url) -> None:
    open_bound(pg, base_url + "review/", ".course-review")


def export(pg, where: str = "[data-progress-export]") -> tuple[str, dict]:
    with pg.expect_download() as download:
        pg.locator(where).first.click()
    path = download.value.path()
    return download.value.suggested_filename, json.loads(open(path, encoding="utf-8").read())


def import_file(pg, tmp_path, data, name="progress.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    status = pg.locator(".course-progress-file__status").last
    before = status.inner_text()
    pg.locator("input[data-progress-import]").set_input_files(str(path))
    pg.wait_for_function("([el, b]) => el.textContent !== b", arg=[status.element_handle(), before])
    return status.inner_text()


def test_wrong_answer_comes_back_in_review_and_grading_reschedules_it(page, base_url):
    answers = quiz(page, base_url)
    answer(page, 0, answers[0])  # right: not a review item
    answer(page, 1, wrong(answers[1]))
    open_review(page, base_url)
    assert page.locator(".course-review__counts").inner_text() == "Due now: 1 item (0 cards, 1 question)."
    assert "1 question" in page.locator(".course-review__lessons").inner_text()
    question = page.locator(".course-review__question").inner_text()
    page.goto(base_url + page.urls[LESSON]["quiz_url"])
    assert question in page.locator("#question-2 legend").inner_text()
    open_review(page, base_url)

    page.keyboard.press(str(answers[1] + 1))  # keyboard: the digit chooses the option
    assert page.locator(".course-review__verdict").inner_text() == "Correct."
    assert page.locator(".course-review__feedback a").get_attribute("href").endswith(page.urls[LESSON]["quiz_url"] + "#question-2")
    page.wait_for_selector(".course-review__next-due")
    review = stored(page)[f"review:{LESSON}"]
    item = review["items"]["quiz-1"]
    assert item["fsrs"]["reps"] == 1 and [log["rating"] for log in item["log"]] == [3]  # Good
    page.keyboard.press("Space")
    empty = page.locator(".course-review__empty")
    assert re.match(r"Done for now\. Nothing is due now\. The next item is due in \d+ min", empty.inner_text())

    open_review(page, base_url)  # rescheduled: not due any more
    assert page.locator(".course-review__counts").inner_text() == "Nothing is due now."
    assert page.locator(".course-review__session").is_hidden()
    assert page.console_errors == []


def test_wrong_check_in_the_lesson_text_comes_back_in_review(page, base_url):
    open_bound(page, base_url + page.urls[WITH_CHECKS]["url"], ".lesson-check")
    n_checks = page.locator(".lesson-check").count()
    form = page.locator(".lesson-check").first
    key = form.get_attribute("data-check")
    correct = int(form.locator(".course-quiz__question").get_attribute("data-answer"))
    text = form.locator("legend").inner_text()
    form.locator("label").nth(wrong(correct)).click()
    form.locator(".course-quiz__check").click()
    assert page.locator(".lesson-progress__summary").inner_text()  # bound on this page
    open_review(page, base_url)
    assert page.locator(".course-review__counts").inner_text() == "Due now: 1 item (0 cards, 1 question)."
    assert page.locator(".course-review__question").inner_text() in text
    page.locator(".course-review__option").nth(wrong(correct)).click()  # wrong again: Again
    assert page.locator(".course-review__verdict").inner_text().startswith("Not quite.")
    assert page.locator(".course-review__feedback a").get_attribute("href").endswith(page.urls[WITH_CHECKS]["url"] + f"#check-{key}")
    page.wait_for_selector(".course-review__next-due")
    item = stored(page)[f"review:{WITH_CHECKS}"]["items"][f"check-{key}"]
    assert [log["rating"] for log in item["log"]] == [1]

    page.goto(base_url)
    page.wait_for_selector(".course-dashboard[data-course-bound]", state="attached")
    line = page.locator(f'.course-map__lesson[data-lesson-id="{WITH_CHECKS}"] .course-map__progress').inner_text()
    assert f"Checks in the text: 1 of {n_checks} answered" in line
    assert page.console_errors == []


def test_cards_are_reviewed_by_keyboard_with_four_grades(page, base_url):
    mark_cards(page, base_url, ["again"])  # FSRS: due again in a minute
    open_review(page, base_url)
    assert page.locator(".course-review__counts").inner_text() == "Nothing is due now."
    assert re.match(r"Nothing is due now\. The next item is due in 1 min", page.locator(".course-review__empty").inner_text())
    page.clock.set_system_time(datetime.now() + timedelta(minutes=5))
    open_review(page, base_url)
    assert page.locator(".course-review__counts").inner_text() == "Due now: 1 item (1 card, 0 questions)."
    term = page.locator(".course-review__face").inner_text()
    page.keyboard.press("Space")
    assert page.locator(".course-review__side").inner_text() == "Definition"
    assert page.locator(".course-review__face").inner_text() != term
    assert page.locator(".course-review__grade").all_inner_texts() == ["1 Again", "2 Hard", "3 Good", "4 Easy"]
    page.keyboard.press("4")
    page.wait_for_selector(".course-review__empty:not([hidden])")
    card = stored(page)[f"cards:{LESSON}"]["cards"][term]
    assert card["mark"] == "known" and [log["rating"] for log in card["log"]] == [1, 4]
    assert page.console_errors == []


def test_dashboard_counts_match_what_was_done(page, base_url):
    page.clock.install(time=datetime(2026, 12, 3, 12, 0))  # noon: reviews due in minutes are due today
    page.goto(base_url)
    page.wait_for_selector(".course-dashboard[data-course-bound]", state="attached")
    assert "Start with the first lesson" in page.locator(".course-dashboard__continue").inner_text()
    answers = quiz(page, base_url)
    answer(page, 0, answers[0])
    answer(page, 1, wrong(answers[1]))
    answer(page, 2, answers[2])
    mark_cards(page, base_url, ["known", "known", "again"])
    write_note(page, base_url, "Batch when nobody waits.")
    page.mouse.wheel(0, 1500)  # read on: the section under the fold becomes the place to continue
    page.wait_for_function(f"JSON.parse(localStorage.getItem('{PREFIX}visit:{LESSON}')).section !== ''")
    section = stored(page)[f"visit:{LESSON}"]["section"]

    header = page.locator(".lesson-progress__summary")
    page.reload()
    page.wait_for_selector(".lesson-progress[data-course-bound]", state="attached")
    n_questions = len(answers)
    n_cards = page.evaluate("(id) => JSON.parse(document.querySelector('.lesson-progress').dataset.courseIndex).lessons.find((l) => l.id === id).cards.terms.length", LESSON)
    parts = header.inner_text().removeprefix("Your progress: ").split(" · ")
    assert parts[0] == f"Quiz: 2 of {n_questions} correct (3 answered)"
    n_checks = page.locator('.lesson-check').count()
    checks_part = [f"Checks in the text: 0 of {n_checks} answered"] if n_checks else []
    assert [p for p in parts if p.startswith("Checks")] == checks_part
    assert parts[-3:] == [f"Cards: 2 of {n_cards} known, 3 due today", "1 question to review today", "Notes: 4 words"]

    page.goto(base_url)
    page.wait_for_selector(".course-dashboard[data-course-bound]", state="attached")
    assert page.locator(".course-dashboard").is_visible()
    line = page.locator(f'.course-map__lesson[data-lesson-id="{LESSON}"] .course-map__progress')
    map_parts = line.inner_text().split(" · ")
    assert map_parts[:2] == ["Visited", f"Quiz: 2 of {n_questions} correct (3 answered)"]
    assert [p for p in map_parts if p.startswith("Checks")] == checks_part
    assert any(p.startswith(f"Cards: 2 of {n_cards} known") for p in map_parts)
    other = page.locator(f'.course-map__lesson[data-lesson-id="{OTHER}"] .course-map__progress')
    assert other.inner_text().startswith("Not visited yet · Quiz: 0 of")
    assert page.locator(".course-dashboard__due").inner_text() == "1 item due now"  # the wrong answer; cards come back in minutes
    cont = page.locator(".course-dashboard__continue a")
    assert cont.inner_text().startswith("Continue: ")
    assert cont.get_attribute("href") == page.urls[LESSON]["url"] + f"#{section}"
    assert page.locator(".course-dashboard__review").get_attribute("href").endswith("/course/review/")
    assert page.console_errors == []


def test_export_clear_import_restores_everything_and_twice_changes_nothing(page, base_url, tmp_path):
    answers = quiz(page, base_url)
    answer(page, 0, wrong(answers[0]))
    answer(page, 1, answers[1])
    mark_cards(page, base_url, ["known", "again"])
    write_note(page, base_url, "Queue before you scale.")
    open_review(page, base_url)
    page.keyboard.press(str(answers[0] + 1))  # graded Good: a review state with a log
    page.wait_for_selector(".course-review__next-due")
    before = stored(page)

    name, data = export(page)
    assert re.fullmatch(r"scaling-ai-systems-progress-\d{4}-\d{2}-\d{2}\.json", name)
    ProgressFile.model_validate_json(json.dumps(data))  # the file matches the model the schema comes from
    assert data["schema_version"] == 1 and data["course_id"] == "scaling-ai-systems"
    assert set(data["lessons"][LESSON]) == {"visit", "quiz", "cards", "review", "notes"}

    page.evaluate("localStorage.clear()")
    open_review(page, base_url)
    assert page.locator(".course-review__counts").inner_text() == "Nothing is due now."
    message = import_file(page, tmp_path, data)
    assert message.startswith("Imported progress.json: ")
    after = stored(page)
    assert {k: v for k, v in after.items() if not k.startswith("visit:")} == {k: v for k, v in before.items() if not k.startswith("visit:")}
    assert after[f"visit:{LESSON}"] == before[f"visit:{LESSON}"]

    assert import_file(page, tmp_path, data, "again.json") == "Nothing new in again.json: this browser already holds all of it."
    assert stored(page) == after
    open_bound(page, base_url + page.urls[LESSON]["url"], ".course-notes")
    assert page.locator(".course-notes").input_value() == "Queue before you scale."
    assert page.console_errors == []


def test_import_merges_later_review_wins_and_both_notes_are_kept(page, base_url, tmp_path):
    answers = quiz(page, base_url)
    answer(page, 0, wrong(answers[0]))
    mark_cards(page, base_url, ["again"])
    write_note(page, base_url, "Written here.")
    page.goto(base_url)
    page.wait_for_selector(".course-dashboard[data-course-bound]", state="attached")
    _, data = export(page)
    local = stored(page)
    term, card = next(iter(local[f"cards:{LESSON}"]["cards"].items()))

    # Another browser: the same card reviewed later (Good), another answer, another note.
    later = dict(card, mark="known", fsrs=dict(card["fsrs"], last_review="2099-01-01T00:00:00.000Z", reps=2),
                 log=card["log"] + [dict(card["log"][0], rating=3, review="2099-01-01T00:00:00.000Z")])
    lesson = data["lessons"][LESSON]
    lesson["cards"]["cards"][term] = later
    lesson["quiz"]["answers"]["0"] = answers[0]
    lesson["quiz"]["answered"]["0"] = "2099-01-01T00:00:00.000Z"
    lesson["notes"] = {"text": "Written elsewhere.", "saved": "2099-01-01T00:00:00.000Z"}
    message = import_file(page, tmp_path, data)
    assert message.startswith("Imported")
    merged = stored(page)
    assert merged[f"cards:{LESSON}"]["cards"][term]["fsrs"]["reps"] == 2
    assert [log["rating"] for log in merged[f"cards:{LESSON}"]["cards"][term]["log"]] == [1, 3]
    assert merged[f"quiz:{LESSON}"]["answers"]["0"] == answers[0]
    note = merged[f"notes:{LESSON}"]["text"]
    assert note.startswith("Written here.") and note.endswith("Written elsewhere.") and "imported note" in note

    older = json.loads(json.dumps(data))
    older["lessons"][LESSON]["quiz"]["answers"]["0"] = wrong(answers[0])
    older["lessons"][LESSON]["quiz"]["answered"]["0"] = "2000-01-01T00:00:00.000Z"
    older["lessons"][LESSON]["notes"] = {"text": "Written elsewhere.", "saved": "2000-01-01T00:00:00.000Z"}
    assert import_file(page, tmp_path, older, "older.json").startswith("Nothing new in older.json")
    assert stored(page) == merged
    assert page.console_errors == []


BAD_FILES = {
    "truncated": ('{"schema_version": 1, "course_id": "scaling-ai-systems", "lessons": {', "it is not complete JSON"),
    "not-progress": ('{"hello": "world"}', "it is not a progress file"),
    "foreign": ({"schema_version": 1, "course_id": "another-course", "exported_at": "2026-12-01T00:00:00Z", "lessons": {}}, "it belongs to another course"),
    "future": ({"schema_version": 2, "course_id": "scaling-ai-systems", "exported_at": "2026-12-01T00:00:00Z", "lessons": {}}, "newer version of the course site (format 2"),
    "schema": ({"schema_version": 1, "course_id": "scaling-ai-systems", "exported_at": "2026-12-01T00:00:00Z",
                "lessons": {LESSON: {"notes": {"text": 5, "saved": "2026-12-01T00:00:00Z"}}}}, f"lessons.{LESSON}.notes.text"),
    "unknown-lesson": ({"schema_version": 1, "course_id": "scaling-ai-systems", "exported_at": "2026-12-01T00:00:00Z",
                        "lessons": {"no-such-lesson": {}}}, 'lesson "no-such-lesson" is not part of this course'),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_changes_nothing_and_says_why(page, base_url, tmp_path, case):
    answers = quiz(page, base_url)
    answer(page, 0, wrong(answers[0]))
    open_review(page, base_url)
    before = stored(page)
    content, reason = BAD_FILES[case]
    message = import_file(page, tmp_path, content)
    assert message.startswith("Not imported: ") and reason in message and message.endswith("Nothing was changed.")
    assert "\n" not in message
    assert stored(page) == before
    assert page.locator(".course-progress-file__status").last.get_attribute("class").endswith("is-error")
    assert page.console_errors == []


def test_reset_asks_first_offers_export_and_clears_only_that_lesson(page, base_url):
    answers = quiz(page, base_url)
    answer(page, 0, wrong(answers[0]))
    other = quiz(page, base_url, OTHER)
    answer(page, 0, other[0])
    write_note(page, base_url, "Keep me until reset.")
    page.locator("[data-progress-reset]").click()
    dialog = page.locator(".lesson-progress__dialog")
    assert dialog.is_visible()
    _, data = export(page, ".lesson-progress__dialog [data-progress-export]")
    assert data["lessons"][LESSON]["notes"]["text"] == "Keep me until reset."
    page.locator(".lesson-progress__cancel").click()
    assert f"quiz:{LESSON}" in stored(page)

    page.locator("[data-progress-reset]").click()
    with page.expect_navigation():
        page.locator(".lesson-progress__confirm").click()
    page.wait_for_selector(".course-notes[data-course-bound]", state="attached")
    left = stored(page)
    assert not any(key.endswith(f":{LESSON}") and not key.startswith("visit:") for key in left)
    assert f"quiz:{OTHER}" in left
    assert page.locator(".course-notes").input_value() == ""
    assert page.console_errors == []


STORAGE_DISABLED = """Object.defineProperty(window, 'localStorage', {configurable: true, get() { throw new DOMException('The operation is insecure.', 'SecurityError'); }});"""
STORAGE_FULL = """Storage.prototype.setItem = function () { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };"""


@pytest.mark.parametrize("script", [STORAGE_DISABLED, STORAGE_FULL], ids=["disabled", "full"])
def test_without_storage_everything_works_for_the_session_with_a_notice(page, base_url, script):
    page.add_init_script(script)
    # mkdocs-material's own palette script reads localStorage unguarded; that error is not ours.
    page.expect_console_errors = True
    answers = quiz(page, base_url)
    notice = page.locator(".course-storage-notice")
    assert "will not be kept" in notice.inner_text()
    answer(page, 1, wrong(answers[1]))
    assert page.locator(".course-quiz__score").inner_text().startswith("Score: 0 of")
    # Instant navigation keeps the page session: the wrong answer is in the review.
    page.locator(".md-nav__link", has_text="Review").first.click()
    page.wait_for_selector(".course-review[data-course-bound]", state="attached")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert page.locator(".course-review__counts").inner_text() == "Due now: 1 item (0 cards, 1 question)."
    assert "will not be kept" in notice.inner_text()
    page.keyboard.press(str(answers[1] + 1))
    assert page.locator(".course-review__verdict").inner_text() == "Correct."
    with page.expect_download() as download:
        page.locator("[data-progress-export]").click()
    data = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert data["lessons"][LESSON]["quiz"]["answers"] == {"1": wrong(answers[1])}
    assert set(page.console_errors) <= {"The operation is insecure."}


def test_full_storage_keeps_what_was_stored_before(page, base_url, tmp_path):
    answers = quiz(page, base_url)
    answer(page, 0, answers[0])
    open_review(page, base_url)
    _, data = export(page)
    before = stored(page)
    data["lessons"][OTHER] = {"notes": {"text": "From elsewhere", "saved": "2026-12-01T00:00:00.000Z"}}
    data["lessons"][LESSON]["quiz"]["answers"]["1"] = wrong(answers[1])
    data["lessons"][LESSON]["quiz"]["answered"]["1"] = "2026-12-01T00:00:00.000Z"
    # The import writes this lesson's answers, then the other lesson's notes, which hit the quota:
    # the answers already written are put back as they were.
    page.evaluate("""(full) => { const set = Storage.prototype.setItem;
        Storage.prototype.setItem = function (k, v) { if (k === full) throw new DOMException('full', 'QuotaExceededError'); return set.call(this, k, v); }; }""",
        f"{PREFIX}notes:{OTHER}")
    message = import_file(page, tmp_path, data)
    assert "for this session only" in message
    assert stored(page) == before
    assert page.locator(".course-storage-notice").is_visible()
    # This page session still sees the import (the wrong answer is due); storage is as it was.
    assert page.locator(".course-review__counts").inner_text() == "Due now: 1 item (0 cards, 1 question)."


@pytest.mark.parametrize("path", ["", "review/", LESSON])
def test_progress_pages_have_no_axe_violations_with_progress(page, base_url, path):
    answers = quiz(page, base_url)
    answer(page, 0, wrong(answers[0]))
    page.goto(base_url + page.urls.get(path, {"url": path})["url"])
    page.wait_for_selector("[data-course-bound]", state="attached")
    assert axe_violations(page) == []  # every impact, with due items and counts shown
