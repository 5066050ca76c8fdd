"""Reader-side behaviour in headless Chromium: quiz, flashcards, notes, video facade, escaping and
accessibility. Fixture-site tests serve tests/fixtures/lessons (with the escaping lesson) under a
/course/ sub-path; real-site tests use the conftest ``page`` on the project's built site."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import axe_violations, serve_under_sub_path, watch_csp
from tests.fixtures.lessons import sitekit

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("lessons-browser")]
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def fixture_url(tmp_path_factory) -> str:
    dest = tmp_path_factory.mktemp("browser-fixture")
    site = sitekit.build_fixture_site(dest, "escaping")
    with serve_under_sub_path(site, dest / "www") as url:
        yield url


@pytest.fixture
def fpage(browser, fixture_url):
    """Like conftest's ``page`` but for the fixture site: records requests, console errors and
    dialogs; fails if a request leaves the origin."""
    context = browser.new_context(service_workers="block")
    pg = context.new_page()
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(fixture_url))
    pg.seen_requests, pg.console_errors, pg.dialogs = [], [], []
    pg.on("request", lambda req: pg.seen_requests.append(req.url))
    pg.on("console", lambda msg: msg.type == "error" and pg.console_errors.append(msg.text))
    pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))
    pg.on("dialog", lambda dialog: (pg.dialogs.append(dialog.message), dialog.dismiss()))
    pg.csp_violations = watch_csp(context)
    yield pg
    foreign = [u for u in pg.seen_requests if not u.startswith(origin + "/") and not u.startswith(("data:", "blob:", "about:"))]
    context.close()
    assert not foreign, f"requests left the origin {origin}: {foreign[:5]}"
    assert not pg.csp_violations, f"Content Security Policy violations: {pg.csp_violations[:5]}"


def open_bound(pg, url: str, selector: str) -> None:
    pg.goto(url)
    pg.wait_for_selector(f"{selector}[data-course-bound]", state="attached")


def answer(pg, question: int, option: int) -> None:
    fieldset = pg.locator(".course-quiz__question").nth(question)
    fieldset.locator("label").nth(option).click()
    fieldset.locator(".course-quiz__check").click()


def verdict(pg, question: int) -> str:
    return pg.locator(".course-quiz__question").nth(question).locator(".course-quiz__verdict").inner_text()


def test_quiz_feedback_score_and_memory(fpage, fixture_url):
    url = fixture_url + "lessons/beta/quiz/"
    open_bound(fpage, url, ".course-quiz")
    first = fpage.locator(".course-quiz__question").nth(0)
    assert first.locator(".course-quiz__explain").is_hidden()
    answer(fpage, 0, 0)  # right
    assert verdict(fpage, 0) == "Correct."
    assert first.locator(".course-quiz__explain").inner_text() == "Drift is about the inputs moving away from what the model was trained on."
    answer(fpage, 1, 2)  # wrong
    assert verdict(fpage, 1) == "Not quite. The answer is: Accuracy."
    assert fpage.locator(".course-quiz__score").inner_text() == "Quiz complete: 1 of 2 correct."

    open_bound(fpage, url, ".course-quiz")
    assert verdict(fpage, 0) == "Correct."
    assert verdict(fpage, 1) == "Not quite. The answer is: Accuracy."
    assert fpage.locator(".course-quiz__question").nth(1).locator("input").nth(2).is_checked()
    assert fpage.locator(".course-quiz__score").inner_text() == "Quiz complete: 1 of 2 correct."

    fpage.locator(".course-quiz__retry").click()
    assert verdict(fpage, 0) == ""
    assert fpage.locator(".course-quiz__score").inner_text() == "Score: 0 of 2 (0 answered)."
    open_bound(fpage, url, ".course-quiz")
    assert verdict(fpage, 0) == ""
    assert fpage.console_errors == []


def test_quiz_is_keyboard_usable(fpage, fixture_url):
    open_bound(fpage, fixture_url + "lessons/beta/quiz/", ".course-quiz")
    fpage.locator(".course-quiz__question").nth(0).locator("input").nth(0).focus()
    fpage.keyboard.press("ArrowDown")  # radio group: arrows move the choice to option 2
    fpage.keyboard.press("Tab")  # to "Check answer"
    fpage.keyboard.press("Enter")
    assert verdict(fpage, 0) == "Not quite. The answer is: A change in the input distribution."
    # The verdict sits in a live region and takes focus, so screen readers announce it.
    assert fpage.evaluate("document.activeElement.className").startswith("course-quiz__verdict")
    assert fpage.locator(".course-quiz__question").nth(0).locator(".course-quiz__feedback").get_attribute("aria-live") == "polite"


@pytest.mark.parametrize(
    "stored",
    ['{not json', '[1, 2, 3]', '{"version": "stale", "answers": {"0": 1}}', '{"version": "%s", "answers": {"0": 99, "7": 1, "x": "y"}}'],
)
def test_corrupt_or_stale_storage_is_ignored(fpage, fixture_url, stored):
    url = fixture_url + "lessons/beta/quiz/"
    open_bound(fpage, url, ".course-quiz")
    version = fpage.locator(".course-quiz").get_attribute("data-quiz-version")
    fpage.evaluate(
        "([k, v]) => { localStorage.setItem(k, v); localStorage.setItem('scaling-course:v1:cards:beta', '{{{'); localStorage.setItem('scaling-course:v1:notes:beta', 'null'); }",
        ["scaling-course:v1:quiz:beta", stored.replace("%s", version)],
    )
    open_bound(fpage, url, ".course-quiz")
    assert verdict(fpage, 0) == ""
    answer(fpage, 0, 0)
    assert verdict(fpage, 0) == "Correct."
    open_bound(fpage, fixture_url + "lessons/beta/flashcards/", ".course-cards")
    assert fpage.locator(".course-cards__face").inner_text() == "Data drift"
    open_bound(fpage, fixture_url + "lessons/beta/", ".course-notes")
    assert fpage.locator(".course-notes").input_value() == ""
    assert fpage.console_errors == []


def test_flashcards_flip_navigate_mark_and_remember(fpage, fixture_url):
    url = fixture_url + "lessons/beta/flashcards/"
    open_bound(fpage, url, ".course-cards")
    face = fpage.locator(".course-cards__face")
    assert face.inner_text() == "Data drift"
    fpage.locator(".course-cards__card").click()
    assert face.inner_text() == "The input distribution moves away from the training data"
    fpage.locator("h1").click()  # focus off the buttons: Space on the page flips
    fpage.keyboard.press("Space")
    assert face.inner_text() == "Data drift"
    fpage.locator(".course-cards__card").focus()
    fpage.keyboard.press("Space")  # Space on the focused card flips it once
    assert face.inner_text() == "The input distribution moves away from the training data"
    fpage.locator(".course-cards__next").click()
    assert face.inner_text() == "Concept drift"
    assert fpage.locator(".course-cards__position").inner_text() == "Card 2 of 2"
    fpage.locator(".course-cards__prev").click()
    assert face.inner_text() == "Data drift"

    fpage.locator(".course-cards__known").click()
    status = fpage.locator(".course-cards__status")
    fpage.wait_for_function("document.querySelector('.course-cards__status').textContent.startsWith('Marked known')")
    assert "next review" in status.inner_text()  # scheduled by ts-fsrs
    saved = fpage.evaluate("JSON.parse(localStorage.getItem('scaling-course:v1:cards:beta'))")
    assert saved["cards"]["Data drift"]["mark"] == "known"
    assert saved["cards"]["Data drift"]["fsrs"]["reps"] == 1

    open_bound(fpage, url, ".course-cards")
    # The known card is not due yet, so the due card comes first; the mark is remembered.
    assert face.inner_text() == "Concept drift"
    assert fpage.locator(".course-cards__summary").inner_text().startswith("Known: 1 · Again: 0")
    fpage.locator(".course-cards__next").click()
    assert status.inner_text().startswith("Marked known; next review in")
    fpage.locator(".course-cards__shuffle").click()
    assert fpage.locator(".course-cards__position").inner_text() == "Card 1 of 2"
    assert fpage.console_errors == []


def test_notes_are_saved(fpage, fixture_url):
    url = fixture_url + "lessons/beta/"
    open_bound(fpage, url, ".course-notes")
    fpage.locator(".course-notes").fill("Alert on drift, not on every blip.")
    fpage.wait_for_function("document.querySelector('.course-notes__status').textContent === 'Saved in this browser.'")
    open_bound(fpage, url, ".course-notes")
    assert fpage.locator(".course-notes").input_value() == "Alert on drift, not on every blip."


def test_video_facade_loads_nothing_before_click_and_explains_offline(fpage, fixture_url):
    open_bound(fpage, fixture_url + "lessons/alpha/", ".course-video")
    assert fpage.locator("iframe").count() == 0
    assert not any("youtube" in u for u in fpage.seen_requests)
    fpage.context.set_offline(True)
    fpage.locator(".course-video__play").click()
    assert fpage.locator("iframe").count() == 0
    assert "offline" in fpage.locator(".course-video__status").inner_text()
    assert fpage.locator(".course-video__link").get_attribute("href") == "https://www.youtube.com/watch?v=8x8R2aJx0a0&t=30s"


def test_authored_html_renders_as_text(fpage, fixture_url):
    for path, selector in (("lessons/alpha/", ".course-notes"), ("lessons/alpha/quiz/", ".course-quiz"), ("lessons/alpha/flashcards/", ".course-cards"), ("", "main")):
        fpage.goto(fixture_url + path)
        fpage.wait_for_load_state("load")
        assert fpage.locator("img[src='x']").count() == 0, path
        assert fpage.locator("article script").count() == 0, path
    open_bound(fpage, fixture_url + "lessons/alpha/", ".course-notes")
    assert fpage.locator("h1").inner_text() == f"Serving {XSS} basics"
    open_bound(fpage, fixture_url + "lessons/alpha/quiz/", ".course-quiz")
    assert fpage.locator(".course-quiz__question").nth(0).locator("label").nth(1).inner_text().strip() == XSS
    answer(fpage, 0, 0)
    assert fpage.locator(".course-quiz__question").nth(0).locator(".course-quiz__explain").inner_text() == f"Because {XSS}"
    open_bound(fpage, fixture_url + "lessons/alpha/flashcards/", ".course-cards")
    fpage.locator(".course-cards__prev").click()  # the last card
    assert fpage.locator(".course-cards__face").inner_text() == XSS
    fpage.locator(".course-cards__card").click()
    assert fpage.locator(".course-cards__face").inner_text() == "<script>alert(3)</script> and more"
    assert fpage.dialogs == []
    assert fpage.locator("img[src='x']").count() == 0


def test_instant_navigation_binds_each_page_once(fpage, fixture_url):
    open_bound(fpage, fixture_url + "lessons/beta/", ".course-notes")
    fpage.locator(".lesson-header a", has_text="Quiz").click()  # material's instant navigation
    fpage.wait_for_selector(".course-quiz[data-course-bound]", state="attached")
    assert fpage.evaluate("performance.getEntriesByType('navigation').length") == 1  # no full reload
    answer(fpage, 1, 1)
    assert verdict(fpage, 1) == "Correct."
    assert fpage.locator(".course-quiz__score").inner_text() == "Score: 1 of 2 (1 answered)."
    assert fpage.console_errors == []


@pytest.mark.parametrize("path", ["lessons/alpha/", "lessons/alpha/quiz/", "lessons/alpha/flashcards/", "", "tags/"])
def test_fixture_pages_have_no_axe_violations(fpage, fixture_url, path):
    fpage.goto(fixture_url + path)
    fpage.wait_for_load_state("load")
    assert axe_violations(fpage) == []


# --- the project's built site -----------------------------------------------------------------

LESSON = "lessons/ai-builder-ch4/ai-builder-ch4-lesson4/"


def test_site_quiz_answer_is_remembered(page, base_url):
    url = base_url + LESSON + "quiz/"
    open_bound(page, url, ".course-quiz")
    correct = int(page.locator(".course-quiz__question").nth(0).get_attribute("data-answer"))
    answer(page, 0, correct)
    assert verdict(page, 0) == "Correct."
    assert page.locator(".course-quiz__score").inner_text().startswith("Score: 1 of ")
    open_bound(page, url, ".course-quiz")
    assert verdict(page, 0) == "Correct."
    assert page.console_errors == []
