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
import time
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

    def end_headers(self) -> None:
        # as a static host would: the site's `_headers` file (the Content Security Policy) on every
        # response, so the policy also reaches the Python worker, which a <meta> tag cannot
        for name, value in site_headers(Path(self.directory)):
            self.send_header(name, value)
        super().end_headers()

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


def site_headers(root: Path) -> list[tuple[str, str]]:
    """The headers the built site's `_headers` file sets for every path (``/*``)."""
    files = [p for p in (root / "_headers", *root.glob("*/_headers")) if p.is_file()]
    out, applies = [], False
    for line in files[0].read_text(encoding="utf-8").splitlines() if files else []:
        if line.startswith("/"):
            applies = line.strip() == "/*"
        elif applies and ":" in line:
            name, value = line.strip().split(":", 1)
            out.append((name.strip(), value.strip()))
    return out


# Playwright's wait_for_function compiles its predicate with eval inside the page, which the site's
# Content Security Policy rightly refuses; evaluate() goes through the DevTools protocol, outside the
# page's policy. So every test waits by polling evaluate() (the same signature and result).
def _wait_for_function(self, expression, *, arg=None, timeout=None, polling=None):
    from playwright.sync_api import Error, TimeoutError

    deadline = time.monotonic() + (30_000 if timeout is None else timeout) / 1000
    interval = polling if isinstance(polling, (int, float)) else 50
    while True:
        try:
            value = self.evaluate(expression, arg)
        except Error as err:  # a navigation replaced the document meanwhile: ask the next one
            if "context was destroyed" not in str(err) and "navigat" not in str(err):
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"wait_for_function: not true within {timeout} ms: {expression[:120]}")
        self.wait_for_timeout(interval)


def watch_csp(context) -> list[str]:
    """Every `securitypolicyviolation` the pages of ``context`` report, as text (the list fills live)."""
    violations: list[str] = []
    context.expose_binding("__reportCspViolation", lambda source, text: violations.append(text))
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => window.__reportCspViolation("
        "`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`));"
    )
    return violations


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
    from playwright.sync_api import Page

    Page.wait_for_function = _wait_for_function
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextlib.contextmanager
def recording_page(browser, base_url: str, **context_options):
    """A page in a fresh browser context (empty storage; ``context_options`` as Playwright's
    ``new_context``, e.g. a viewport or colour scheme). Every request, console error and Content
    Security Policy violation is recorded; at the end of the block it fails if any request left the
    site's origin, if the policy was violated, or if the console showed an error in a test that did
    not break something on purpose (``page.expect_console_errors = True``)."""
    context = browser.new_context(service_workers="block", **context_options)
    pg = context.new_page()
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
    pg.seen_requests = []
    pg.console_errors = []
    pg.expect_console_errors = False
    pg.on("request", lambda req: pg.seen_requests.append(req.url))
    pg.on("console", lambda msg: msg.type == "error" and pg.console_errors.append(msg.text))
    pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))
    pg.csp_violations = watch_csp(context)
    yield pg
    foreign = [
        u for u in pg.seen_requests
        if not u.startswith(origin + "/") and not u.startswith(("data:", "blob:", "about:"))
    ]
    context.close()
    assert not foreign, f"requests left the origin {origin}: {foreign[:5]}"
    assert not pg.csp_violations, f"Content Security Policy violations: {pg.csp_violations[:5]}"
    assert pg.expect_console_errors or not pg.console_errors, f"console errors: {pg.console_errors[:5]}"


@pytest.fixture
def page(browser, base_url):
    """A recording page (see ``recording_page``) with the browser's default window and colour scheme."""
    with recording_page(browser, base_url) as pg:
        yield pg


@pytest.fixture
def page_factory(browser, base_url):
    """``page_factory(color_scheme="dark", viewport={...})``: recording pages with context options."""
    with contextlib.ExitStack() as stack:
        yield lambda **options: stack.enter_context(recording_page(browser, base_url, **options))


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(pg, include: str | None = None, exclude: str | None = None) -> list[str]:
    """axe-core's violations of ANY impact on the page (or within the ``include`` selector, without
    ``exclude``), one line each. axe is evaluated through the DevTools protocol: an injected <script>
    would (rightly) be refused by the site's Content Security Policy."""
    if not pg.evaluate("typeof window.axe === 'object'"):
        pg.evaluate(AXE.read_text(encoding="utf-8"))
    results = pg.evaluate(
        "([include, exclude]) => axe.run(include || exclude ? { include: [include || 'html'], exclude: exclude ? [exclude] : [] }"
        " : document, { resultTypes: ['violations'] })",
        [include, exclude],
    )
    assert results["passes"] or results["incomplete"] or results["inapplicable"], "axe checked nothing"
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
    ]


def first_search_result(pg, query: str):
    """Types ``query`` into the theme's search and returns the first result's link (once shown)."""
    search = pg.locator("input.md-search__input")
    search.click()
    result = pg.locator("a.md-search-result__link").first
    for _ in range(20):  # a query typed before the search worker has its index shows nothing: type again
        search.fill("")
        search.press_sequentially(query)
        try:
            result.wait_for(timeout=3_000)
            return result
        except Exception:
            continue
    pytest.fail(f"search for {query!r} showed no result")
