"""The built site opened from disk (file://): everything but live simulation works, with no console
error, and the widgets say how to go live."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import first_search_result, watch_csp

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("offline-browser")]


@pytest.fixture
def disk_page(browser):
    """A page for file:// URLs that records console errors, every request and every Content Security
    Policy violation (the policy is the same as over http)."""
    context = browser.new_context()
    pg = context.new_page()
    pg.csp_violations = watch_csp(context)
    pg.console_errors, pg.seen_requests = [], []
    pg.on("console", lambda msg: msg.type == "error" and pg.console_errors.append(msg.text))
    pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))
    pg.on("request", lambda req: pg.seen_requests.append(req.url))
    yield pg
    context.close()
    assert not pg.console_errors, f"console errors: {pg.console_errors[:5]}"
    assert not pg.csp_violations, f"Content Security Policy violations: {pg.csp_violations[:5]}"
    assert all(u.startswith(("file:", "data:", "blob:", "about:")) for u in pg.seen_requests), pg.seen_requests


def widget_lesson(site_dir) -> dict:
    """course.json's entry of the first lesson with widgets (it has a quiz and flashcards too)."""
    course = json.loads((site_dir / "course.json").read_text(encoding="utf-8"))
    return next(lesson for lesson in course["lessons"] if lesson.get("widgets"))


def on_disk(site_dir, url: str) -> str:
    return (site_dir / url / "index.html").as_uri()


def test_quiz_is_judged_from_disk(disk_page, site_dir):
    disk_page.goto(on_disk(site_dir, widget_lesson(site_dir)["quiz_url"]))
    disk_page.wait_for_selector(".course-quiz[data-course-bound]", state="attached")
    first = disk_page.locator(".course-quiz__question").first
    first.locator("label").first.click()
    first.locator(".course-quiz__check").click()
    assert re.match(r"(Correct\.|Not quite\.)", first.locator(".course-quiz__verdict").inner_text())


def test_flashcard_flips_and_is_scheduled_from_disk(disk_page, site_dir):
    disk_page.goto(on_disk(site_dir, widget_lesson(site_dir)["flashcards_url"]))
    disk_page.wait_for_selector(".course-cards[data-course-bound]", state="attached")
    face = disk_page.locator(".course-cards__face")
    term = face.inner_text()
    disk_page.locator(".course-cards__card").click()
    assert face.inner_text() != term and disk_page.locator(".course-cards__side").text_content() == "Definition"
    disk_page.locator(".course-cards__known").click()
    disk_page.wait_for_function("document.querySelector('.course-cards__status').textContent.includes('next review')")


def test_search_finds_a_lesson_term_and_links_open_pages(disk_page, site_dir):
    disk_page.goto((site_dir / "index.html").as_uri())
    result = first_search_result(disk_page, "autoscaler")
    result.click()
    disk_page.wait_for_load_state()
    # a folder link opens the folder's page, not a directory listing
    assert disk_page.url.startswith("file:") and re.search(r"/index\.html([?#].*)?$", disk_page.url), disk_page.url
    assert disk_page.locator("article h1").count() == 1


def test_widgets_say_how_to_go_live_from_disk(disk_page, site_dir):
    url = widget_lesson(site_dir)["url"]
    disk_page.goto(on_disk(site_dir, url))
    disk_page.wait_for_selector('.course-widget[data-live="file"]', state="attached")
    statuses = disk_page.locator(".course-widget .cw-status").all_inner_texts()
    assert statuses
    folder = str(site_dir)
    for text in statuses:
        assert f'python3 -m http.server 8000 --directory "{folder}"' in text, text
        assert f"http://localhost:8000/{url}index.html" in text, text
    # the build-time results stay, nothing tried to start Python
    assert disk_page.evaluate("!(window.__courseWidgets || {}).worker && !(window.__courseWidgets || {}).workerStarts")
    assert not [u for u in disk_page.seen_requests if "pyodide" in u or u.endswith(".zip")]
