"""Experiment cards and checks in Chromium, on the checked fixture lesson (tests/fixtures/lessons/checked)
built with the widget runtime and served under a sub-path."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import axe_violations, recording_page, serve_under_sub_path
from tests.fixtures.lessons import sitekit

pytestmark = pytest.mark.browser

LESSON = "lessons/beta/"
RUN_MS = 120_000  # a cold Pyodide boot plus three runs on a busy 2-core machine; a limit, not a speed assertion
CARD = ".lesson-experiment[data-experiment]"


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    dest = tmp_path_factory.mktemp("checked-browser")
    site = sitekit.build_fixture_site(dest, "checked", widgets=True)
    with serve_under_sub_path(site, dest / "www") as url:
        yield site, url


@pytest.fixture
def cpage(browser, checked):
    with recording_page(browser, checked[1]) as pg:
        yield pg


def build_values(site) -> list[str]:
    html = (site / LESSON / "index.html").read_text(encoding="utf-8")
    return re.findall(r'<span class="lesson-experiment__values">([^<]*)</span>', html)


def test_experiment_runs_in_the_page_widget_and_matches_the_build(cpage, checked):
    site, url = checked
    cpage.goto(url + LESSON)
    run = cpage.locator(f"{CARD} .lesson-experiment__run")
    run.wait_for(state="visible")
    outcome = cpage.locator(f"{CARD} .lesson-experiment__outcome")
    assert outcome.is_hidden()  # predict first
    assert cpage.locator(f"{CARD} .lesson-experiment__predict").is_visible()
    run.click()
    cpage.wait_for_function("(sel) => document.querySelector(sel).dataset.state === 'ran'", arg=CARD, timeout=RUN_MS)
    assert outcome.is_visible()
    assert cpage.locator(f"{CARD} .lesson-experiment__notice").is_visible()
    live = cpage.locator(f"{CARD} .lesson-experiment__values").all_inner_texts()
    assert live == [text.replace("&nbsp;", "\u00a0") for text in build_values(site)]
    assert cpage.locator(f'{CARD} .lesson-experiment__claim[data-holds="true"]').count() == 2
    assert re.match(r"Computed live in your browser: 2 of 2 claims hold\.", cpage.locator(f"{CARD} .lesson-experiment__status").inner_text())
    # the settings are in the page's widget: controls, URL fragment, focus
    widget = '.course-widget[data-widget="scaling_strategy_simulator"]'
    assert cpage.locator(f'{widget} input[type="number"][name="target_utilization"]').input_value() == "0.9"
    assert "w1.scaling_strategy_simulator=" in cpage.evaluate("location.hash")
    assert cpage.evaluate("(sel) => document.activeElement === document.querySelector(sel)", widget)


def test_experiment_without_a_runtime_says_so_and_keeps_build_values(cpage, checked):
    site, url = checked
    cpage.context.route("**/assets/pyodide/**", lambda route: route.abort())
    cpage.goto(url + LESSON)
    cpage.wait_for_function("() => document.querySelector('.course-widget').dataset.state === 'error'", timeout=RUN_MS)
    cpage.locator(f"{CARD} .lesson-experiment__run").click()
    cpage.wait_for_function("(sel) => document.querySelector(sel).dataset.state === 'error'", arg=CARD, timeout=RUN_MS)
    status = cpage.locator(f"{CARD} .lesson-experiment__status").inner_text()
    assert status.startswith("The experiment could not run (the Python runtime could not load")
    assert cpage.locator(f"{CARD} .lesson-experiment__values").all_inner_texts() == build_values(site)
    assert cpage.locator(f"{CARD} .lesson-experiment__run").is_enabled()


def test_check_uses_the_quiz_interaction_and_is_saved_with_quiz_progress(cpage, checked):
    url = checked[1] + LESSON
    cpage.goto(url)
    form = cpage.locator(".lesson-check[data-check]")
    cpage.wait_for_selector(".lesson-check[data-course-bound]", state="attached")
    check_id = form.get_attribute("data-check")
    form.locator("label").nth(1).click()
    form.locator(".course-quiz__check").click()
    assert form.locator(".course-quiz__verdict").inner_text() == "Not quite. The answer is: The autoscaled fleet."
    assert form.locator(".course-quiz__explain").is_visible()
    saved = json.loads(cpage.evaluate("localStorage.getItem('scaling-course:v1:quiz:beta')"))
    assert saved["checks"] == {check_id: 1}
    # the quiz page keeps the check's answer when it saves its own
    cpage.goto(url + "quiz/")
    cpage.wait_for_selector(".course-quiz[data-course-bound]", state="attached")
    question = cpage.locator(".course-quiz__question").nth(0)
    question.locator("label").nth(0).click()
    question.locator(".course-quiz__check").click()
    saved = json.loads(cpage.evaluate("localStorage.getItem('scaling-course:v1:quiz:beta')"))
    assert saved["checks"] == {check_id: 1} and saved["answers"] == {"0": 0}
    cpage.goto(url)
    cpage.wait_for_selector(".lesson-check[data-course-bound]", state="attached")
    assert form.locator(".course-quiz__verdict").inner_text().startswith("Not quite.")


def test_without_javascript_the_card_shows_build_values(browser, checked):
    site, url = checked
    context = browser.new_context(java_script_enabled=False)
    pg = context.new_page()
    pg.goto(url + LESSON)
    assert pg.locator(f"{CARD} .lesson-experiment__outcome").is_visible()
    assert pg.locator(f"{CARD} .lesson-experiment__run").is_hidden()
    assert pg.locator(f"{CARD} .lesson-experiment__values").all_inner_texts() == build_values(site)
    context.close()


def test_print_shows_the_card_outcome_and_hides_controls(cpage, checked):
    cpage.goto(checked[1] + LESSON)
    cpage.locator(f"{CARD} .lesson-experiment__run").wait_for(state="visible")
    cpage.emulate_media(media="print")
    assert cpage.locator(f"{CARD} .lesson-experiment__outcome").is_visible()
    assert cpage.locator(f"{CARD} .lesson-experiment__run").is_hidden()
    assert cpage.locator(".course-widget .cw-controls").is_hidden()


def test_page_with_cards_has_no_serious_axe_violations(cpage, checked):
    cpage.goto(checked[1] + LESSON)
    cpage.locator(f"{CARD} .lesson-experiment__run").wait_for(state="visible")
    assert axe_violations(cpage) == []


# --- the project's lessons ------------------------------------------------------------------------------

def card_pages(site_dir) -> list[str]:
    """Lesson pages (site-relative) with experiment cards that run in the page's own widget."""
    return sorted(p.parent.relative_to(site_dir).as_posix() + "/" for p in (site_dir / "lessons").rglob("index.html")
                  if "lesson-experiment__run" in p.read_text(encoding="utf-8"))


