"""The widget runtime in Chromium against the built site (served under /course/).

Every test uses the lesson page with widgets and the widgets that built cleanly there; the DOM contract
(issue 3, section 7) is all they rely on.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from tests.conftest import first_search_result
from widgets_py import registry

pytestmark = pytest.mark.browser

LESSON = "lessons/ai-builder-ch4/ai-builder-ch4-lesson4/"
COST_LESSON = "lessons/ai-builder-ch4/ai-builder-ch4-lesson5/"  # the cost dashboard's page
BOOT_MS = 90_000  # a cold Pyodide boot on a busy 2-core machine; a limit, not a speed assertion


def static_widget_types(site_dir, lesson: str) -> list[str]:
    html = (site_dir / lesson / "index.html").read_text(encoding="utf-8")
    types = re.findall(r'data-widget="([a-z_]+)" data-state="static"', html)
    assert types, f"no buildable widget on {lesson}"
    return types


@pytest.fixture(scope="module")
def widget_types(site_dir) -> list[str]:
    return static_widget_types(site_dir, LESSON)


@pytest.fixture(scope="module")
def widget_type(widget_types) -> str:
    return widget_types[0]


def root_of(wtype: str) -> str:
    return f'.course-widget[data-widget="{wtype}"]'


def wait_state(page, wtype: str, states=("ready",), timeout=BOOT_MS) -> str:
    page.wait_for_function(
        "([sel, states]) => { const r = document.querySelector(sel); return r && states.includes(r.dataset.state); }",
        arg=[root_of(wtype), list(states)], timeout=timeout,
    )
    return page.get_attribute(root_of(wtype), "data-state")


def snapshot(page, wtype: str) -> dict:
    return page.evaluate(
        """(sel) => {
          const r = document.querySelector(sel);
          return {
            state: r.dataset.state,
            metrics: Object.fromEntries([...r.querySelectorAll('[data-metric]')].map((e) => [e.dataset.metric, e.textContent])),
            charts: [...r.querySelectorAll('.cw-chart-view')].map((v) => v.innerHTML),
            views: [...r.querySelectorAll('.cw-chart-view')].map((v) => v.dataset.view),
            message: r.querySelector('.cw-message').hidden ? '' : r.querySelector('.cw-message').textContent,
            notice: r.querySelector('.cw-notice').hidden ? '' : r.querySelector('.cw-notice').textContent,
          };
        }""",
        root_of(wtype),
    )


def is_picture(view_html: str) -> bool:
    """The pre-rendered chart: a <picture> (a narrow drawing for small screens) around the static <img>."""
    return view_html.startswith("<picture><source ") and '<img class="cw-static"' in view_html


def embedded(page, wtype: str) -> dict:
    return json.loads(page.evaluate("(sel) => document.querySelector(sel + ' template.cw-data').content.textContent",
                                    root_of(wtype)))


def candidate_changes(page, wtype: str) -> list[tuple[str, object]]:
    """(param, value) pairs taken from the widget's other scenarios: values its author knows are valid."""
    data = embedded(page, wtype)
    schema = {p["name"]: p for p in data["schema"]["params"]}
    start = data["initial"]["params"]
    out = []
    for scenario in data["scenarios"]["scenarios"]:
        for name, value in scenario["params"].items():
            if value != start[name] and schema[name]["kind"] in ("int", "float") and (name, value) not in out:
                out.append((name, value))
    return out


def set_number(page, wtype: str, name: str, value) -> None:
    field = page.locator(f'{root_of(wtype)} input[name="{name}"]')
    field.evaluate("(e) => { const d = e.closest('details'); if (d) d.open = true; }")  # as a reader opens the group
    field.fill(str(value))
    field.press("Enter")
    field.dispatch_event("change")


def change_a_control(page, wtype: str) -> tuple[str, object, dict, dict]:
    """Move controls until one changes a key number; return (param, value, before, after)."""
    before = snapshot(page, wtype)
    for name, value in candidate_changes(page, wtype)[:6]:
        if float(page.input_value(f'{root_of(wtype)} input[name="{name}"]')) == float(value):
            continue
        set_number(page, wtype, name, value)
        try:
            page.wait_for_function(
                "([sel, old]) => { const r = document.querySelector(sel); return r.dataset.state === 'ready' &&"
                " [...r.querySelectorAll('[data-metric]')].some((e) => e.textContent !== old[e.dataset.metric]); }",
                arg=[root_of(wtype), before["metrics"]], timeout=15_000,
            )
        except Exception:
            continue
        # charts near the viewport are drawn first, the others when the page is idle: wait for a live one
        page.wait_for_function("(sel) => [...document.querySelectorAll(sel + ' .cw-chart-view')]"
                               ".some((v) => v.dataset.view === 'live')", arg=root_of(wtype), timeout=15_000)
        page.wait_for_timeout(200)  # let every chart of this result finish drawing
        return name, value, before, snapshot(page, wtype)
    pytest.fail(f"no control of {wtype} changed a data-metric")


