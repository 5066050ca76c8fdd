"""The widgets on phones and for every reader (issue 14): small-screen layout, the keyboard path with the
announced result, reduced motion, forced colours, 200 % zoom and axe at all impacts, in light and dark.

Viewports: 390 x 844 (a phone), 320 and 768 for horizontal overflow, 1280 x 900 for the desktop layout.
200 % zoom is a 1280 px window at 200 %: a 640 px CSS viewport at device scale factor 2.
"""

from __future__ import annotations

import contextlib
import json

import pytest

from tests.conftest import axe_violations, recording_page

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WIDGET_PAGES = {  # the lesson page that hosts each widget
    "scaling_strategy_simulator": "lessons/ai-builder-ch4/ai-builder-ch4-lesson4/",
    "distributed_training_lab": "lessons/ai-builder-ch4/ai-builder-ch4-lesson2/",
    "cost_performance_dashboard": "lessons/ai-builder-ch4/ai-builder-ch4-lesson5/",
}
SCALING = "scaling_strategy_simulator"
BOOT_MS = 90_000  # a cold Pyodide boot on a busy 2-core machine; a limit, not a speed assertion
DATA_SAVER = ("localStorage.setItem('scaling-course:v1:settings:data-saver', JSON.stringify({on: true}))")
# what a reader can press or type into (the scrollable table regions are focusable but no targets)
TARGETS = "button, select, input, summary, a[href]"


@contextlib.contextmanager
def widget_page(browser, base_url, wtype=SCALING, *, viewport=PHONE, scheme="light", static=False, **options):
    """The page hosting ``wtype``; ``static``: under data saver, so the widget keeps its build-time view."""
    with recording_page(browser, base_url, viewport=viewport, color_scheme=scheme, **options) as pg:
        if static:
            pg.add_init_script(DATA_SAVER)
        pg.goto(base_url + WIDGET_PAGES[wtype])
        pg.wait_for_load_state("load")
        yield pg


def root(wtype: str) -> str:
    return f'.course-widget[data-widget="{wtype}"]'


def wait_state(pg, wtype: str, states=("ready",)) -> None:
    pg.wait_for_function("([sel, states]) => states.includes(document.querySelector(sel).dataset.state)",
                         arg=[root(wtype), list(states)], timeout=BOOT_MS)


def bound(pg, wtype: str) -> None:
    """The controller has bound the controls (the runtime may still be booting)."""
    pg.wait_for_function("(sel) => !document.querySelector(sel + ' .cw-dock-toggle').disabled",
                         arg=root(wtype), timeout=BOOT_MS)


def scroll_to_widget(pg, wtype: str) -> float:
    """Scroll the widget's top just below the page header; returns the header's bottom edge."""
    return pg.evaluate(
        """(sel) => {
          const header = document.querySelector('.md-header').getBoundingClientRect().bottom;
          const el = document.querySelector(sel);
          window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - header);
          return header;
        }""", root(wtype))


def rect(pg, selector: str) -> dict:
    return pg.evaluate("(s) => { const r = document.querySelector(s).getBoundingClientRect();"
                       " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,"
                       " width: r.width, height: r.height}; }", selector)


def small_targets(pg, wtype: str) -> list[str]:
    """Visible targets of the widget smaller than 44 x 44 px (a checkbox counts with its label)."""
    return pg.evaluate(
        """([sel, targets]) => [...document.querySelector(sel).querySelectorAll(targets)]
          .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
          .map((el) => {
            const label = el.type === 'checkbox' && el.labels && el.labels[0];
            const r = (label || el).getBoundingClientRect();
            return [el.outerHTML.slice(0, 80), Math.round(r.width), Math.round(r.height)];
          })
          .filter(([, w, h]) => w < 44 || h < 44)
          .map(([html, w, h]) => `${html} ${w}x${h}`)""", [root(wtype), TARGETS])


def overflow(pg) -> int:
    return pg.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def site_pages(site_dir) -> list[str]:
    rels = (p.parent.relative_to(site_dir).as_posix() for p in site_dir.rglob("index.html") if "assets" not in p.parts)
    return sorted("" if rel == "." else rel + "/" for rel in rels)


