"""Where the first slider moves' chart milliseconds go, on one widget's lesson (issue 13 §5).

    /work/bin/slot .venv/bin/python -m tests.chart_profile --site .cache/bench-site --widget distributed_training_lab

Opens the lesson twice in one profile (the second visit with the runtime files cached, as tests/bench.py
does), then, from the moment every widget is ready, wraps the page's vegaEmbed and vegaLite.compile once
Vega has loaded, moves the first ``--moves`` sliders as the bench does, and prints each move's times with
every compile and embed (page start time, duration) and the page's long tasks after ready. Timings are a
diagnosis, not a target: the targets are checked by tests/bench.py.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests import bench

# Installed right after ready: Vega is loaded after that (widgets.js), so wait for it, then wrap.
WRAP_VEGA = """() => {
  const prof = window.__chartProfile = { embeds: [], compiles: [], longtasks: [], vegaAt: null };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) prof.longtasks.push([Math.round(e.startTime), Math.round(e.duration)]);
  }).observe({ type: 'longtask', buffered: true });
  const timed = (fn, into) => (...args) => {
    const t = performance.now();
    const out = fn(...args);
    const done = () => into.push([Math.round(t), Math.round(performance.now() - t)]);
    if (out && typeof out.then === 'function') out.then(done, done); else done();
    return out;
  };
  const wrap = () => {
    if (!window.vegaEmbed || !window.vegaLite) { setTimeout(wrap, 5); return; }
    prof.vegaAt = Math.round(performance.now());
    window.vegaEmbed = timed(window.vegaEmbed, prof.embeds);
    window.vegaLite.compile = timed(window.vegaLite.compile, prof.compiles);
  };
  wrap();
  return performance.now();
}"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=Path, required=True, help="a built site (mkdocs build -d DIR)")
    parser.add_argument("--widget", required=True, help="widget type, e.g. distributed_training_lab")
    parser.add_argument("--moves", type=int, default=3, help="how many slider moves to make (default 3)")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    if not (site / "course.json").is_file():
        print(f"error: --site {args.site}: no course.json there; build the site first", file=sys.stderr)
        return 2
    plans = [p for p in bench.control_plan(site) if p["widget"] == args.widget]
    if not plans:
        print(f"error: --widget {args.widget}: not a widget of this site", file=sys.stderr)
        return 2
    plan = plans[0]
    server = bench.Server(site)
    work = Path(tempfile.mkdtemp(prefix="chart-profile-"))
    try:
        with sync_playwright() as pw:
            url = f"{server.origin}/course/{plan['url'].lstrip('/')}"
            with bench.ready_lesson(pw, url, work / "profile"):  # fills the HTTP cache
                pass
            with bench.ready_lesson(pw, url, work / "profile") as page:
                ready_at = page.evaluate(WRAP_VEGA)
                moves = page.evaluate(bench.MOVE_SLIDERS, {"widget": plan["widget"], "moves": plan["moves"][:args.moves]})
                prof = page.evaluate("() => window.__chartProfile")
    finally:
        server.close()
    print(f"ready at {ready_at:.0f} ms, Vega loaded at {prof['vegaAt']} ms (page clock)")
    for m in moves:
        if m.get("skip") or m.get("error"):
            print(f"{m['param']}: {m.get('skip') or m.get('error')}")
            continue
        print(f"{m['param']}: metrics {m['metrics_ms']:.0f} ms, charts {m['charts_ms']:.0f} ms, "
              f"compute {m['compute_ms']:.0f} ms, delivery {m['delivery_ms'] or 0:.0f} ms")
    print("vegaLite.compile [start, ms]:", prof["compiles"])
    print("vegaEmbed [start, ms]:", prof["embeds"])
    print("long tasks from ready [start, ms]:", [t for t in prof["longtasks"] if t[0] + t[1] >= ready_at])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
