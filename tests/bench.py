"""Widget runtime benchmark: ``python -m tests.bench`` (``make bench``).

In ONE run, against the same self-hosted files:
  (a) the floor: a bare page doing only loadPyodide + loadPackage("numpy") + import numpy, cold and warm;
  (b) the lesson page: static charts visible after DOMContentLoaded, every widget data-state=ready cold
      (first visit: normal boot, then the cold run waits for the snapshot made in the background) and
      warm (the same profile again: snapshot boot), instant navigation to the next lesson -> its widgets
      ready (``--only startup`` runs just these rows), control change -> updated metric
      (p95 over ~20 changes per widget);
  (b') every range control of every widget moved once, the first move right after ready included:
      change -> metrics updated and -> charts updated, per control, with p50/p95 per widget
      (``--only controls`` runs just this part);
  (c) simulate time per widget default scenario: CPython (median of N) and Pyodide in the worker;
  (d) the build-time cost of checking the lessons' values, experiments and checks (issue 10).
Cold = a fresh browser profile (new user-data-dir); warm = the same profile relaunched (HTTP cache and
V8's compiled-code cache kept). Prints a table, writes bench-results/bench.json. Nothing is asserted:
targets are in the issue and the figures go in the closing note.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import functools
import json
import shutil
import statistics
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, _QuietHandler, build_site

RESULTS = ROOT / "bench-results" / "bench.json"
FLOOR_PAGE = Path(__file__).with_name("bench_pages") / "floor.html"
TIMEOUT_MS = 120_000

# Recorded in every page before its own scripts: when each widget changes data-state, and when the
# static charts are first laid out after DOMContentLoaded.
RECORDER = """
(() => {
  const rec = window.__bench = { states: [], dcl: null, staticVisible: null };
  new MutationObserver((muts) => {
    for (const m of muts) if (m.attributeName === 'data-state' && m.target.dataset && m.target.dataset.widget)
      rec.states.push([m.target.dataset.widget, m.target.dataset.state, performance.now()]);
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-state'] });
  document.addEventListener('DOMContentLoaded', () => {
    rec.dcl = performance.now();
    const check = () => {
      // the pre-rendered pictures (<img> of SVG files), or live charts that replaced them
      const views = [...document.querySelectorAll('.cw-chart-view')].map((v) => v.querySelector('img.cw-static, svg'));
      if (views.length && views.every((e) => e && e.getBoundingClientRect().height > 0 && (e.tagName !== 'IMG' || (e.complete && e.naturalWidth > 0))))
        rec.staticVisible = performance.now();
      else if (performance.now() - rec.dcl < 5000) requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });
})();
"""

# widgets only: experiment cards carry data-widget too
ALL_READY = """() => {
  const roots = [...document.querySelectorAll('.course-widget[data-widget]')];
  return roots.length > 0 && roots.every((r) => r.dataset.state === 'ready' || r.dataset.state === 'error');
}"""


def median(xs):
    return statistics.median(xs) if xs else None


def p95(xs):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # a browser closing mid-download (context closed) is expected here


class Server:
    def __init__(self, site: Path):
        self.root = Path(tempfile.mkdtemp(prefix="bench-www-"))
        (self.root / "course").symlink_to(site, target_is_directory=True)
        (self.root / "floor").mkdir()
        shutil.copyfile(FLOOR_PAGE, self.root / "floor" / "index.html")
        shutil.copyfile(FLOOR_PAGE.with_name("floor.js"), self.root / "floor" / "floor.js")
        handler = functools.partial(_QuietHandler, directory=str(self.root))
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        shutil.rmtree(self.root, ignore_errors=True)


def launch(pw, profile: Path):
    return pw.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, service_workers="block",
    )


def measure_floor(pw, url: str, profile: Path) -> dict:
    ctx = launch(pw, profile)
    try:
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        page.goto(url)
        page.wait_for_function("() => window.__floor", timeout=TIMEOUT_MS)
        return page.evaluate("() => window.__floor")
    finally:
        ctx.close()


def ready_times(page) -> dict:
    rec = page.evaluate("() => window.__bench")
    ready = [t for (_, state, t) in rec["states"] if state in ("ready", "error")]
    errors = [w for (w, state, _) in rec["states"] if state == "error"]
    return {
        "first_ready_ms": min(ready) if ready else None,
        "all_ready_ms": max(ready) if ready else None,
        "static_visible_after_dcl_ms": (rec["staticVisible"] - rec["dcl"]) if rec["staticVisible"] else None,
        "errors": errors,
    }


@contextlib.contextmanager
def ready_lesson(pw, url: str, profile: Path):
    """A browser on ``profile`` with the lesson at ``url`` open and every widget ready."""
    ctx = launch(pw, profile)
    try:
        ctx.add_init_script(RECORDER)
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        page.goto(url)
        page.wait_for_function(ALL_READY, timeout=TIMEOUT_MS)
        yield page
    finally:
        ctx.close()


def measure_lesson(pw, url: str, profile: Path) -> dict:
    with ready_lesson(pw, url, profile) as page:
        out = ready_times(page)
        out["timings"] = page.evaluate("() => window.__courseWidgets.timings")
        out["time_origin"] = page.evaluate("() => performance.timeOrigin")
        if out["timings"].get("boot") == "normal":
            # a reader stays on the page: the snapshot for the next visit is made in the background
            page.wait_for_function("() => window.__courseWidgets.snapshot", timeout=TIMEOUT_MS)
            out["snapshot"] = page.evaluate("() => window.__courseWidgets.snapshot")
        return out


def instant_navigation(page, next_url: str) -> dict:
    """Instant navigation to the next lesson (its widgets differ): click -> all its widgets ready. The
    worker stays alive across it."""
    out: dict = {}
    # this page's widgets are marked, so that only the next lesson's count
    started = page.evaluate("""(h) => { window.__bench.states = [];
        document.querySelectorAll('.course-widget').forEach((r) => { r.dataset.benchOld = ''; });
        const t = performance.now();
        const a = document.createElement('a'); a.href = h; document.body.appendChild(a); a.click(); return t; }""",
                            next_url)
    page.wait_for_function(f"() => !document.querySelector('[data-bench-old]') && ({ALL_READY})()", timeout=TIMEOUT_MS)
    ready = ready_times(page)
    out["instant_nav_ready_ms"] = ready["all_ready_ms"] - started if ready["all_ready_ms"] else None
    # the part before any widget of the new page starts: fetching and swapping in the page
    states = page.evaluate("() => window.__bench.states")
    out["instant_nav_swap_ms"] = min(t for (_, _, t) in states) - started if states else None
    out["worker_starts"] = page.evaluate("() => window.__courseWidgets.workerStarts")
    return out


def measure_interaction(pw, url: str, next_url: str, profile: Path, changes: int) -> dict:
    """Warm profile: control changes, Pyodide compute times, then instant navigation to the next lesson."""
    with ready_lesson(pw, url, profile) as page:
        out: dict = {}
        # control changes: move one numeric control of each widget back and forth between its default
        # and a value another scenario uses (so it is valid), as a reader dragging a slider would
        out["control_change_ms"] = page.evaluate(
            """async (n) => {
              const per = {};
              for (const root of document.querySelectorAll('.course-widget[data-widget]')) {
                const data = JSON.parse(root.querySelector('template.cw-data').content.textContent);
                const kinds = Object.fromEntries(data.schema.params.map((p) => [p.name, p.kind]));
                const start = data.initial.params;
                let pick = null;
                for (const sc of data.scenarios.scenarios) for (const [k, v] of Object.entries(sc.params))
                  if (!pick && v !== start[k] && (kinds[k] === 'int' || kinds[k] === 'float')) pick = [k, v];
                if (!pick) continue;
                const input = root.querySelector(`input[name="${pick[0]}"]`);
                const events = [];
                for (let i = 0; i < n; i++) {
                  const done = new Promise((res) => {
                    root.addEventListener('course-widget:update', (e) => res(e.detail), { once: true });
                    setTimeout(() => res(null), 10000);
                  });
                  input.value = String(i % 2 === 0 ? pick[1] : start[pick[0]]);
                  input.dispatchEvent(new Event('change', { bubbles: true }));
                  const detail = await done;
                  if (detail) events.push(detail);
                }
                per[root.dataset.widget] = { param: pick[0], events };
              }
              return per;
            }""", changes)
        # Pyodide compute time per widget default scenario (in the worker, no rendering)
        out["pyodide_simulate_ms"] = page.evaluate(
            """async (n) => {
              const per = {};
              for (const root of document.querySelectorAll('.course-widget[data-widget]')) {
                const data = JSON.parse(root.querySelector('template.cw-data').content.textContent);
                const times = [];
                for (let i = 0; i < n; i++) times.push((await window.__courseWidgets.run(data.type, data.initial.params)).compute_ms);
                per[data.type] = times;
              }
              return per;
            }""", 5)
        out.update(instant_navigation(page, next_url))
        return out


SLIDER_FRACTIONS = (0.1, -0.1, 0.25, -0.25, 0.5, -0.5, 1.0, -1.0)  # of the slider's travel, tried in order


def slider_move(param, value, params: dict, widget):
    """One valid move of ``param``'s slider away from ``value``, as a reader would make it: the nearest
    of a few positions along the slider (on its step grid, or 3 significant digits on a log slider, as
    the page rounds) that the widget accepts with the other ``params``. -> (position, value) or None."""
    import math

    from widgets_py.core import ParamError

    log = bool(param.log)
    lo, hi = (math.log10(param.min), math.log10(param.max)) if log else (param.min, param.max)
    pos = (math.log10(value) if value > 0 else lo) if log else value
    for fraction in SLIDER_FRACTIONS:
        target = min(hi, max(lo, pos + fraction * (hi - lo)))
        if log:
            new = float(f"{10 ** target:.3g}")
        elif param.step:
            new = param.min + round((target - param.min) / param.step) * param.step
            new = float(f"{new:.10g}")
        else:
            new = target
        new = min(param.max, max(param.min, new))
        if param.kind == "int":
            new = int(round(new))
        if new == value:
            continue
        try:
            widget.validate({**params, param.name: new})
        except ParamError:
            continue
        return (math.log10(new) if log else new), new
    return None


def control_plan(site: Path) -> list[dict]:
    """For each widget type of the course: a lesson that shows it and the sequence of slider moves to
    make on it (every range control once, each from the state the previous moves left)."""
    from hooks.widgets.render import _range_attrs
    from widgets_py import registry
    from widgets_py.scenarios import load

    course = json.loads((site / "course.json").read_text())
    plans, seen = [], set()
    for lesson in course["lessons"]:
        for w in lesson.get("widgets", []):
            if w["type"] in seen:
                continue
            seen.add(w["type"])
            widget = registry.get(w["type"])
            params = widget.validate(load(ROOT / "docs" / w["data"].lstrip("/"), expected_type=w["type"]).get().params)
            moves = []
            for param in widget.params:
                if not _range_attrs(param, params[param.name]):
                    continue  # no slider on the page (open range)
                move = slider_move(param, params[param.name], params, widget)
                if move is None:
                    moves.append({"param": param.name, "from": params[param.name], "skip": "no valid move"})
                    continue
                moves.append({"param": param.name, "from": params[param.name], "position": move[0], "value": move[1]})
                params[param.name] = move[1]
            plans.append({"widget": w["type"], "url": lesson["url"], "moves": moves})
    return plans


# Moves the sliders of one widget in turn, starting the moment the page is ready: input then change, as
# a keyboard step or the end of a drag does. Times come from the widget's course-widget:update event:
# metrics_at/charts_at (numbers written, charts drawn; older pages report result_ms, when the numbers are
# written, and ms, from the widget's last change).
MOVE_SLIDERS = """async ({widget, moves}) => {
  const root = document.querySelector(`.course-widget[data-widget="${widget}"]`);
  const out = [];
  for (const move of moves) {
    if (move.skip) { out.push({ ...move }); continue; }
    const slider = root.querySelector(`input[type=range][data-range-for="${move.param}"]`);
    if (!slider) { out.push({ ...move, skip: 'no slider on the page' }); continue; }
    // as a reader does: the control in view (its group open), so the charts drawn are the ones near it
    const group = slider.closest('details');
    if (group) group.open = true;
    slider.scrollIntoView({ block: 'center' });
    await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
    const done = new Promise((res) => {
      const timer = setTimeout(() => res(null), 30000);
      root.addEventListener('course-widget:update', (e) => { clearTimeout(timer); res(e.detail); }, { once: true });
    });
    const t0 = performance.now();
    slider.value = String(move.position);
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    slider.dispatchEvent(new Event('change', { bubbles: true }));
    const detail = await done;
    const wall = performance.now() - t0;
    const error = root.querySelector('.cw-message').hidden ? null : root.querySelector('.cw-message').textContent;
    if (!detail) { out.push({ ...move, error: error || 'no update within 30 s', wall }); continue; }
    // from this move (t0), not from the widget's last change: an "input" then "change" at one position
    // must not hide the time spent on the first
    const metrics = detail.metrics_at != null ? detail.metrics_at - t0 : detail.result_ms;
    const charts = detail.charts_at != null ? detail.charts_at - t0 : detail.ms;
    out.push({ ...move, metrics_ms: metrics, charts_ms: charts, compute_ms: detail.compute_ms,
               worker: detail.worker || null, delivery_ms: detail.delivery_ms ?? null, wall, error });
  }
  return out;
}"""


def measure_controls(pw, origin: str, site: Path, work: Path, widgets: list[str] | None = None) -> list[dict]:
    """Every range control of every widget (or of ``widgets`` only), moved once on a freshly loaded lesson
    (so the first move is the first after ready), in a warm browser profile (the runtime files cached, as
    for a returning reader)."""
    rows, plans = [], control_plan(site)
    unknown = set(widgets or ()) - {plan["widget"] for plan in plans}
    if unknown:
        raise SystemExit(f"error: --widget {sorted(unknown)[0]}: not a widget of this site; allowed: "
                         + ", ".join(plan["widget"] for plan in plans))
    for i, plan in enumerate(plans):
        if widgets and plan["widget"] not in widgets:
            continue
        url = f"{origin}/course/{plan['url'].lstrip('/')}"
        profile = work / f"controls-{i}"
        with ready_lesson(pw, url, profile):  # first visit fills the HTTP cache
            pass
        with ready_lesson(pw, url, profile) as page:
            for move in page.evaluate(MOVE_SLIDERS, {"widget": plan["widget"], "moves": plan["moves"]}):
                rows.append({"widget": plan["widget"], **move})
    return rows


def control_rows(rows: list[dict]) -> list[tuple]:
    """Per-widget p50/p95 of the control table as summary rows."""
    out = []
    for wtype in dict.fromkeys(r["widget"] for r in rows):
        timed = [r for r in rows if r["widget"] == wtype and r.get("charts_ms") is not None]
        for key, what, target in (("metrics_ms", "metrics", "<= 100 ms"), ("charts_ms", "charts", "<= 150 ms")):
            values = [r[key] for r in timed]
            out.append((f"every slider once -> {what} p50 ({wtype})", median(values), None, ""))
            out.append((f"every slider once -> {what} p95 ({wtype})", p95(values), None, f"p95 {target}"))
    return out


def print_controls(rows: list[dict]) -> None:
    """compute: the worker's whole run; queue: of it, waiting behind other runs (worker.js queue_ms);
    to page: from the worker's post to the page's handler (main thread busy meanwhile)."""
    print(f"\n{'widget':<28} {'control':<28} {'move':>25} {'metrics ms':>10} {'charts ms':>10} {'compute ms':>10}"
          f" {'queue ms':>9} {'to page ms':>10}")
    for r in rows:
        move = f"{r['from']:.4g} -> {r['value']:.4g}" if "value" in r else ""
        if r.get("skip") or r.get("charts_ms") is None:
            print(f"{r['widget']:<28} {r['param']:<28} {move:>25}  {r.get('skip') or r.get('error')}")
            continue
        queue = (r.get("worker") or {}).get("queue_ms")
        delivery = r.get("delivery_ms")
        print(f"{r['widget']:<28} {r['param']:<28} {move:>25} {r['metrics_ms']:10.0f} {r['charts_ms']:10.0f}"
              f" {r['compute_ms']:10.0f} {'' if queue is None else f'{queue:.0f}':>9}"
              f" {'' if delivery is None else f'{delivery:.0f}':>10}" + (f"  ({r['error']})" if r.get("error") else ""))


def cpython_simulate_ms(site: Path, repeats: int) -> dict:
    from widgets_py import registry
    from widgets_py.api import compute
    from widgets_py.scenarios import load

    course = json.loads((site / "course.json").read_text())
    out = {}
    for lesson in course["lessons"]:
        for w in lesson.get("widgets", []):
            if w["type"] in out:
                continue
            params = load(ROOT / "docs" / w["data"].lstrip("/"), expected_type=w["type"]).get().params
            module = importlib.import_module(registry.MODULES[w["type"]])
            times, cold = [], []
            for _ in range(repeats):
                importlib.reload(module)  # fresh module-level caches: the first call computes everything
                t = time.perf_counter()
                compute(w["type"], params)
                cold.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                compute(w["type"], params)  # same parameters again: what caching buys
                times.append((time.perf_counter() - t) * 1000)
            out[w["type"]] = times
            out[w["type"] + " (empty caches)"] = cold
    return out


def lesson_checking(docs: Path, repeats: int) -> dict:
    """Build-time cost of checked lessons (issue 10): reading and validating every lesson without the
    body checks (the floor), then the body checks (values, experiments, checks, reading time) with empty
    simulation caches (cold: every scenario simulated) and with the disk cache a previous build left
    (warm). Also counts what the lessons carry."""
    from hooks.lessons import blocks
    from hooks.lessons.course import label_for, lesson_paths
    from hooks.lessons.validate import load_lesson
    from hooks.widgets import build
    from widgets_py import registry

    paths = lesson_paths(docs)
    out: dict = {"validate_ms": [], "check_cold_ms": [], "check_warm_ms": []}
    saved_cache = build.METRICS_CACHE
    try:
        for _ in range(repeats):
            t = time.perf_counter()
            sources = [load_lesson(p, label_for(p), docs) for p in paths]
            out["validate_ms"].append((time.perf_counter() - t) * 1000)
            build.METRICS_CACHE = Path(tempfile.mkdtemp(prefix="bench-metrics-"))
            for phase in ("check_cold_ms", "check_warm_ms"):
                build.METRICS_MEMO.clear()
                if phase == "check_cold_ms":
                    for module in registry.MODULES.values():  # fresh module-level caches too
                        importlib.reload(importlib.import_module(module))
                t = time.perf_counter()
                index = blocks.ScenarioIndex.load(docs)
                for source in sources:
                    blocks.check_lesson(source, index)
                out[phase].append((time.perf_counter() - t) * 1000)
            shutil.rmtree(build.METRICS_CACHE, ignore_errors=True)
    finally:
        build.METRICS_CACHE = saved_cache
    reports = [s.body for s in sources if s.body]
    out["counts"] = {
        "values": sum(r.value_count for r in reports),
        "experiments": sum(b.kind == "experiment" for r in reports for b in r.blocks),
        "claims": sum(len(b.results) for r in reports for b in r.blocks if b.kind == "experiment"),
        "checks": sum(b.kind == "check" for r in reports for b in r.blocks),
        "problems": sum(len(s.problems) for s in sources),
    }
    return out


def checking_rows(checking: dict) -> list[tuple]:
    floor_validate = median(checking["validate_ms"])
    rows = [("lessons: read + validate front matter (no body checks)", floor_validate, None, "")]
    for phase, label in (("check_cold_ms", "empty caches"), ("check_warm_ms", "disk cache of a previous build")):
        value = median(checking[phase])
        rows.append((f"lessons: body checks, {label}", value, value / floor_validate if floor_validate else None,
                     "ratio = / read + validate"))
    return rows


def print_rows(rows: list[tuple]) -> None:
    print(f"\n{'measure':<66} {'ms':>9} {'ratio':>7}  target")
    for name, ms, ratio, target in rows:
        ms_text = "n/a" if ms is None else f"{ms:9.0f}" if ms >= 10 else f"{ms:9.1f}"
        ratio_text = "" if ratio is None else f"{ratio:6.2f}x"
        print(f"{name:<66} {ms_text:>9} {ratio_text:>7}  {target}")


def carried(checking: dict) -> str:
    return "checked lessons carry: " + ", ".join(f"{n} {k}" for k, n in checking["counts"].items())


def print_checking(checking: dict) -> None:
    print_rows(checking_rows(checking))
    print(carried(checking))


def startup_rows(raw: dict) -> list[tuple]:
    """Floor, static charts, all widgets ready cold and warm (ratios to the floor), instant navigation."""
    floor_cold = median([r["import"] for r in raw["floor_cold"]])
    floor_warm = median([r["import"] for r in raw["floor_warm"]])
    ready_cold = median([r["all_ready_ms"] for r in raw["lesson_cold"]])
    ready_warm = median([r["all_ready_ms"] for r in raw["lesson_warm"]])
    static_vis = median([r["static_visible_after_dcl_ms"] for r in raw["lesson_cold"] + raw["lesson_warm"]
                         if r["static_visible_after_dcl_ms"] is not None])
    rows = [
        ("floor: Pyodide + numpy + import, cold", floor_cold, None, ""),
        ("floor: same, warm", floor_warm, None, ""),
        ("static charts visible after DOMContentLoaded", static_vis, None, "<= 300 ms"),
        ("lesson: all widgets data-state=ready, cold", ready_cold, ready_cold / floor_cold, "<= 1.0 x floor cold"),
        ("lesson: all widgets data-state=ready, warm", ready_warm, ready_warm / floor_warm, "<= 0.4 x floor warm"),
        ("instant navigation to the next lesson -> its widgets ready", raw["interaction"].get("instant_nav_ready_ms"),
         None, "<= 200 ms"),
    ]
    rows.append(("  of which: click -> the next lesson's first widget starts", raw["interaction"].get("instant_nav_swap_ms"),
                 None, ""))
    made = [r["snapshot"] for r in raw["lesson_cold"] if r.get("snapshot", {}).get("state") == "stored"]
    if made:
        rows.append(("  snapshot made after the first visit (in the background)", median([m["ms"] for m in made]),
                     None, f"{median([m['bytes'] for m in made]) / 2**20:.1f} MiB"))
    boots = [r["timings"].get("boot") for r in raw["lesson_warm"]]
    rows.append(("  warm runs restored from the snapshot", boots.count("snapshot"), None, f"of {len(boots)}"))
    for kind in ("cold", "warm"):
        rows += worker_timeline(raw[f"lesson_{kind}"], kind)
    return rows


# the worker's steps (worker.js, snapshot.js), in the order they happen
TIMELINE = (("snapshot_found_ms", "snapshot entry found"), ("snapshot_key_ms", "its key checked"),
            ("snapshot_read_ms", "its bytes read and checked"), ("snapshot_prerun_ms", "Pyodide's wasm up (pre-run step)"),
            ("snapshot_files_ms", "files written"), ("snapshot_libs_ms", "numpy's libraries loaded"),
            # a first visit's boot with files (worker.js bootNormally)
            ("boot_prerun_ms", "Pyodide's wasm up (pre-run step)"), ("boot_files_ms", "numpy's and the widgets' files in"),
            ("boot_libs_ms", "numpy's libraries loaded"),
            ("boot_ms", "Python up (restored, or booted with numpy)"), ("ready_ms", "widgets imported: worker ready"))


def worker_timeline(runs: list[dict], kind: str) -> list[tuple]:
    """Where a lesson's start-up goes (medians, ms from navigation, each step on its own): the page starting
    the worker, the worker starting, its steps, and the page marking the widgets ready once the worker says so."""
    runs = [r for r in runs if r.get("time_origin") and r["timings"].get("t0_epoch_ms")]
    if not runs:
        return []

    def on_page(r, key):  # a worker time on the page's clock
        return r["timings"]["t0_epoch_ms"] - r["time_origin"] + r["timings"][key]

    rows = [(f"  {kind}: page starts the worker", median([r["timings"]["start"] for r in runs]), None, ""),
            (f"  {kind}: worker starts running", median([r["timings"]["t0_epoch_ms"] - r["time_origin"] for r in runs]),
             None, "")]
    for key, what in TIMELINE:
        timed = [on_page(r, key) for r in runs if key in r["timings"]]
        if timed:
            rows.append((f"  {kind}: {what}", median(timed), None, ""))
    rows.append((f"  {kind}: page marks every widget ready", median([r["all_ready_ms"] for r in runs]), None, ""))
    return rows


def widget_pages(site: Path) -> tuple[str, str]:
    """The first lesson with widgets and the lesson after it (the next lesson a reader opens)."""
    lessons = json.loads((site / "course.json").read_text())["lessons"]
    for here, after in zip(lessons, lessons[1:]):
        if here.get("widgets") and after.get("widgets"):
            return here["url"], after["url"]
    raise SystemExit("error: no two consecutive lessons with widgets in course.json")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("--runs", type=int, default=3, help="cold/warm repetitions (median reported)")
    parser.add_argument("--changes", type=int, default=20, help="control changes per widget")
    parser.add_argument("--site", help="use this built site instead of building one")
    parser.add_argument("--checking-only", action="store_true",
                        help="only (d): the build-time cost of checking the lessons (no browser)")
    parser.add_argument("--only", choices=("startup", "controls"),
                        help="startup: only the start-up rows (floor and lesson cold/warm, static charts, "
                             "instant navigation); controls: only (b'), every slider of every widget moved once")
    parser.add_argument("--widget", action="append", metavar="TYPE",
                        help="with --only controls: time only this widget type's sliders (repeatable)")
    args = parser.parse_args(argv)
    if args.checking_only:
        print_checking(lesson_checking(ROOT / "docs", args.runs))
        return 0
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-"))
    if args.site:
        site = Path(args.site).resolve()
    else:
        site = work / "site"
        t = time.perf_counter()
        proc = build_site(site)
        if proc.returncode:
            print(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "mkdocs build failed")
            return 1
        print(f"site built in {time.perf_counter() - t:.1f} s")
    server = Server(site)
    if args.only == "controls":
        try:
            with sync_playwright() as pw:
                controls = measure_controls(pw, server.origin, site, work, args.widget)
        finally:
            server.close()
            shutil.rmtree(work, ignore_errors=True)
        print_controls(controls)
        print_rows(control_rows(controls))
        out = ROOT / "bench-results" / "controls.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(controls, indent=1))
        print(f"wrote {out.relative_to(ROOT)}")
        return 0
    lesson_url, next_url = (f"{server.origin}/course/{url.lstrip('/')}" for url in widget_pages(site))
    floor_url = f"{server.origin}/floor/"
    raw: dict = {"floor_cold": [], "floor_warm": [], "lesson_cold": [], "lesson_warm": []}
    try:
        with sync_playwright() as pw:
            for i in range(args.runs):
                floor_profile, lesson_profile = work / f"floor-{i}", work / f"lesson-{i}"
                raw["floor_cold"].append(measure_floor(pw, floor_url, floor_profile))
                raw["floor_warm"].append(measure_floor(pw, floor_url, floor_profile))
                raw["lesson_cold"].append(measure_lesson(pw, lesson_url, lesson_profile))
                raw["lesson_warm"].append(measure_lesson(pw, lesson_url, lesson_profile))
            if args.only == "startup":
                with ready_lesson(pw, lesson_url, work / "lesson-0") as page:
                    raw["interaction"] = instant_navigation(page, next_url)
            else:
                raw["interaction"] = measure_interaction(pw, lesson_url, next_url, work / "lesson-0", args.changes)
                raw["controls"] = measure_controls(pw, server.origin, site, work)
    finally:
        server.close()
    inter = raw["interaction"]
    rows = startup_rows(raw)
    if args.only == "startup":
        print_rows(rows)
        print(f"worker starts across the instant navigation: {inter.get('worker_starts')}")
        out = RESULTS.with_name("startup.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"summary": rows, "raw": raw, "runs": args.runs}, indent=1))
        print(f"wrote {out.relative_to(ROOT)}")
        shutil.rmtree(work, ignore_errors=True)
        return 0
    raw["cpython_simulate_ms"] = cpython_simulate_ms(site, 7)
    raw["lesson_checking"] = lesson_checking(ROOT / "docs", 3)
    for wtype, change in inter["control_change_ms"].items():
        events = change["events"]
        rows.append((f"control change ({change['param']}) -> metrics p95 ({wtype})",
                     p95([e["result_ms"] for e in events]), None, "<= 100 ms"))
        rows.append((f"  ... -> charts redrawn p95 ({wtype})", p95([e["ms"] for e in events]), None, "<= 150 ms"))
    rows += control_rows(raw["controls"])
    for wtype, times in raw["cpython_simulate_ms"].items():
        label = wtype if wtype.endswith("(empty caches)") else f"{wtype}, repeated"
        rows.append((f"simulate, CPython median ({label})", median(times), None, ""))
    for wtype, times in inter["pyodide_simulate_ms"].items():
        cpy = median(raw["cpython_simulate_ms"].get(wtype, []))
        rows.append((f"simulate, Pyodide median ({wtype}, repeated)", median(times),
                     median(times) / cpy if cpy else None, "ratio = Pyodide / CPython"))
    rows += checking_rows(raw["lesson_checking"])
    print_controls(raw["controls"])
    print_rows(rows)
    print(f"worker starts across the instant navigation: {inter.get('worker_starts')}")
    print(carried(raw["lesson_checking"]))
    summary = {name: {"ms": ms, "ratio": ratio, "target": target} for name, ms, ratio, target in rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"summary": summary, "raw": raw, "runs": args.runs}, indent=1))
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