# --- layout -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("width", [320, 390, 768])
def test_no_page_scrolls_horizontally(browser, base_url, site_dir, width):
    pages = site_pages(site_dir)
    assert len(pages) >= 10
    with recording_page(browser, base_url, viewport={"width": width, "height": 800}) as pg:
        pg.add_init_script(DATA_SAVER)  # static widgets: the layout is the same, without 10 MB of Python
        wide = []
        for path in pages:
            pg.goto(base_url + path)
            pg.wait_for_load_state("load")
            pg.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
            if overflow(pg) > 0:
                wide.append(f"{path or 'home'}: {overflow(pg)} px too wide")
    assert wide == [], wide


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("wtype", list(WIDGET_PAGES))
def test_phone_first_screen_shows_the_comparison(browser, base_url, wtype, scheme):
    with widget_page(browser, base_url, wtype, scheme=scheme, static=True) as pg:
        header = scroll_to_widget(pg, wtype)
        compact = root(wtype) + " .cw-compact"
        box = rect(pg, compact)
        assert box["height"] > 60 and header <= box["top"] and box["bottom"] <= PHONE["height"], box
        if wtype == SCALING:  # strategies as rows; p95, within SLO and cost as columns
            heads = pg.locator(compact + " thead th").all_inner_texts()
            assert heads == ["p95", "Within SLO", "Cost"]
            assert pg.locator(compact + " tbody th").all_inner_texts() == ["Vertical", "Fixed", "Autoscaled"]
        else:
            assert 4 <= pg.locator(compact + " dd").count() <= 6
        # the compact numbers are the widget's own, the full set one tap away
        for cell in pg.locator(compact + " [data-compact-metric]").all():
            name = cell.get_attribute("data-compact-metric")
            full = pg.locator(f'{root(wtype)} dd[data-metric="{name}"]')
            assert full.text_content() == cell.text_content()
        metrics = pg.locator(root(wtype) + " dl.cw-metrics")
        assert not metrics.is_visible()
        # the result's sentence and the Controls button are on the first screen too
        assert pg.locator(root(wtype) + " .cw-live-summary").text_content().strip()
        toggle = rect(pg, root(wtype) + " .cw-dock-toggle")
        assert toggle["bottom"] <= PHONE["height"], toggle
        more = pg.locator(root(wtype) + " details.cw-more > summary")
        assert more.is_visible() and more.bounding_box()["y"] + 44 <= PHONE["height"]
        more.click()
        assert metrics.is_visible()
        # however long the page above grew, the dock stays at the bottom of the screen
        toggle = rect(pg, root(wtype) + " .cw-dock-toggle")
        assert toggle["bottom"] <= PHONE["height"], toggle
        assert overflow(pg) <= 0
        assert axe_violations(pg, root(wtype)) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_desktop_layout_keeps_every_number_and_control_in_view(browser, base_url, scheme):
    with widget_page(browser, base_url, viewport=DESKTOP, scheme=scheme, static=True) as pg:
        sel = root(SCALING)
        assert pg.locator(sel + " dl.cw-metrics").is_visible()
        assert pg.locator(sel + " dl.cw-metrics dd").count() == 12
        for hidden in (".cw-compact", ".cw-more", ".cw-dock-toggle"):
            assert not pg.locator(sel + " " + hidden).is_visible(), hidden
        assert pg.locator(sel + " fieldset.cw-controls").is_visible()
        assert pg.locator(sel + " .cw-live-summary").is_visible()
        assert pg.evaluate("(s) => getComputedStyle(document.querySelector(s + ' .cw-dock')).position", sel) == "static"
        # charts one per row at the column's width
        boxes = [f.bounding_box() for f in pg.locator(sel + " figure.cw-chart").all()]
        assert len({round(b["x"]) for b in boxes}) == 1 and all(b["width"] > 500 for b in boxes)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_touch_targets_and_charts(browser, base_url, scheme):
    with widget_page(browser, base_url, scheme=scheme) as pg:
        bound(pg, SCALING)
        sel = root(SCALING)
        pg.click(sel + " .cw-dock-toggle")
        pg.evaluate("(s) => document.querySelectorAll(s + ' details').forEach((d) => { d.open = true; })", sel)
        assert small_targets(pg, SCALING) == []
        # charts: full width, one per row, the narrow picture (legend below the plot) at about its own size
        width = pg.evaluate("(s) => document.querySelector(s + ' .cw-charts').clientWidth", sel)
        for figure in pg.locator(sel + " .cw-chart-view").all():
            box = figure.bounding_box()
            assert abs(box["width"] - width) <= 2, box
        img = pg.locator(sel + " .cw-chart-view img").first
        assert "charts/" in img.evaluate("(e) => e.currentSrc")
        natural = img.evaluate("(e) => e.naturalWidth")
        assert natural <= 400 and img.bounding_box()["width"] >= 0.8 * natural  # text drawn near its size
        assert overflow(pg) <= 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_dock_stays_in_view_and_a_change_shows_without_scrolling(browser, base_url, scheme):
    with widget_page(browser, base_url, scheme=scheme) as pg:
        wait_state(pg, SCALING)
        sel = root(SCALING)
        header = pg.evaluate("document.querySelector('.md-header').getBoundingClientRect().bottom")
        # read the charts: the dock follows, just below the page header
        pg.evaluate("(s) => { const f = document.querySelector(s + ' figure.cw-chart:nth-child(2)');"
                    " window.scrollTo(0, f.getBoundingClientRect().top + scrollY - 300); }", sel)
        pg.wait_for_timeout(100)
        dock = rect(pg, sel + " .cw-dock")
        assert abs(dock["top"] - header) <= 2, (dock, header)
        toggle = pg.locator(sel + " .cw-dock-toggle")
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        panel = rect(pg, sel + " fieldset.cw-controls")
        assert panel["top"] >= header and panel["bottom"] <= PHONE["height"] * 0.75, panel
        before_scroll = pg.evaluate("scrollY")
        summary = pg.locator(sel + " .cw-live-summary")
        before = summary.text_content()
        field = pg.locator(sel + ' input[name="price_per_hour"]')
        field.evaluate("(e) => { e.closest('details').open = true; }")
        field.scroll_into_view_if_needed()  # inside the panel, which scrolls by itself
        field.fill("0.5")
        field.press("Enter")
        pg.wait_for_function("([s, old]) => document.querySelector(s).textContent !== old",
                             arg=[sel + " .cw-live-summary", before], timeout=30_000)
        assert pg.evaluate("scrollY") == before_scroll
        assert summary.is_visible() and rect(pg, sel + " .cw-live-summary")["top"] >= header
        # and a chart is in view below the panel
        panel = rect(pg, sel + " fieldset.cw-controls")
        views = pg.evaluate("(s) => [...document.querySelectorAll(s + ' .cw-chart-view')].map((v) => {"
                            " const r = v.getBoundingClientRect(); return [r.top, r.bottom]; })", sel)
        assert any(top < PHONE["height"] and bottom > panel["bottom"] for top, bottom in views)
        # Escape folds the panel and returns to the button
        field.press("Escape")
        assert toggle.get_attribute("aria-expanded") == "false"
        assert pg.evaluate("document.activeElement.classList.contains('cw-dock-toggle')")