@pytest.mark.parametrize("lesson", [LESSON, COST_LESSON])
def test_static_results_without_javascript(browser, base_url, site_dir, lesson):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base_url + lesson)
        for wtype in static_widget_types(site_dir, lesson):
            snap = snapshot(page, wtype)
            assert snap["state"] == "static"
            assert snap["charts"] and all(is_picture(c) for c in snap["charts"])
            # every picture arrived and is drawn (content-hashed SVG files beside the page)
            page.wait_for_function("(sel) => [...document.querySelectorAll(sel + ' img.cw-static')].every("
                                   "(i) => i.complete && i.naturalWidth > 0)", arg=root_of(wtype))
            assert snap["metrics"] and all(text.strip() for text in snap["metrics"].values())
            assert page.locator(f"{root_of(wtype)} fieldset.cw-controls [name]").first.is_disabled()
            assert page.locator(f"{root_of(wtype)} .cw-table table tbody tr").count() > 0
    finally:
        context.close()


def test_goes_live_follows_controls_and_shares_state(page, base_url, widget_type):
    page.goto(base_url + LESSON, wait_until="domcontentloaded")
    first = snapshot(page, widget_type)
    assert first["state"] in ("static", "loading") and is_picture(first["charts"][0])
    assert wait_state(page, widget_type) == "ready"
    live = snapshot(page, widget_type)
    assert live["message"] == ""
    # the browser computed the same numbers and charts as the build, so the static charts stay
    assert live["metrics"] == first["metrics"] and set(live["views"]) == {"static"}

    name, value, before, after = change_a_control(page, widget_type)
    assert after["metrics"] != before["metrics"]
    assert after["charts"] != before["charts"] and "live" in after["views"]
    fragment = page.evaluate("location.hash")
    assert fragment.startswith(f"#w1.{widget_type}=")

    # the link restores the state in a fresh tab
    shared = page.context.new_page()
    shared_errors = []
    shared.on("console", lambda msg: msg.type == "error" and shared_errors.append(msg.text))
    shared.on("pageerror", lambda exc: shared_errors.append(str(exc)))
    shared.goto(page.url)
    assert wait_state(shared, widget_type) == "ready"
    restored = snapshot(shared, widget_type)
    assert restored["metrics"] == after["metrics"] and restored["notice"] == ""
    assert float(shared.input_value(f'{root_of(widget_type)} input[name="{name}"]')) == float(value)

    # keyboard: a slider moves with the arrow keys and its number input follows
    slider = page.locator(f"{root_of(widget_type)} input[type=range]").first
    param = slider.get_attribute("data-range-for")
    number = page.locator(f'{root_of(widget_type)} input[name="{param}"]')
    old = number.input_value()
    # (marks the widget when this change's result is shown, so the link is copied with nothing in flight)
    page.evaluate("""(sel) => document.querySelector(sel).addEventListener('course-widget:update',
                       (e) => { e.currentTarget.dataset.testUpdated = '1'; }, { once: true })""", root_of(widget_type))
    slider.focus()
    slider.press("ArrowRight" if float(slider.input_value()) < float(slider.get_attribute("max")) else "ArrowLeft")
    assert number.input_value() != old
    page.wait_for_function("(sel) => document.querySelector(sel).dataset.testUpdated", arg=root_of(widget_type))

    # "Copy link" hands over the URL with the state (clipboard, or shown for copying when refused)
    page.click(f'{root_of(widget_type)} [data-role="share"]')
    page.wait_for_function("(sel) => /link/i.test(document.querySelector(sel + ' .cw-status').textContent)",
                           arg=root_of(widget_type))
    # the group holding the changed parameter says so
    badge = page.locator(f'{root_of(widget_type)} .cw-control[data-param="{name}"]').locator(
        "xpath=ancestor::details[1]/summary/span[@class='cw-changed']")
    assert "changed" in badge.text_content()
    assert page.console_errors == [] and shared_errors == []


def open_settled(page, base_url: str, widget_type: str) -> None:
    """The lesson open, the widget ready and no run in flight."""
    page.goto(base_url + LESSON)
    assert wait_state(page, widget_type) == "ready"
    page.wait_for_function("() => window.__courseWidgets.pending.size === 0")