def test_site_experiment_cards_run_and_match_the_build(page, base_url, site_dir):
    pages = card_pages(site_dir)
    assert pages, "no lesson has an experiment card that runs in its own widget"
    html = (site_dir / pages[0] / "index.html").read_text(encoding="utf-8")
    cards = re.findall(r'<section class="lesson-experiment" data-experiment="(\d+)".*?</section>', html, re.S)
    page.goto(base_url + pages[0])
    for number in cards:
        card = f'.lesson-experiment[data-experiment="{number}"]'
        built = re.search(rf'data-experiment="{number}".*?</section>', html, re.S).group(0)
        if "lesson-experiment__run" not in built:
            continue  # this card links to another lesson
        page.locator(f"{card} .lesson-experiment__run").click()
        page.wait_for_function("(sel) => ['ran', 'error'].includes(document.querySelector(sel).dataset.state)",
                               arg=card, timeout=RUN_MS)
        assert page.get_attribute(card, "data-state") == "ran", page.locator(f"{card} .lesson-experiment__status").inner_text()
        live = page.locator(f"{card} .lesson-experiment__values").all_inner_texts()
        assert live == re.findall(r'<span class="lesson-experiment__values">([^<]*)</span>', built), number
        assert page.locator(f'{card} .lesson-experiment__claim[data-holds="false"]').count() == 0
    assert axe_violations(page) == []