# --- keyboard and the announced result --------------------------------------------------------------

def tab_to(pg, predicate: str, limit: int = 250) -> None:
    """Press Tab until ``predicate`` (a JS expression about ``el``, the focused element) holds."""
    for _ in range(limit):
        pg.keyboard.press("Tab")
        if pg.evaluate(f"(() => {{ const el = document.activeElement; return Boolean({predicate}); }})()"):
            return
    pytest.fail(f"Tab never reached {predicate}")


def focus_is_visible(pg) -> bool:
    return pg.evaluate("""(() => {
      const el = document.activeElement, s = getComputedStyle(el);
      return el.matches(':focus-visible') && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
    })()""")


@pytest.mark.parametrize("viewport,scheme", [(DESKTOP, "light"), (PHONE, "dark")])
def test_keyboard_path_through_a_widget_announces_the_result(browser, base_url, viewport, scheme):
    with widget_page(browser, base_url, viewport=viewport, scheme=scheme, accept_downloads=True) as pg:
        wait_state(pg, SCALING)
        sel = root(SCALING)
        live = pg.locator(sel + " [aria-live]")
        assert live.count() == 2  # the result sentence, and the status line (role=status)
        summary = pg.locator(sel + " .cw-live-summary")
        assert summary.get_attribute("aria-live") == "polite"
        pg.evaluate("""(s) => {
          const el = document.querySelector(s);
          window.liveChanges = 0;
          new MutationObserver(() => { window.liveChanges += 1; }).observe(el, {childList: true, characterData: true, subtree: true});
        }""", sel + " .cw-live-summary")
        pg.locator(sel + " .cw-title").evaluate("(e) => { e.tabIndex = -1; e.focus(); }")  # start of the widget
        # the scenario menu first: change it with the keyboard
        tab_to(pg, "el.dataset.role === 'scenario'")
        assert focus_is_visible(pg)
        before = summary.text_content()
        scenario = pg.evaluate("document.activeElement.value")
        pg.keyboard.press("ArrowDown")
        assert pg.evaluate("document.activeElement.value") != scenario
        pg.wait_for_function("([s, old]) => document.querySelector(s).textContent !== old",
                             arg=[sel + " .cw-live-summary", before], timeout=30_000)
        if viewport is PHONE:  # the parameters sit behind the dock's button
            tab_to(pg, "el.classList.contains('cw-dock-toggle')")
            assert focus_is_visible(pg)
            pg.keyboard.press("Enter")
        # a slider, moved by arrow keys in a burst: one announcement once the results settle
        tab_to(pg, "el.type === 'range'")
        assert focus_is_visible(pg)
        before = summary.text_content()
        pg.evaluate("window.liveChanges = 0")
        for _ in range(4):
            pg.keyboard.press("ArrowRight")
        pg.wait_for_function("([s, old]) => document.querySelector(s).textContent !== old",
                             arg=[sel + " .cw-live-summary", before], timeout=30_000)
        pg.wait_for_timeout(1500)
        assert pg.evaluate("window.liveChanges") == 1
        text = summary.text_content()
        assert text.startswith("Autoscaled: p95 ") and "within SLO" in text
        # the announced numbers are the ones on screen
        cost = pg.locator(sel + ' dd[data-metric="autoscaled.cost_usd"]').text_content()
        assert cost in text
        # table view and downloads, by keyboard, with visible focus
        tab_to(pg, "el.matches('details.cw-table > summary')")
        assert focus_is_visible(pg)
        pg.keyboard.press("Enter")
        assert pg.evaluate("document.activeElement.parentElement.open")
        pg.keyboard.press("Tab")
        assert pg.evaluate("document.activeElement.classList.contains('cw-table-scroll')")
        assert focus_is_visible(pg)
        tab_to(pg, "el.matches('button.cw-download')")
        assert focus_is_visible(pg)
        with pg.expect_download() as download:
            pg.keyboard.press("Enter")
        assert download.value.suggested_filename.endswith(".csv")