def test_slider_storm_is_coalesced(page, base_url, widget_type):
    """30 slider moves in one burst: a few runs, and the result shown is the newest position's."""
    open_settled(page, base_url, widget_type)
    out = page.evaluate(
        """(sel) => new Promise((resolve) => {
          const root = document.querySelector(sel);
          const slider = root.querySelector('input[type=range]');
          const name = slider.dataset.rangeFor;
          const controller = [...window.__courseWidgets.controllers].find((c) => c.root === root);
          const sentBefore = window.__courseWidgets.runsSent;
          const droppedBefore = window.__courseWidgets.runsSuperseded || 0;
          const lo = Number(slider.min), hi = Number(slider.max);
          for (let i = 1; i <= 30; i++) {
            slider.value = String(lo + (hi - lo) * (i % 2 ? 0.3 : 0.4) + (hi - lo) * 0.001 * i);
            slider.dispatchEvent(new Event('input', { bubbles: true }));
          }
          const wanted = controller.values[name];
          const check = () => {
            if (window.__courseWidgets.pending.size === 0 && controller.inFlight === null) {
              const dropped = (window.__courseWidgets.runsSuperseded || 0) - droppedBefore;
              resolve({ runs: window.__courseWidgets.runsSent - sentBefore - dropped, wanted,
                        shown: controller.lastGood && controller.lastGood.result.params[name],
                        message: root.querySelector('.cw-message').hidden ? '' : root.querySelector('.cw-message').textContent });
            } else setTimeout(check, 50);
          };
          setTimeout(check, 50);
        })""",
        root_of(widget_type),
    )
    assert out["message"] == ""
    assert out["runs"] == 2  # the first move, then only the newest of the 29 queued behind it
    assert out["shown"] == out["wanted"]


def test_one_slider_position_is_one_run(page, base_url, widget_type):
    """A keyboard step (or the end of a drag) fires "input" then "change" at one position: one run,
    not a second one that throws the first away; no progress notice is left behind."""
    open_settled(page, base_url, widget_type)
    out = page.evaluate(
        """(sel) => new Promise((resolve) => {
          const root = document.querySelector(sel);
          const slider = root.querySelector('input[type=range]');
          const sentBefore = window.__courseWidgets.runsSent;
          root.addEventListener('course-widget:update', () => resolve({
            runs: window.__courseWidgets.runsSent - sentBefore, busy: root.dataset.busy || null,
            status: root.querySelector('.cw-status').textContent }), { once: true });
          slider.value = String(Number(slider.min) + (Number(slider.max) - Number(slider.min)) * 0.37);
          slider.dispatchEvent(new Event('input', { bubbles: true }));
          slider.dispatchEvent(new Event('change', { bubbles: true }));
        })""",
        root_of(widget_type),
    )
    assert out["runs"] == 1
    assert out["busy"] is None and out["status"].startswith("Live")


@pytest.mark.parametrize("fragment", ["#w1.{t}=!!not-base64!!", "#w0.{t}=e30", "#w1.{t}=eyJzIjoibm9wZSJ9"])
def test_bad_or_stale_fragment_falls_back_to_default(page, base_url, widget_type, fragment):
    page.goto(base_url + LESSON + fragment.format(t=widget_type))
    assert wait_state(page, widget_type) == "ready"
    snap = snapshot(page, widget_type)
    assert "showing the default scenario" in snap["notice"]
    default = embedded(page, widget_type)["initial"]["scenario"]
    assert page.input_value(f'{root_of(widget_type)} [data-role="scenario"]') == default
    assert page.console_errors == []


def test_pyodide_blocked_keeps_static_view_then_recovers(page, base_url, widget_type):
    page.context.route("**/assets/pyodide/**", lambda route: route.abort())
    page.goto(base_url + LESSON)
    assert wait_state(page, widget_type, ("ready", "error")) == "error"
    snap = snapshot(page, widget_type)
    assert "could not load" in snap["message"] and "try again" in snap["message"]
    assert is_picture(snap["charts"][0]) and set(snap["views"]) == {"static"}
    assert all(text.strip() for text in snap["metrics"].values())
    # the runtime comes back: the next interaction restarts the worker
    page.context.unroute("**/assets/pyodide/**")
    name, value = candidate_changes(page, widget_type)[0]
    set_number(page, widget_type, name, value)
    assert wait_state(page, widget_type) == "ready"
    assert page.evaluate("window.__courseWidgets.workerStarts") == 2
    # the other widgets of the page come back with it
    for other in page.evaluate("[...document.querySelectorAll('[data-widget]')].map((r) => r.dataset.widget)"):
        assert wait_state(page, other, timeout=30_000) == "ready"


