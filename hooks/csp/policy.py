"""The site's Content Security Policy, computed from the final HTML of the built pages (plain Python).

One policy for the whole site: material's instant navigation keeps the first page's document (and so
its policy) while it runs the inline scripts of every page it swaps in, so the policy must allow the
inline scripts of all pages. Each is allowed by its sha256 hash, never by ``'unsafe-inline'``.

Why each source is there:

* ``script-src 'self' 'wasm-unsafe-eval' 'sha256-…'``: our modules, the theme's bundle and the vendored
  Vega builds are files of the site; Pyodide compiles WebAssembly (``'wasm-unsafe-eval'`` allows
  exactly that, not JavaScript ``eval``); the hashes are the theme's inline scripts (its local storage
  helpers, the colour-scheme switch, the tabbed-content restore) and the widgets' early worker start.
  Vega needs no ``eval``: charts are parsed to an AST and run by vega-interpreter (``ast: true``).
* ``img-src 'self' data:``: mkdocs-material draws its icons (admonitions, details, the copy button) as
  CSS masks from ``data:`` SVG URLs in its stylesheet; no other image comes from anywhere but the site.
* ``style-src 'self'``: every style sheet is a file; tables align with the ``align`` attribute
  (mkdocs.yml, ``use_align_attribute``) rather than ``style`` attributes.
* ``frame-src``: only the video host of the click-to-load player (taken from the pages'
  ``data-embed`` attributes); no frame loads before the reader presses play.
* ``worker-src 'self'``: the Python worker, the search worker and any service worker are site files.

No ``blob:`` anywhere: downloads are ``blob:`` links the reader saves, which CSP does not govern.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

META_PLACEHOLDER = '<meta http-equiv="Content-Security-Policy" content="__COURSE_CSP__">'
# Script types the browser executes (an inline <script type="application/json"> is data, not code).
_SCRIPT_TYPES = {"", "text/javascript", "application/javascript", "module"}


class _InlineScripts(HTMLParser):
    """Collects the exact text of every executable inline <script> and every data-embed URL. Scripts
    inside <article> are left out: that is the page's authored content (the theme and the course put
    no inline script there), and hashing it would let a lesson's own <script> run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.embeds: list[str] = []
        self._current: list[str] | None = None
        self._articles = 0  # depth of open <article> elements

    def handle_starttag(self, tag, attrs):
        if tag == "article":
            self._articles += 1
        attributes = dict(attrs)
        if "data-embed" in attributes and attributes["data-embed"]:
            self.embeds.append(attributes["data-embed"])
        if tag == "script" and "src" not in attributes:
            kind = (attributes.get("type") or "").strip().lower()
            self._current = [] if kind in _SCRIPT_TYPES and not self._articles else None

    def handle_data(self, data):
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag):
        if tag == "article" and self._articles:
            self._articles -= 1
        if tag == "script" and self._current is not None:
            self.scripts.append("".join(self._current))
            self._current = None


def scan(html: str) -> tuple[list[str], list[str]]:
    """(texts of the executable inline scripts, data-embed URLs) of one page."""
    parser = _InlineScripts()
    parser.feed(html)
    parser.close()
    return parser.scripts, parser.embeds


def script_hash(text: str) -> str:
    """The CSP hash source of an inline script: sha256 over its UTF-8 text, as the browser hashes it."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        return None
    return f"https://{parts.netloc}"


def policy(script_hashes: set[str], frame_origins: set[str]) -> str:
    """The policy text: one directive per purpose, sorted hashes so identical sites give identical text."""
    directives = [
        ("default-src", ["'self'"]),
        ("script-src", ["'self'", "'wasm-unsafe-eval'", *sorted(script_hashes)]),
        ("style-src", ["'self'"]),
        ("img-src", ["'self'", "data:"]),
        ("font-src", ["'self'"]),
        ("connect-src", ["'self'"]),
        ("worker-src", ["'self'"]),
        ("frame-src", sorted(frame_origins) or ["'none'"]),
        ("object-src", ["'none'"]),
        ("base-uri", ["'self'"]),
        ("form-action", ["'self'"]),
    ]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives)


def with_placeholder(html: str) -> str:
    """The page with the policy's <meta> placeholder as the first element of <head> (a meta policy
    only governs what comes after it)."""
    if META_PLACEHOLDER in html:
        return html
    start = html.find("<head")
    end = html.find(">", start) if start != -1 else -1
    if end == -1:
        return html
    return html[: end + 1] + META_PLACEHOLDER + html[end + 1 :]


def fill(html: str, policy_text: str) -> str:
    # the policy holds only quotes-free tokens and single quotes: safe inside a double-quoted attribute
    return html.replace(META_PLACEHOLDER, META_PLACEHOLDER.replace("__COURSE_CSP__", policy_text))


def headers_file(policy_text: str) -> str:
    """The same policy for hosts that set response headers from a ``_headers`` file (Netlify,
    Cloudflare Pages); a header also covers the Python worker, which a <meta> tag cannot reach."""
    return f"/*\n  Content-Security-Policy: {policy_text}\n"


_CONFIG = re.compile(r'<script id="__config" type="application/json">(.*?)</script>', re.S)


def search_worker_urls(html: str) -> list[str]:
    """The search worker URL the theme's configuration gives on this page (relative to the page)."""
    found = _CONFIG.search(html)
    try:
        url = json.loads(found.group(1)).get("search") if found else None
    except ValueError:
        return []
    return [url] if isinstance(url, str) else []


def _function_source(source: str, head: str) -> str:
    """The text of the minified function starting with ``head`` (braces balanced)."""
    start = source.index(head)
    depth = 0
    for i in range(source.index("{", start), len(source)):
        depth += {"{": 1, "}": -1}.get(source[i], 0)
        if depth == 0:
            return source[start : i + 1]
    raise ValueError(f"unbalanced function {head!r}")


def iframe_worker_scripts(shim_source: str, worker_urls: set[str]) -> list[str]:
    """The inline script the iframe-worker shim (search from file://) writes into its frame for each
    worker URL: the frame inherits the page's policy, so these must be hashed too. The text is the
    shim's template filled with its two helper functions' sources and the URL as the theme passes it."""
    post = _function_source(shim_source, "function c(s,n)")
    imports = _function_source(shim_source, "function d(...s)")
    return [f'postMessage={post};importScripts={imports};addEventListener("error",({{error}})=>'
            f'{{parent.dispatchEvent(new ErrorEvent("error",{{filename:"{url}",error}}))}})'
            for url in sorted(worker_urls)]


def site_policy(pages: list[str], shim_source: str | None = None) -> str:
    """The policy allowing the inline scripts and video frames of every given page (and, with the
    iframe-worker shim's source, the scripts it writes for each page's search worker)."""
    hashes: set[str] = set()
    frames: set[str] = set()
    workers: set[str] = set()
    for html in pages:
        scripts, embeds = scan(html)
        hashes.update(script_hash(text) for text in scripts)
        frames.update(o for o in map(origin, embeds) if o)
        workers.update(search_worker_urls(html))
    if shim_source:
        hashes.update(script_hash(text) for text in iframe_worker_scripts(shim_source, workers))
    return policy(hashes, frames)