# --- motion, forced colours, zoom -------------------------------------------------------------------

def transition_of(pg, selector: str, pseudo: str = "::after") -> float:
    return pg.evaluate("([s, p]) => parseFloat(getComputedStyle(document.querySelector(s), p).transitionDuration)",
                       [selector, pseudo])


@pytest.mark.parametrize("reduced", [False, True])
def test_reduced_motion_turns_off_animated_transitions(browser, base_url, reduced):
    with widget_page(browser, base_url, reduced_motion="reduce" if reduced else "no-preference") as pg:
        bound(pg, SCALING)
        sel = root(SCALING)
        chevrons = [sel + " details.cw-group > summary", sel + " .cw-dock-toggle"]
        pg.click(sel + " .cw-dock-toggle")
        unfold = pg.evaluate("(s) => getComputedStyle(document.querySelector(s)).animationName",
                             sel + " fieldset.cw-controls")
        if reduced:
            assert [transition_of(pg, c) for c in chevrons] == [0, 0]
            assert unfold == "none"
            moving = pg.evaluate("""(s) => [...document.querySelector(s).querySelectorAll('*')].filter((el) =>
              [null, '::before', '::after'].some((p) => { const c = getComputedStyle(el, p);
                return parseFloat(c.transitionDuration) > 0 || c.animationName !== 'none'; })).length""", sel)
            assert moving == 0
        else:  # the same page moves without the preference: the check above can fail
            assert all(transition_of(pg, c) > 0 for c in chevrons)
            assert unfold == "cw-unfold"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP])
