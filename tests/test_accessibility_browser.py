"""Accessibility of the built site in Chromium, under its Content Security Policy: axe-core with every
impact on every page, light and dark, phone and desktop widths; the widgets in each of their states."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import axe_violations, recording_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("a11y")]

WIDGET_LESSON = "lessons/ai-builder-ch4/ai-builder-ch4-lesson4/"
BOOT_MS = 90_000  # a cold Pyodide boot on a busy 2-core machine; a limit, not a speed assertion
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def site_pages(site: Path) -> list[str]:
    """Every page of the site as a path relative to its root ("" for the home page). Not 404.html:
    MkDocs writes it with root-absolute links for a server's error page, so under the tests' sub-path
    it loads without its style sheets and scripts."""
    out = []
    for path in sorted(site.rglob("index.html")):
        rel = path.parent.relative_to(site).as_posix()
        if rel.split("/")[0] in ("assets", "search"):
            continue
        out.append("" if rel == "." else rel + "/")
    return out


def widget_pages(site: Path) -> list[str]:
    return [p for p in site_pages(site) if p.endswith("/") and 'class="course-widget"' in
            (site / p / "index.html").read_text(encoding="utf-8")]


@pytest.mark.parametrize("scheme,viewport", [("light", DESKTOP), ("dark", DESKTOP), ("light", PHONE), ("dark", PHONE)],
                         ids=["light-desktop", "dark-desktop", "light-390", "dark-390"])
def test_every_page_has_no_axe_violation(page_factory, base_url, site_dir, scheme, viewport):
    pg = page_factory(color_scheme=scheme, viewport=viewport)
    # The Python runtime is not needed for the page sweep (the widget states are checked below):
    # refusing it keeps the machine free and shows each widget's error state to axe.
    pg.context.route("**/assets/pyodide/**", lambda route: route.abort())
    pg.expect_console_errors = True  # the refused runtime is reported in the console
    pages = site_pages(site_dir)
    assert "tags/" in pages and any(p.endswith("/quiz/") for p in pages) and any(p.endswith("/flashcards/") for p in pages)
    found = {}
    for path in pages:
        pg.goto(base_url + path)
        pg.wait_for_load_state("load")
        scheme_now = pg.evaluate("document.body.getAttribute('data-md-color-scheme')")
        assert scheme_now == ("slate" if scheme == "dark" else "default"), path
        violations = axe_violations(pg)
        if violations:
            found[path] = violations
    assert found == {}
    assert pg.csp_violations == []


def wait_widgets(pg, states, timeout=BOOT_MS) -> None:
    pg.wait_for_function(
        "(states) => [...document.querySelectorAll('.course-widget[data-widget]')].every((r) => states.includes(r.dataset.state))",
        arg=list(states), timeout=timeout,
    )


@pytest.mark.parametrize("scheme,viewport", [("dark", PHONE), ("light", DESKTOP)], ids=["dark-390", "light-desktop"])
def test_widgets_have_no_axe_violation_in_any_state(browser, base_url, site_dir, scheme, viewport):
    assert WIDGET_LESSON in widget_pages(site_dir)
    url = base_url + WIDGET_LESSON
    # The data tables (thousands of cells, slow to audit) are checked in full as built and after a
    # change redraws them; the states in between leave them untouched.
    tables = ".cw-table-scroll"
    options = {"color_scheme": scheme, "viewport": viewport}

    with recording_page(browser, base_url, **options) as static:
        # the widgets never go live (and the runtime is not started for nothing)
        static.context.route("**/assets/widgets/widgets.js", lambda route: route.abort())
        static.context.route("**/assets/pyodide/**", lambda route: route.abort())
        static.expect_console_errors = True
        static.goto(url)
        static.wait_for_load_state("load")
        assert set(static.evaluate("[...document.querySelectorAll('.course-widget')].map((r) => r.dataset.state)")) == {"static"}
        assert axe_violations(static, ".md-content") == [], "static"

    with recording_page(browser, base_url, **options) as broken:
        broken.context.route("**/assets/pyodide/**", lambda route: route.abort())
        broken.expect_console_errors = True
        broken.goto(url)
        wait_widgets(broken, ["error"])
        assert axe_violations(broken, ".md-content", tables) == [], "error"

    with recording_page(browser, base_url, **options) as pg:
        pg.goto(url, wait_until="domcontentloaded")
        wait_widgets(pg, ["loading", "ready"], timeout=20_000)
        assert axe_violations(pg, ".md-content", tables) == [], "loading"
        wait_widgets(pg, ["ready"])
        assert axe_violations(pg, ".md-content", tables) == [], "ready"
        # a control change in every widget: the scenario menu moves to its second scenario
        for menu in pg.locator('.course-widget select[data-role="scenario"]').all():
            menu.select_option(index=1)
        pg.wait_for_function(
            "() => [...document.querySelectorAll('.course-widget')].every((r) => r.dataset.state === 'ready' &&"
            " [...r.querySelectorAll('.cw-chart-view')].some((v) => v.dataset.view === 'live'))", timeout=BOOT_MS)
        assert axe_violations(pg, ".md-content") == [], "after a change"
