"""Keyboard only, on the built site: the quiz, the checks in a lesson and the flashcards are reached with
Tab in reading order, used with Enter, Space and the arrow keys, and show where the focus is. No mouse
event is sent in these tests (no click, no hover)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("keyboard")]

# the focused element's look: it must differ from its unfocused look (outline, ring, colours)
_LOOK = """(el) => { const s = getComputedStyle(el);
  return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor, s.color, s.borderColor].join('|'); }"""
SETTLE_MS = 300  # the theme's colour transitions take 125-250 ms


def widget_lesson(site_dir) -> dict:
    """course.json's entry of a lesson with checks in its text, a quiz and flashcards."""
    course = json.loads((site_dir / "course.json").read_text(encoding="utf-8"))
    return next(lesson for lesson in course["lessons"]
                if '<form class="lesson-check"' in (site_dir / lesson["url"] / "index.html").read_text(encoding="utf-8"))


def focused(pg, selector: str) -> bool:
    return pg.evaluate("(sel) => !!document.activeElement && document.activeElement.matches(sel)", selector)


def tab_to(pg, selector: str, limit: int) -> list[str]:
    """Press Tab until the focus is on ``selector`` (at most ``limit`` times); the elements passed."""
    passed = []
    for _ in range(limit):
        pg.keyboard.press("Tab")
        if focused(pg, selector):
            return passed
        passed.append(pg.evaluate("document.activeElement.outerHTML.slice(0, 80)"))
    pytest.fail(f"{selector} not reached with {limit} Tab presses; passed {passed[-5:]}")


def assert_focus_visible(pg) -> None:
    """The focused element matches :focus-visible and looks different from when it is not focused."""
    pg.wait_for_timeout(SETTLE_MS)
    element = pg.evaluate_handle("document.activeElement")
    assert element.evaluate("(el) => el.matches(':focus-visible')"), element.evaluate("(el) => el.outerHTML.slice(0, 80)")
    with_focus = element.evaluate(_LOOK)
    element.evaluate("(el) => el.blur()")
    pg.wait_for_timeout(SETTLE_MS)
    without = element.evaluate(_LOOK)
    element.evaluate("(el) => el.focus()")
    assert with_focus != without, f"no visible focus on {element.evaluate('(el) => el.outerHTML.slice(0, 80)')}: {with_focus}"


def skip_to_content(pg) -> None:
    """The first Tab stop is the theme's skip link; Enter moves the reading position to the content."""
    pg.keyboard.press("Tab")
    assert focused(pg, "a.md-skip")
    assert_focus_visible(pg)
    target = pg.evaluate("document.querySelector('a.md-skip').hash")
    pg.keyboard.press("Enter")
    # the next Tab starts from the target only once the fragment navigation is done (a Tab pressed
    # before it, on a loaded machine, went on from the skip link into the header)
    pg.wait_for_function("(hash) => location.hash === hash", arg=target)
    pg.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def test_quiz_by_keyboard(page, base_url, site_dir):
    url = base_url + widget_lesson(site_dir)["quiz_url"]
    page.goto(url)
    page.wait_for_selector(".course-quiz[data-course-bound]", state="attached")
    questions = page.locator(".course-quiz__question")
    skip_to_content(page)
    tab_to(page, ".course-quiz__question:nth-child(1) input[type=radio]", limit=5)
    assert_focus_visible(page)
    page.keyboard.press("Space")  # the first option
    page.keyboard.press("ArrowDown")  # arrows move the choice within the question
    assert questions.nth(0).locator("input").nth(1).is_checked()
    page.keyboard.press("Tab")  # the options are one stop: next comes "Check answer"
    assert focused(page, ".course-quiz__question:nth-child(1) .course-quiz__check")
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    verdict = questions.nth(0).locator(".course-quiz__verdict")
    assert verdict.inner_text().startswith(("Correct.", "Not quite."))
    assert focused(page, ".course-quiz__question:nth-child(1) .course-quiz__verdict")  # announced, and reading goes on from here

    # the next question comes next in the tab order (after any link in the explanation)
    tab_to(page, ".course-quiz__question:nth-child(2) input[type=radio]", limit=4)
    page.keyboard.press("ArrowDown")  # with no choice yet, the arrow chooses the next option
    page.keyboard.press("Tab")
    assert focused(page, ".course-quiz__question:nth-child(2) .course-quiz__check")
    page.keyboard.press("Space")
    assert questions.nth(1).locator(".course-quiz__verdict").inner_text().startswith(("Correct.", "Not quite."))
    assert "(2 answered)" in page.locator(".course-quiz__score").inner_text()

    tab_to(page, ".course-quiz__retry", limit=8 * questions.count())
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    assert verdict.inner_text() == ""
    assert focused(page, ".course-quiz__question:nth-child(1) input[type=radio]")  # back at the start


def test_check_in_the_lesson_by_keyboard(page, base_url, site_dir):
    lesson = widget_lesson(site_dir)
    page.goto(base_url + lesson["url"])
    page.wait_for_selector(".lesson-check[data-course-bound]", state="attached")
    skip_to_content(page)
    tab_to(page, ".lesson-check input[type=radio]", limit=300)
    check_id = page.evaluate("document.activeElement.closest('.lesson-check').dataset.check")
    check = page.locator(f'.lesson-check[data-check="{check_id}"]')
    assert_focus_visible(page)
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('.course-quiz__check') && !!document.activeElement.closest('.lesson-check')")
    page.keyboard.press("Enter")
    assert check.locator(".course-quiz__verdict").inner_text().startswith(("Correct.", "Not quite."))
    page.reload()
    page.wait_for_selector(".lesson-check[data-course-bound]", state="attached")
    assert check.locator("input").first.is_checked()  # kept with the lesson's quiz progress


def test_flashcards_by_keyboard(page, base_url, site_dir):
    page.goto(base_url + widget_lesson(site_dir)["flashcards_url"])
    page.wait_for_selector(".course-cards[data-course-bound]", state="attached")
    side = page.locator(".course-cards__side")
    face = page.locator(".course-cards__face")
    skip_to_content(page)
    tab_to(page, ".course-cards__card", limit=8)
    assert_focus_visible(page)
    term = face.inner_text()
    page.keyboard.press("Enter")
    assert side.text_content() == "Definition" and face.inner_text() != term
    page.keyboard.press("Space")  # one flip per press, not two (the button's click and the page's key)
    assert side.text_content() == "Term" and face.inner_text() == term
    # the buttons follow the card in the order they are shown
    for name in ("prev", "next", "shuffle", "known", "again"):
        page.keyboard.press("Tab")
        assert focused(page, f".course-cards__{name}"), name
        assert_focus_visible(page)
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # Known
    page.wait_for_function("document.querySelector('.course-cards__status').textContent.startsWith('Marked known')")
    for _ in range(2):  # back past Shuffle
        page.keyboard.press("Shift+Tab")
    assert focused(page, ".course-cards__next")
    page.keyboard.press("Space")
    assert page.locator(".course-cards__position").inner_text().startswith("Card 2 of")
    assert face.inner_text() != term