def test_forced_colors_keep_lines_focus_and_states_visible(browser, base_url, viewport):
    with widget_page(browser, base_url, viewport=viewport, forced_colors="active") as pg:
        bound(pg, SCALING)
        sel = root(SCALING)
        assert pg.evaluate("matchMedia('(forced-colors: active)').matches")
        # charts keep their own colours on their white card
        view = pg.evaluate("(s) => { const c = getComputedStyle(document.querySelector(s));"
                           " return [c.forcedColorAdjust, c.backgroundColor]; }", sel + " .cw-chart-view")
        assert view == ["none", "rgb(255, 255, 255)"]
        # open/closed chevrons are drawn in the text colour, not lost in the background
        canvas, chevron = pg.evaluate("""(s) => [getComputedStyle(document.body).backgroundColor,
          getComputedStyle(document.querySelector(s), '::after').backgroundColor]""", sel + " details.cw-group > summary")
        assert chevron not in (canvas, "rgba(0, 0, 0, 0)")
        # focus by keyboard is outlined
        pg.locator(sel + " .cw-title").evaluate("(e) => { e.tabIndex = -1; e.focus(); }")
        tab_to(pg, "el.dataset.role === 'scenario'")
        assert focus_is_visible(pg)
        if viewport is PHONE:  # the open panel's button is marked, not only by its arrow
            pg.click(sel + " .cw-dock-toggle")
            outline = pg.evaluate("(s) => getComputedStyle(document.querySelector(s)).outlineStyle",
                                  sel + " .cw-dock-toggle")
            assert outline != "none"


def test_200_percent_zoom_loses_nothing(browser, base_url):
    # a 1280 px window at 200 % zoom: 640 CSS px at device scale factor 2
    with widget_page(browser, base_url, viewport={"width": 640, "height": 400}, device_scale_factor=2) as pg:
        bound(pg, SCALING)
        sel = root(SCALING)
        pg.evaluate("(s) => document.querySelectorAll(s + ' details').forEach((d) => { d.open = true; })", sel)
        assert overflow(pg) <= 0
        cut = pg.evaluate("""([s, targets]) => {
          const w = document.documentElement.clientWidth;
          const out = [];
          for (const el of document.querySelector(s).querySelectorAll(targets + ', dd, th, td, p, label, figcaption')) {
            if (!el.getClientRects().length || el.closest('.cw-table-scroll')) continue;
            const r = el.getBoundingClientRect();
            if (r.left < 0 || r.right > w + 0.5 || el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'hidden') {
              out.push(el.outerHTML.slice(0, 80));
            }
          }
          return out;
        }""", [sel, TARGETS])
        assert cut == []
        # every number and control is shown (desktop layout: nothing folded behind the dock)
        assert pg.locator(sel + " dl.cw-metrics").is_visible()
        assert pg.locator(sel + " fieldset.cw-controls").is_visible()


# --- axe at all impacts -----------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_widget_has_no_axe_violation_in_any_state(browser, base_url, viewport, scheme):
    with widget_page(browser, base_url, viewport=viewport, scheme=scheme, static=True) as pg:
        sel = root(SCALING)
        assert axe_violations(pg, sel) == [], "static"
    with widget_page(browser, base_url, viewport=viewport, scheme=scheme) as pg:
        wait_state(pg, SCALING)
        sel = root(SCALING)
        if viewport is PHONE:
            pg.click(sel + " details.cw-more > summary")
            pg.click(sel + " .cw-dock-toggle")
        pg.evaluate("(s) => document.querySelectorAll(s + ' details').forEach((d) => { d.open = true; })", sel)
        assert axe_violations(pg, sel) == [], "ready"
        before = pg.locator(sel + " .cw-live-summary").text_content()
        pg.select_option(sel + ' [data-role="scenario"]', index=1)
        pg.wait_for_function("([s, old]) => document.querySelector(s).textContent !== old",
                             arg=[sel + " .cw-live-summary", before], timeout=30_000)
        pg.wait_for_timeout(300)
        assert axe_violations(pg, sel) == [], "after a change"


def test_static_page_carries_the_words(site_dir):
    """Without JavaScript the sentence and every chart's line are in the page, computed at build time."""
    html = (site_dir / WIDGET_PAGES[SCALING] / "index.html").read_text(encoding="utf-8")
    assert '<p class="cw-live-summary" aria-live="polite" aria-atomic="true">Autoscaled: p95 ' in html
    start = html.index('data-widget="scaling_strategy_simulator"')
    data = json.loads(html[html.index(">", html.index('<template class="cw-data"', start)) + 1:
                           html.index("</template>", start)])
    assert data["narrow"]["media"] == "(max-width: 600px)"
    section = html[start:html.index("</section>", start)]
    assert section.count('class="cw-chart-summary"') == section.count('class="cw-chart"') == 5
    assert section.count("aria-describedby=") >= 5
