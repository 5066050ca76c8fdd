"""Shared fixtures: the built site, a static server that mounts it under a sub-path, and a
Chromium page that records every request and console error.

``COURSE_SITE_DIR`` points at a site built beforehand (``make test`` builds once with
``mkdocs build --strict``); without it the fixture builds one into a temporary folder.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUB_PATH = "/course/"  # served under a sub-path on purpose: the site must not assume "/"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# mkdocs.yml: site_url: !ENV [SITE_URL, "<default>"]
SITE_URL = os.environ.get("SITE_URL") or re.search(
    r'^site_url:.*?(https?://[^"\s\]]+)', (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M).group(1)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def build_site(dest: Path, config: Path = ROOT / "mkdocs.yml") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(config), "-d", str(dest)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory) -> Path:
    prebuilt = os.environ.get("COURSE_SITE_DIR")
    if prebuilt:
        path = Path(prebuilt).resolve()
        assert (path / "index.html").exists(), f"COURSE_SITE_DIR={prebuilt} holds no built site"
        return path
    dest = tmp_path_factory.mktemp("site")
    proc = build_site(dest)
    assert proc.returncode == 0, proc.stderr
    return dest


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".json": "application/json",
    }

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        # The site is built for its site_url; material's instant navigation only follows links listed
        # in sitemap.xml, so serve the sitemap as if the site had been built for this address.
        if self.path.split("?")[0].endswith("/sitemap.xml"):
            local = Path(self.translate_path(self.path))
            if local.is_file():
                here = f"http://{self.headers.get('Host')}{self.path.split('?')[0][: -len('sitemap.xml')]}"
                body = local.read_text(encoding="utf-8").replace(SITE_URL, here).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
        super().do_GET()


@contextlib.contextmanager
def serve_under_sub_path(site: Path, scratch: Path):
    """Serve ``site`` at http://127.0.0.1:<free port>/course/ for the duration of the block."""
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / SUB_PATH.strip("/")).symlink_to(site, target_is_directory=True)
    handler = functools.partial(_QuietHandler, directory=str(scratch))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}{SUB_PATH}"
    finally:
        httpd.shutdown()
        httpd.server_close()  # refuse connections from now on (offline tests rely on it)


@pytest.fixture(scope="session")
def base_url(site_dir, tmp_path_factory) -> str:
    with serve_under_sub_path(site_dir, tmp_path_factory.mktemp("www")) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run 'make browser' (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextlib.contextmanager
def recording_page(browser, base_url: str, **context_options):
    """A fresh browser context (empty storage; ``context_options`` as Playwright's ``new_context``, e.g. a
    viewport or colour scheme). Every request and console error is recorded; on exit it fails if any
    request left the site's origin, or if the console showed an error in a test that did not break
    something on purpose (``page.expect_console_errors = True``)."""
    context = browser.new_context(service_workers="block", **context_options)
    pg = context.new_page()
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
    pg.seen_requests = []
    pg.console_errors = []
    pg.expect_console_errors = False
    pg.on("request", lambda req: pg.seen_requests.append(req.url))
    pg.on("console", lambda msg: msg.type == "error" and pg.console_errors.append(msg.text))
    pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))
    yield pg
    foreign = [
        u for u in pg.seen_requests
        if not u.startswith(origin + "/") and not u.startswith(("data:", "blob:", "about:"))
    ]
    context.close()
    assert not foreign, f"requests left the origin {origin}: {foreign[:5]}"
    assert pg.expect_console_errors or not pg.console_errors, f"console errors: {pg.console_errors[:5]}"


@pytest.fixture
def page(browser, base_url):
    """A recording page (see ``recording_page``) on the project's built site."""
    with recording_page(browser, base_url) as pg:
        yield pg
