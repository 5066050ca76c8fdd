"""Snapshot boot (issue 13, item 4) in Chromium against the built site: after a normal boot the worker
makes a memory snapshot of Python for the next visit; restoring it must give the very results a normal
boot gives, a damaged snapshot must give way to a normal boot the reader does not notice, and a snapshot
made for other files must not be used.

The tests share one browser context (one Cache Storage) and run in file order: making a snapshot takes
a Python boot of its own, too slow to repeat per test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, recording_page
from widgets_py.scenarios import load

pytestmark = pytest.mark.browser

LESSON = "lessons/ai-builder-ch4/ai-builder-ch4-lesson4/"
BOOT_MS = 120_000  # a cold boot plus a snapshot made beside it on a busy 2-core machine; a limit only
CACHE = "course-python-snapshot"  # SNAPSHOT_CACHE in overrides/assets/widgets/snapshot.js

ALL_READY = """() => {
  const roots = [...document.querySelectorAll('.course-widget[data-widget]')];
  return roots.length > 0 && roots.every((r) => r.dataset.state === 'ready' || r.dataset.state === 'error');
}"""

ENTRIES = f"""async () => {{
  const cache = await caches.open({CACHE!r});
  const out = [];
  for (const request of await cache.keys()) {{
    const response = await cache.match(request);
    out.push({{ url: request.url, checksum: response.headers.get('x-snapshot-checksum'),
               key: response.headers.get('x-snapshot-key'), bytes: Number(response.headers.get('x-snapshot-bytes')) }});
  }}
  return out;
}}"""


def every_scenario() -> list[tuple[str, str, dict]]:
    out = []
    for path in sorted((ROOT / "docs" / "widgets").glob("*.json")):
        data = load(path).to_json()
        out += [(data["widget"], s["name"], s["params"]) for s in data["scenarios"]]
    return out


def open_lesson(page, url: str) -> dict:
    """Load the lesson, wait until every widget is ready; the worker's boot timings."""
    page.goto(url)
    page.wait_for_function(ALL_READY, timeout=BOOT_MS)
    page.wait_for_function("() => window.__courseWidgets && window.__courseWidgets.ready", timeout=BOOT_MS)
    states = page.eval_on_selector_all(".course-widget[data-widget]", "(rs) => rs.map((r) => r.dataset.state)")
    assert set(states) == {"ready"}, states
    messages = page.eval_on_selector_all(".cw-message", "(ms) => ms.filter((m) => !m.hidden).map((m) => m.textContent)")
    assert not messages, messages  # nothing about the boot is shown to the reader
    return page.evaluate("() => window.__courseWidgets.timings")


def wait_stored(page) -> dict:
    page.wait_for_function("() => window.__courseWidgets.snapshot", timeout=BOOT_MS)
    made = page.evaluate("() => window.__courseWidgets.snapshot")
    assert made["state"] == "stored", made
    return made


def run_everything(page) -> dict:
    """Every scenario of every widget, computed by the tab's worker (not only this page's widgets)."""
    results = {}
    for wtype, name, params in every_scenario():
        payload = page.evaluate("([t, p]) => window.__courseWidgets.run(t, p)", [wtype, params])
        assert payload["ok"], (wtype, name, payload)
        payload.pop("compute_ms")
        payload.pop("worker", None)  # the worker's own timings of this run, not a result
        results[f"{wtype}@{name}"] = payload
    return results


@pytest.fixture(scope="module")
def snap(browser, base_url):
    """One page whose context keeps its Cache Storage across the tests of this file."""
    with recording_page(browser, base_url) as page:
        page.lesson_url = base_url + LESSON
        yield page


