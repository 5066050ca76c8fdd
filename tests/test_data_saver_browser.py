"""Data saver: with the browser's saveData signal or the reader's setting, the widgets keep their
build-time results and nothing of the Python runtime downloads until "Go live" is pressed."""

from __future__ import annotations

import json

import pytest

from tests.test_widget_runtime_browser import BOOT_MS, wait_state

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("data-saver")]
SAVE_DATA = "Object.defineProperty(navigator, 'connection', {value: {saveData: true}, configurable: true});"


def runtime_requests(urls: list[str]) -> list[str]:
    return [u for u in urls if "/pyodide/" in u or "/widgets_py-" in u or u.endswith("/worker.js")]


def widget_lesson(site_dir) -> dict:
    course = json.loads((site_dir / "course.json").read_text(encoding="utf-8"))
    return next(lesson for lesson in course["lessons"] if lesson.get("widgets"))


def test_save_data_waits_for_go_live(page, base_url, site_dir):
    page.context.add_init_script(SAVE_DATA)
    lesson = widget_lesson(site_dir)
    types = list(dict.fromkeys(w["type"] for w in lesson["widgets"]))
    page.goto(base_url + lesson["url"])
    page.wait_for_load_state("networkidle")
    buttons = page.locator(".course-widget [data-go-live]")
    assert buttons.count() == len(types)
    assert "MB" in buttons.first.inner_text()
    assert runtime_requests(page.seen_requests) == []
    assert page.evaluate("!window.__courseWidgets.worker && !window.__courseWidgets.bootWorker")
    buttons.first.click()
    for wtype in types:
        assert wait_state(page, wtype, timeout=BOOT_MS) == "ready"
    assert page.locator(".course-widget [data-go-live]").count() == 0
    assert runtime_requests(page.seen_requests)


def test_reader_setting_is_kept_and_holds_the_runtime_back(page, base_url, site_dir):
    page.goto(base_url)
    setting = page.locator(".course-saver input[type=checkbox]")
    assert not setting.is_checked()
    setting.check()
    lesson = widget_lesson(site_dir)
    page.goto(base_url + lesson["url"])  # a new page load: the setting comes from storage
    page.wait_for_load_state("networkidle")
    assert page.locator(".course-widget [data-go-live]").count() >= 1
    assert page.locator(".course-saver input[type=checkbox]").is_checked()
    assert runtime_requests(page.seen_requests) == []
