"""MkDocs adapter for the offline work (the plain code is in bundle.py).

* on_config: every ``type: module`` script of ``extra_javascript`` that lives in ``overrides/`` is
  bundled with what it imports into one classic script (see bundle.py) and the pages load that instead;
  the scripts overrides/main.html places (the <head> script that starts the Python worker early, the
  file:// adjustment of material's configuration) are bundled the same way. Search gets the
  iframe-worker shim (vendored) so it also works from file://.
* on_page_context: pages with live widgets name their widget types and archive for the <head> script.
* on_post_build: bundles, the shim and ``search/search_index.js`` (the search index as a script, the
  form mkdocs-material's search reads on file://) are written into the site, and last the service
  worker ``sw.js`` that lists every file (service_worker.py; not under ``mkdocs serve``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from mkdocs.config.config_options import ExtraScriptValue
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

from hooks.offline import bundle, service_worker

# scripts placed by overrides/main.html: {config.extra key: entry module}
PLACED_ENTRIES = {
    "course_head_script": "assets/widgets/head.js",  # <head> of widget pages: starts the Python worker
    "course_config_script": "assets/course/disk.js",  # between material's config and its bundle
}
SHIM = bundle.ROOT / "node_modules" / "iframe-worker" / "shim" / "index.js"
SHIM_DEST = "assets/vendor/iframe-worker/shim.js"
_LIVE_WIDGET = re.compile(r'data-widget="([a-z0-9_]+)" data-state="static" data-archive="([^"]+)"')
_state: dict = {"bundles": [], "command": "build"}


def on_startup(command: str, **kwargs) -> None:
    _state["command"] = command


def on_config(config):
    bundles, scripts = [], []
    try:
        for script in config.extra_javascript:
            entry = str(script)
            if getattr(script, "type", "") == "module" and (bundle.OVERRIDES / entry).is_file():
                built = bundle.bundle(entry)
                bundles.append(built)
                script = ExtraScriptValue(built.path)
            scripts.append(script)
        placed = {key: bundle.bundle(entry) for key, entry in PLACED_ENTRIES.items()}
    except bundle.BundleError as err:
        raise PluginError(f"course scripts: {err}") from None
    config.extra_javascript = scripts
    for key, built in placed.items():
        config.extra[key] = built.path
    # mkdocs-material loads config.extra.polyfills first; on file:// this shim runs its search worker
    polyfills = [p for p in config.extra.get("polyfills", []) if p != SHIM_DEST]
    config.extra["polyfills"] = [SHIM_DEST, *polyfills]
    _state["bundles"] = [*bundles, *placed.values()]
    # no service worker under `mkdocs serve`: it would keep serving saved copies of pages being edited
    config.extra["course_service_worker"] = _state["command"] != "serve"
    config.extra["course_runtime_bytes"] = service_worker.runtime_download_bytes()
    return config


def on_page_context(context, page, config, nav):
    found = _LIVE_WIDGET.findall(page.content or "")
    if found:
        types = " ".join(dict.fromkeys(t for t, _ in found))
        page.meta["course_widgets"] = {"types": types, "archive": found[0][1]}
    return context


@event_priority(-100)  # last: the service worker lists every file the other hooks and plugins wrote
def on_post_build(config) -> None:
    site = Path(config.site_dir)
    bundle.write_bundles(site, _state["bundles"])
    if not SHIM.exists():
        raise PluginError(f"{SHIM} not found: run 'make install' (npm ci)")
    (site / SHIM_DEST).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHIM, site / SHIM_DEST)
    index = site / "search" / "search_index.json"
    if index.is_file():
        (site / "search" / "search_index.js").write_text(
            "var __index = " + index.read_text(encoding="utf-8"), encoding="utf-8")
    if config.extra.get("course_service_worker"):
        service_worker.write_service_worker(site)
