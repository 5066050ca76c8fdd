"""Build time as the course grows: ``python -m tests.bench_build`` (``make bench`` runs it too).

The project's docs are copied into a temporary folder and N generated lessons are added there (copies
of lesson 1 with their own ids, 25 to a chapter, chained by prerequisites so ordering has work to do);
``mkdocs build --strict`` is timed on each size. The marginal cost per lesson is
``(t(N) - t(0)) / N``; a linear build keeps it flat, so the ratio of the cost at 400 to the cost at 50
is the figure to watch (target: at most 1.5).

``--serve`` also measures ``mkdocs serve`` on a course with ``--serve-lessons`` added lessons: the
time from saving an edit to one lesson until the server returns the edited page, with a full rebuild
(``make serve``) and with ``--dirty`` (``make serve SERVE_FLAGS=--dirty``: only changed pages).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml
from mkdocs.utils.yaml import get_yaml_loader

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "docs" / "lessons" / "ai-builder-ch4" / "ai-builder-ch4-lesson1.md"
PER_CHAPTER = 25
RESULTS = ROOT / "bench-results" / "build.json"
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def generated_id(i: int) -> str:
    return f"bench-lesson-{i:04d}"


def add_lessons(docs: Path, count: int) -> list[Path]:
    """Write ``count`` lessons into chapter folders ``lessons/bench-chNN/`` of ``docs``."""
    text = TEMPLATE.read_text(encoding="utf-8")
    paths = []
    for i in range(count):
        chapter = docs / "lessons" / f"bench-ch{i // PER_CHAPTER:02d}"
        if not (chapter / "index.md").exists():
            chapter.mkdir(parents=True)
            (chapter / "index.md").write_text(
                f"---\ntitle: Bench chapter {i // PER_CHAPTER}\nsummary: Generated lessons for the build benchmark.\n"
                f"order: {100 + i // PER_CHAPTER}\n---\n\n# Bench chapter {i // PER_CHAPTER}\n", encoding="utf-8")
        lesson = re.sub(r"^id: .*$", f"id: {generated_id(i)}", text, count=1, flags=re.M)
        lesson = re.sub(r"^prereqs: .*$", f"prereqs: [{generated_id(i - 1)}]" if i else "prereqs: []", lesson, count=1, flags=re.M)
        lesson = re.sub(r"^next: .*$", "next: null", lesson, count=1, flags=re.M)
        path = chapter / f"{generated_id(i)}.md"
        path.write_text(lesson, encoding="utf-8")
        paths.append(path)
    return paths


def make_site(work: Path, count: int) -> Path:
    """A copy of the project's docs with ``count`` lessons added, and its mkdocs.yml; the config path."""
    docs = work / "docs"
    shutil.copytree(ROOT / "docs", docs)
    add_lessons(docs, count)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=get_yaml_loader())  # resolves !ENV
    config.update(docs_dir=str(docs), site_dir=str(work / "site"))
    config["theme"]["custom_dir"] = str(ROOT / "overrides")
    config["hooks"] = [str(ROOT / h) for h in config["hooks"]]
    path = work / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def time_build(config: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(config)],
                          cwd=ROOT, capture_output=True, text=True, env=ENV)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"error: build of {config} failed:\n{proc.stderr[-2000:]}")
    return elapsed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8", "replace")
    except OSError:
        return None


def time_serve_reload(work: Path, count: int, *flags: str, timeout: float = 900.0) -> dict:
    """Start ``mkdocs serve`` on a course with ``count`` added lessons, edit one lesson's body and time
    how long until the server returns the edited page."""
    config = make_site(work, count)
    lesson = work / "docs" / "lessons" / "bench-ch00" / f"{generated_id(0)}.md"
    port = _free_port()
    url = f"http://127.0.0.1:{port}/lessons/bench-ch00/{generated_id(0)}/"
    proc = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "--no-livereload", "-f", str(config),
                             "--dev-addr", f"127.0.0.1:{port}", *flags], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        t = time.perf_counter()
        while _fetch(url) is None:
            if proc.poll() is not None or time.perf_counter() - t > timeout:
                raise SystemExit("error: mkdocs serve did not start")
            time.sleep(0.2)
        first = time.perf_counter() - t
        time.sleep(1.0)  # let the file watcher settle after the first build
        marker = f"bench-edit-{time.time_ns()}"
        lesson.write_text(lesson.read_text(encoding="utf-8") + f"\n\nEdited: {marker}\n", encoding="utf-8")
        t = time.perf_counter()
        while marker not in (_fetch(url) or ""):
            if proc.poll() is not None or time.perf_counter() - t > timeout:
                raise SystemExit("error: mkdocs serve did not rebuild after the edit")
            time.sleep(0.05)
        return {"lessons_added": count, "flags": list(flags), "first_build_s": first,
                "edit_to_served_s": time.perf_counter() - t}
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def run(sizes: list[int], serve_lessons: int | None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-build-"))
    try:
        times = {}
        for n in sizes:
            times[n] = time_build(make_site(work / f"n{n}", n))
            print(f"mkdocs build --strict, +{n:<4} lessons: {times[n]:7.1f} s", flush=True)
        base = times[sizes[0]]
        marginal = {n: (times[n] - base) / (n - sizes[0]) for n in sizes[1:]}
        for n, cost in marginal.items():
            print(f"  marginal cost per lesson at +{n}: {cost * 1000:7.0f} ms")
        ratio = marginal[sizes[-1]] / marginal[sizes[1]] if len(sizes) > 2 and marginal[sizes[1]] > 0 else None
        if ratio is not None:
            print(f"  marginal-cost ratio +{sizes[-1]} / +{sizes[1]}: {ratio:.2f}x (target <= 1.5x)")
        out = {"build_s": times, "marginal_s": marginal, "ratio": ratio}
        if serve_lessons is not None:
            out["serve"] = []
            for flags in ((), ("--dirty",)):
                serve = time_serve_reload(work / f"serve{len(flags)}", serve_lessons, *flags)
                print(f"mkdocs serve {' '.join(flags)}, +{serve_lessons} lessons: first build {serve['first_build_s']:.1f} s; "
                      f"edit one lesson -> edited page served {serve['edit_to_served_s']:.2f} s (target <= 3 s)", flush=True)
                out["serve"].append(serve)
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench_build", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,50,400", help="lessons to add, comma-separated; first is the base")
    parser.add_argument("--serve", action="store_true", help="also time a mkdocs serve rebuild after one edit")
    parser.add_argument("--serve-lessons", type=int, default=200)
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    out = run(sizes, args.serve_lessons if args.serve else None)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1))
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
