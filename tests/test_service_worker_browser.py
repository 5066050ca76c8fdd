"""Offline after one visit: the service worker under the /course/ sub-path.

The site is served from a copy by a server that is shut down (connections refused) and the browser is
also set offline, so nothing can come from the network."""

from __future__ import annotations

import json
import shutil

import pytest

from hooks.offline import service_worker
from tests.conftest import serve_under_sub_path, site_headers, watch_csp
from tests.test_widget_runtime_browser import BOOT_MS, change_a_control, root_of, wait_state

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("service-worker")]
SAVE_MS = 240_000  # saving ~20 MB on a busy machine; a limit, not a speed assertion


def lessons(site) -> list[dict]:
    return json.loads((site / "course.json").read_text(encoding="utf-8"))["lessons"]


@pytest.fixture
def sw_context(browser):
    context = browser.new_context(service_workers="allow")
    context.console_errors = []
    # pages served by the service worker carry the same policy (its saved responses keep their headers)
    context.csp_violations = watch_csp(context)

    def watch(pg):
        pg.on("console", lambda msg: msg.type == "error" and context.console_errors.append(msg.text))
        pg.on("pageerror", lambda exc: context.console_errors.append(str(exc)))

    context.on("page", watch)
    yield context
    context.close()
    assert not context.csp_violations, f"Content Security Policy violations: {context.csp_violations[:5]}"


def offline_state(page) -> str:
    return page.evaluate("(document.querySelector('.course-offline') || {dataset: {}}).dataset.offline || ''")


def test_course_works_offline_after_one_visit(sw_context, site_dir, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(site_dir, site)
    all_lessons = lessons(site)
    with_widgets = next(lesson for lesson in all_lessons if lesson["url"].endswith("lesson4/"))
    unvisited = next(lesson for lesson in all_lessons if lesson is not with_widgets and lesson["url"] != all_lessons[0]["url"])
    page = sw_context.new_page()
    with serve_under_sub_path(site, tmp_path / "www") as base:
        page.goto(base + with_widgets["url"])
        types = [w["type"] for w in with_widgets["widgets"]]
        for wtype in types:
            wait_state(page, wtype, timeout=BOOT_MS)
        # pages first, then the runtime once the widgets are live
        page.wait_for_function("document.querySelector('.course-offline')?.dataset.offline === 'full'", timeout=SAVE_MS)
        assert "simulators included" in page.locator(".course-offline").inner_text()
    sw_context.set_offline(True)

    page.goto(base + with_widgets["url"])
    for wtype in types:
        assert wait_state(page, wtype, timeout=BOOT_MS) == "ready"
    _, _, before, after = change_a_control(page, types[0])
    assert after["metrics"] != before["metrics"]  # computed by Python in this browser, offline
    assert offline_state(page) == "full"
    # the saved copies keep the host's policy header (the Python worker's only policy)
    policies = page.evaluate("""async (urls) => Promise.all(urls.map(async (u) =>
        (await fetch(u)).headers.get('content-security-policy')))""", ["./", "../../../assets/widgets/worker.js"])
    served = dict(site_headers(site))["Content-Security-Policy"]
    assert policies == [served, served]

    for url in (unvisited["url"], unvisited["quiz_url"], unvisited["flashcards_url"]):
        page.goto(base + url)
        assert unvisited["title"] in page.locator(".md-content").inner_text()
    page.goto(base + "no-such-page/")
    assert page.locator("article h1").inner_text().strip() == "404 - Not found"
    # offline, the browser logs the requests that could not be answered (the 404 page among them);
    # no script error
    assert all(e.startswith("Failed to load resource") for e in sw_context.console_errors), sw_context.console_errors


def test_new_build_is_offered_and_taken_on_reload(sw_context, site_dir, tmp_path):
    old, new = tmp_path / "v1", tmp_path / "v2"
    shutil.copytree(site_dir, old)
    shutil.copytree(site_dir, new)
    home = new / "index.html"
    home.write_text(home.read_text(encoding="utf-8").replace("</article>", '<p id="second-build">Second build.</p></article>', 1),
                    encoding="utf-8")
    first = service_worker.build_manifest(old)["version"]
    second = service_worker.write_service_worker(new)["version"]
    assert first != second
    page = sw_context.new_page()
    with serve_under_sub_path(old, tmp_path / "www") as base:
        page.goto(base)
        page.wait_for_function("['pages', 'full'].includes(document.querySelector('.course-offline')?.dataset.offline)",
                               timeout=SAVE_MS)
        page.reload()  # controlled by the first version's worker now
        assert page.evaluate("Boolean(navigator.serviceWorker.controller)")
        link = tmp_path / "www" / "course"
        link.unlink()
        link.symlink_to(new, target_is_directory=True)  # the new deployment
        page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
        page.wait_for_selector(".course-update button", timeout=SAVE_MS)
        assert page.locator("#second-build").count() == 0  # nothing of the new build before the reload
        with page.expect_navigation():
            page.click(".course-update button")
        page.wait_for_selector("#second-build", state="attached")
        caches = page.evaluate("caches.keys()")
        assert [c for c in caches if c.startswith("course-offline-")] == [f"course-offline-{second}"]
    assert sw_context.console_errors == []