def test_exception_in_simulate_keeps_chart_and_next_change_works(page, base_url, widget_type):
    """A simulator bug (injected into the served archive) shows a message; the widget keeps working."""
    name, bad_value = None, None
    module_path = registry.MODULES[widget_type].replace(".", "/") + ".py"
    folder, _, stem = module_path[:-3].rpartition("/")
    compiled_path = f"{folder}/__pycache__/{stem}.cpython-312.pyc"

    def inject(route):
        response = route.fetch()
        original = response.body()
        source = zipfile.ZipFile(io.BytesIO(original))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for info in source.infolist():
                if info.filename == compiled_path:
                    continue  # the shipped bytecode is used unchecked (README "Bytecode"): drop it for the edited source
                data = source.read(info)
                if info.filename == module_path:
                    data += (
                        "\nimport dataclasses as _dc\n_real_simulate = WIDGET.simulate\n"
                        "def _faulty(params):\n"
                        f"    if params[{name!r}] == {bad_value!r}:\n"
                        "        raise RuntimeError('injected fault')\n"
                        "    return _real_simulate(params)\n"
                        "WIDGET = _dc.replace(WIDGET, simulate=_faulty)\n"
                    ).encode()
                target.writestr(info, data)
        route.fulfill(response=response, body=out.getvalue())

    page.goto(base_url + LESSON, wait_until="domcontentloaded")
    name, bad_value = candidate_changes(page, widget_type)[0]
    page.context.route("**/assets/widgets/widgets_py-*.zip", inject)  # context: the worker fetches it
    page.reload()
    assert wait_state(page, widget_type) == "ready"
    before = snapshot(page, widget_type)
    set_number(page, widget_type, name, bad_value)
    page.wait_for_function("(sel) => !document.querySelector(sel + ' .cw-message').hidden",
                           arg=root_of(widget_type), timeout=15_000)
    failed = snapshot(page, widget_type)
    assert "injected fault" in failed["message"]
    assert failed["charts"] == before["charts"] and failed["metrics"] == before["metrics"]
    assert failed["state"] == "ready"
    # the next change works: the widget computes again and the message goes away
    page.evaluate("(sel) => { window.__updates = 0; document.querySelector(sel).addEventListener("
                  "'course-widget:update', () => { window.__updates += 1; }); }", root_of(widget_type))
    start = embedded(page, widget_type)["initial"]["params"][name]
    set_number(page, widget_type, name, start)
    page.wait_for_function("() => window.__updates > 0", timeout=15_000)
    recovered = snapshot(page, widget_type)
    assert recovered["message"] == "" and recovered["state"] == "ready"
    assert recovered["metrics"] == before["metrics"]


def test_instant_navigation_reuses_the_worker(page, base_url, widget_types):
    page.goto(base_url + LESSON)
    for wtype in widget_types:
        wait_state(page, wtype)
    page.evaluate("window.__sameDocument = true")
    here = page.evaluate("location.pathname")
    # a click on an ordinary link to another lesson; material's instant navigation takes it over
    click = ("(re) => { const a = [...document.querySelectorAll('a[href]')].find((x) => new RegExp(re).test(x.href));"
             " a.click(); }")
    page.evaluate(click, r"ai-builder-ch4-lesson[1-35]/$")
    page.wait_for_function("(p) => location.pathname !== p", arg=here)
    assert page.evaluate("window.__sameDocument") is True  # instant navigation, not a page load
    page.evaluate(click, r"ai-builder-ch4-lesson4/$")
    page.wait_for_function("(p) => location.pathname === p", arg=here)
    for wtype in widget_types:
        assert wait_state(page, wtype, timeout=20_000) == "ready"
    assert page.evaluate("window.__sameDocument") is True
    assert page.evaluate("window.__courseWidgets.workerStarts") == 1
    assert page.console_errors == []


# When the first widget of the page turned ready, and when the theme's search index was requested (page clock).
FIRST_READY_AT = """(() => { window.__firstReadyAt = null;
  new MutationObserver(() => {
    if (window.__firstReadyAt === null && document.querySelector('.course-widget[data-widget][data-state="ready"]'))
      window.__firstReadyAt = performance.now();
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-state'] }); })();"""
INDEX_REQUESTED_AT = """() => { const e = performance.getEntriesByType('resource')
  .find((r) => r.name.endsWith('/search/search_index.json')); return e ? e.startTime : null; }"""


def test_search_index_waits_until_the_widgets_are_ready(page, base_url, widget_type):
    """search_hold.js: the theme's search index is not requested while Python boots."""
    page.add_init_script(FIRST_READY_AT)
    page.goto(base_url + LESSON)
    wait_state(page, widget_type)
    page.wait_for_function(f"() => ({INDEX_REQUESTED_AT})() !== null")
    assert page.evaluate(INDEX_REQUESTED_AT) >= page.evaluate("window.__firstReadyAt")


def test_search_opened_while_python_boots_gets_its_index_at_once(page, base_url, widget_type):
    page.add_init_script(FIRST_READY_AT)
    page.goto(base_url + LESSON)
    result = first_search_result(page, "autoscaler")
    assert result.get_attribute("href")
    requested, ready = page.evaluate(INDEX_REQUESTED_AT), page.evaluate("window.__firstReadyAt")
    assert requested is not None and (ready is None or requested < ready), (requested, ready)
    assert wait_state(page, widget_type) == "ready"
