"""Accessibility of the built site in Chromium, under its Content Security Policy: axe-core with every
impact on every page, light and dark, phone and desktop widths; the widgets in each of their states."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import axe_violations, recording_page
from tests.test_data_saver_browser import SAVE_DATA

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("a11y")]

# together they hold every widget type (the test checks)
WIDGET_LESSONS = ["lessons/ai-builder-ch4/ai-builder-ch4-lesson4/", "lessons/ai-builder-ch4/ai-builder-ch4-lesson5/"]
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
    assert {"", "tags/", "review/", "lessons/ai-builder-ch4/"} <= set(pages)
    assert any(p.endswith("/quiz/") for p in pages) and any(p.endswith("/flashcards/") for p in pages)
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


def widget_states(pg) -> set[str]:
    return set(pg.evaluate("[...document.querySelectorAll('.course-widget')].map((r) => r.dataset.state)"))


def audit(pg, label: str, exclude: str | None = None) -> None:
    violations = axe_violations(pg, ".md-content", exclude)
    assert violations == [], f"{label}: {violations}"


def change_every_scenario_menu(pg) -> None:
    """A control change in every widget: its scenario menu moves to the next scenario (wait until each
    widget shows a live result of it)."""
    pg.evaluate("window.__before = [...document.querySelectorAll('.course-widget [data-metric]')].map((e) => e.textContent).join('|')")
    for menu in pg.locator('.course-widget select[data-role="scenario"]').all():
        menu.select_option(index=1)
    pg.wait_for_function(
        "() => [...document.querySelectorAll('.course-widget')].every((r) => r.dataset.state === 'ready' &&"
        " [...r.querySelectorAll('.cw-chart-view')].some((v) => v.dataset.view === 'live')) &&"
        " [...document.querySelectorAll('.course-widget [data-metric]')].map((e) => e.textContent).join('|') !== window.__before",
        timeout=BOOT_MS)


# Buttons are pressed with the keyboard: a mouse would stay where it clicked, and axe would then judge
# whatever the next page shows under the pointer in its hover colours.
def download_first_chart_data(pg) -> str:
    with pg.expect_download() as download:
        pg.locator(".course-widget button.cw-download >> visible=true").first.press("Enter")
    return download.value.suggested_filename


@pytest.mark.parametrize("scheme,viewport", [("dark", PHONE), ("light", DESKTOP)], ids=["dark-390", "light-desktop"])
def test_widgets_have_no_axe_violation_in_any_state(browser, base_url, site_dir, scheme, viewport):
    # every widget type, on two lessons (the second is reached by instant navigation: one Python boot)
    types = {t for page in widget_pages(site_dir) for t in re.findall(r'data-widget="([a-z_]+)" data-state',
             (site_dir / page / "index.html").read_text(encoding="utf-8"))}
    covered = [re.findall(r'data-widget="([a-z_]+)" data-state', (site_dir / page / "index.html").read_text(encoding="utf-8"))
               for page in WIDGET_LESSONS]
    assert {t for found in covered for t in found} == types and len(types) == 3
    # The data tables (thousands of cells, slow to audit) are checked in full as built and after a
    # change redraws them; the states in between leave them untouched.
    tables = ".cw-table-scroll"
    options = {"color_scheme": scheme, "viewport": viewport}

    with recording_page(browser, base_url, **options) as static:
        # data saver: the widgets keep the build-time view and wait for "Go live"
        static.context.add_init_script(SAVE_DATA)
        for lesson, found in zip(WIDGET_LESSONS, covered):
            static.goto(base_url + lesson)
            static.wait_for_function("(n) => document.querySelectorAll('.course-widget [data-go-live]').length === n", arg=len(found))
            assert widget_states(static) == {"static"}
            audit(static, f"static {lesson}")
        assert not [u for u in static.seen_requests if "/pyodide/" in u]

    with recording_page(browser, base_url, **options) as broken:
        broken.context.route("**/assets/pyodide/**", lambda route: route.abort())
        broken.expect_console_errors = True
        for lesson in WIDGET_LESSONS:
            broken.goto(base_url + lesson)
            wait_widgets(broken, ["error"])
            audit(broken, f"error {lesson}", tables)
        # a chart's data as CSV without the runtime: the pre-rendered data file, under the policy
        assert download_first_chart_data(broken).endswith(".csv")

    with recording_page(browser, base_url, **options) as pg:
        pg.goto(base_url + WIDGET_LESSONS[0], wait_until="domcontentloaded")
        wait_widgets(pg, ["loading", "ready"], timeout=20_000)
        audit(pg, "loading", tables)
        wait_widgets(pg, ["ready"])
        audit(pg, "ready", tables)
        change_every_scenario_menu(pg)
        audit(pg, "after a control change")
        assert download_first_chart_data(pg).endswith(".csv")
        # an experiment card loads its settings into the page's widget and runs them with a baseline
        card = pg.locator(".lesson-experiment[data-experiment]", has=pg.locator(".lesson-experiment__run")).first
        card.locator(".lesson-experiment__run").press("Enter")
        pg.wait_for_function("(c) => c.dataset.state === 'ran'", arg=card.element_handle(), timeout=BOOT_MS)
        wait_widgets(pg, ["ready"])
        audit(pg, "after an experiment", tables)
        # the other lesson by instant navigation: the same worker, so no second boot
        pg.evaluate("(end) => [...document.querySelectorAll('a[href]')].find((a) => a.href.endsWith(end)).click()",
                    WIDGET_LESSONS[1].split("/")[-2] + "/")
        pg.wait_for_function("(types) => [...document.querySelectorAll('.course-widget')].map((r) => r.dataset.widget).join() === types",
                             arg=",".join(covered[1]))
        wait_widgets(pg, ["ready"])
        change_every_scenario_menu(pg)
        audit(pg, "after a control change, second lesson")
        assert pg.evaluate("window.__courseWidgets.workerStarts") == 1