def test_snapshot_boot_gives_the_results_of_a_normal_boot(snap):
    first = open_lesson(snap, snap.lesson_url)
    assert first["boot"] == "normal"
    normal = run_everything(snap)
    made = wait_stored(snap)
    assert made["bytes"] > 10_000_000
    [entry] = snap.evaluate(ENTRIES)
    assert entry["bytes"] == made["bytes"]

    again = open_lesson(snap, snap.lesson_url)
    assert again["boot"] == "snapshot", again
    assert "snapshot_error" not in again
    assert snap.evaluate("() => window.__courseWidgets.snapshot") is None  # nothing made after a restore
    restored = run_everything(snap)
    assert len(restored) == len(every_scenario()) >= 20
    for name in normal:
        assert restored[name] == normal[name], f"{name}: snapshot boot differs from normal boot"


@pytest.mark.parametrize("damage", ["body", "memory and its checksum"])
def test_a_damaged_snapshot_falls_back_to_a_normal_boot_and_is_replaced(snap, damage):
    if not snap.evaluate(ENTRIES):
        open_lesson(snap, snap.lesson_url)
        wait_stored(snap)
    # "body": garbage as long as the memory in place of the whole body (files and memory), so the
    # checksums refuse it. "memory and its checksum": the stored files kept, the memory replaced by garbage
    # and its checksum recorded for the garbage, so only Pyodide's own check of the snapshot can refuse it.
    [before] = snap.evaluate(
        """async ([cacheName, consistent, module]) => {
          const cache = await caches.open(cacheName);
          const [request] = await cache.keys();
          const old = await cache.match(request);
          const garbage = new Uint8Array(Number(old.headers.get('x-snapshot-bytes')));
          for (let i = 0; i < garbage.length; i += 65536) crypto.getRandomValues(garbage.subarray(i, i + 65536));
          const headers = new Headers(old.headers);
          let body = garbage;
          if (consistent) {
            const { checksum } = await import(new URL(module, location.href));
            const filesLength = JSON.parse(old.headers.get('x-snapshot-files')).reduce((sum, [, size]) => sum + size, 0);
            body = new Blob([(await old.arrayBuffer()).slice(0, filesLength), garbage]);
            headers.delete('x-snapshot-zero-runs');
            headers.set('x-snapshot-checksum', checksum(garbage));
          }
          await cache.put(request, new Response(body, { headers }));
          return [headers.get('x-snapshot-checksum')];
        }""",
        [CACHE, damage != "body", "../../../assets/widgets/snapshot.js"],
    )
    timings = open_lesson(snap, snap.lesson_url)  # no error shown, no console error (recording_page)
    assert timings["boot"] == "normal", timings
    assert timings["snapshot_error"], timings
    wait_stored(snap)
    [entry] = snap.evaluate(ENTRIES)
    assert entry["checksum"] != before
    assert open_lesson(snap, snap.lesson_url)["boot"] == "snapshot"


def test_a_snapshot_for_other_files_is_not_restored(snap, site_dir):
    if not snap.evaluate(ENTRIES):
        open_lesson(snap, snap.lesson_url)
        wait_stored(snap)
    [old] = snap.evaluate(ENTRIES)
    # the same page naming another widgets archive (the same bytes under another address): a new key
    html = (Path(site_dir) / LESSON / "index.html").read_text(encoding="utf-8")
    archive = re.search(r'data-archive="(widgets_py-[0-9a-f]+\.zip)"', html).group(1)
    changed = html.replace(archive, archive + "?build=2")
    snap.route(snap.lesson_url, lambda route: route.fulfill(status=200, content_type="text/html", body=changed))
    try:
        timings = open_lesson(snap, snap.lesson_url)
        assert timings["boot"] == "normal", timings
        assert timings["snapshot_error"] == "the snapshot was made for other files", timings
        wait_stored(snap)
        [new] = snap.evaluate(ENTRIES)  # one entry: the new snapshot replaced the stale one
        assert new["key"] != old["key"]
        assert open_lesson(snap, snap.lesson_url)["boot"] == "snapshot"
    finally:
        snap.unroute(snap.lesson_url)
