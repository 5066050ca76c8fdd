"""The service worker that keeps the course offline after one visit (its code: hooks/offline/sw.js).

The build writes ``sw.js`` at the site root (so its scope is the whole site, at ``/`` or a sub-path):
a ``BUILD`` constant, then the worker's code. ``BUILD`` lists every file the site serves with a hash
of its content; its version is a hash of that list, so any change to any file is a new service worker
and readers are offered a reload. Files fall in two groups: ``core`` (pages, styles, scripts, charts)
saved on the first visit, and ``runtime`` (Pyodide, numpy, the widgets archive, the live-chart code),
saved once the page asks for it, which it does not under data saver.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

SOURCE = Path(__file__).with_name("sw.js")
SW_NAME = "sw.js"
# big files needed only to simulate live
RUNTIME_PREFIXES = ("assets/pyodide/", "assets/widgets/widgets_py-", "assets/widgets/worker.js",
                    "assets/widgets/files_worker.js", "assets/widgets/snapshot", "assets/vendor/vega")
# the Python worker's scripts (overrides/assets/widgets/): the worker, its snapshot boot and the worker that
# unpacks a first visit's files
WORKER_FILES = ("worker.js", "snapshot.js", "snapshot_maker.js", "files_worker.js")
# never requested by a hosted page: precompressed twins, the file:// search index, the sitemap archive
SKIP_SUFFIXES = (".br", ".gz")
SKIP_FILES = {SW_NAME, "search/search_index.js"}
# saved without checking its hash: it lists absolute URLs, which a host may rewrite for the address it
# serves (the test server does); nothing on a page depends on its bytes
UNCHECKED = ["sitemap.xml"]


def url_key(path: str) -> str:
    """The URL (relative to the site root) a file is requested at: folders for their index.html."""
    if path == "index.html":
        return ""
    return path[: -len("index.html")] if path.endswith("/index.html") else path


def build_manifest(site_dir: Path) -> dict:
    site = Path(site_dir)
    files, runtime, runtime_bytes = {}, [], 0
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        rel = path.relative_to(site).as_posix()
        if rel in SKIP_FILES or rel.endswith(SKIP_SUFFIXES):
            continue
        key = url_key(rel)
        files[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        if rel.startswith(RUNTIME_PREFIXES):
            runtime.append(key)
            runtime_bytes += path.stat().st_size
    version = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    return {"version": version, "files": files, "runtime": runtime, "runtime_bytes": runtime_bytes,
            "unchecked": [key for key in UNCHECKED if key in files]}


def runtime_download_bytes() -> int | None:
    """What going live downloads (the ``runtime`` group), from the sources the build copies; None when
    the runtime is not installed (the widgets then name no size)."""
    from hooks.widgets import build, runtime_assets

    try:
        files = [*runtime_assets.shipped_files(), *build.VENDOR_FILES.values(),
                 *(build.ROOT / "overrides" / "assets" / "widgets" / name for name in WORKER_FILES)]
        return sum(path.stat().st_size for path in files) + len(build.widgets_archive()[1])
    except (runtime_assets.RuntimeAssetError, OSError):
        return None


def write_service_worker(site_dir: Path, source: Path = SOURCE) -> dict:
    manifest = build_manifest(site_dir)
    code = f"const BUILD = {json.dumps(manifest, separators=(',', ':'))};\n" + source.read_text(encoding="utf-8")
    (Path(site_dir) / SW_NAME).write_text(code, encoding="utf-8")
    return manifest
