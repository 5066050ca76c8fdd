"""The Content Security Policy: the pure policy code, and the policy of the built site (every page
carries it, it allows exactly the inline scripts the pages hold, and nothing unsafe)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hooks.csp import policy

META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


def directives(text: str) -> dict[str, list[str]]:
    out = {}
    for part in text.split(";"):
        name, *sources = part.split()
        assert name not in out, f"{name} appears twice"
        out[name] = sources
    return out


def test_script_hash_is_the_browsers():
    # the value Chromium prints for <script>alert(1)</script> when it refuses it
    assert policy.script_hash("alert(1)") == "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"


def test_scan_finds_executable_inline_scripts_and_embeds_only():
    html = (
        '<head><script src="a.js"></script><script>one()</script>'
        '<script type="application/json">{"x": "</p>"}</script><script type="module">two()</script></head>'
        '<body><div data-embed="https://video.example/embed/x?t=1"></div><script>\n  three("<b>")\n</script>'
    )
    scripts, embeds = policy.scan(html)
    assert scripts == ["one()", "two()", '\n  three("<b>")\n']
    assert embeds == ["https://video.example/embed/x?t=1"]


def test_an_authored_script_in_the_page_content_is_not_allowed():
    # a lesson body may contain <script>; the theme's own scripts sit outside <article>
    html = ('<head><script>theme()</script></head><body><article class="md-content__inner">'
            '<div data-embed="https://v.example/e/1"></div><script>alert(1)</script></article>'
            '<script>after()</script></body>')
    scripts, embeds = policy.scan(html)
    assert scripts == ["theme()", "after()"]
    assert embeds == ["https://v.example/e/1"]
    assert policy.script_hash("alert(1)") not in policy.site_policy([html])


def test_site_policy_hashes_every_page_and_frames_only_https_embeds():
    pages = ["<script>a()</script>", '<script>b()</script><p data-embed="https://v.example/e/1"></p>',
             '<p data-embed="javascript:alert(1)"></p>']
    d = directives(policy.site_policy(pages))
    assert set(d["script-src"]) == {"'self'", "'wasm-unsafe-eval'", policy.script_hash("a()"), policy.script_hash("b()")}
    assert d["frame-src"] == ["https://v.example"]
    assert directives(policy.site_policy(["<p></p>"]))["frame-src"] == ["'none'"]


def test_placeholder_goes_first_in_head_once():
    html = '<!doctype html><html><head lang="en"><meta charset="utf-8"><script>x()</script></head></html>'
    once = policy.with_placeholder(html)
    assert once == policy.with_placeholder(once)
    assert once.index(policy.META_PLACEHOLDER) < once.index("<meta charset") < once.index("<script>")
    assert policy.with_placeholder("no head here") == "no head here"


# --- the built site -------------------------------------------------------------------------------

def built_pages(site: Path) -> list[Path]:
    return [p for p in sorted(site.rglob("*.html")) if not p.relative_to(site).parts[0] == "assets"]


@pytest.fixture(scope="module")
def site_policy_text(site_dir) -> str:
    headers = (site_dir / "_headers").read_text(encoding="utf-8").splitlines()
    assert headers[0] == "/*" and headers[1].startswith("  Content-Security-Policy: ")
    return headers[1].split(": ", 1)[1]


def test_policy_is_strict(site_policy_text):
    d = directives(site_policy_text)
    assert d["default-src"] == ["'self'"]
    assert d["script-src"][:2] == ["'self'", "'wasm-unsafe-eval'"]
    assert all(s.startswith("'sha256-") for s in d["script-src"][2:])
    assert "'unsafe-inline'" not in site_policy_text and "'unsafe-eval'" not in site_policy_text
    assert d["object-src"] == ["'none'"] and d["base-uri"] == ["'self'"] and d["form-action"] == ["'self'"]
    assert d["worker-src"] == ["'self'"] and d["style-src"] == ["'self'"] and d["img-src"] == ["'self'", "data:"]
    assert d["frame-src"] == ["https://www.youtube-nocookie.com"]  # the click-to-load video player


def test_every_page_carries_the_policy_and_it_allows_exactly_its_inline_scripts(site_dir, site_policy_text):
    pages = built_pages(site_dir)
    assert len(pages) > 10
    allowed = set(directives(site_policy_text)["script-src"][2:])
    needed = set()
    for path in pages:
        html = path.read_text(encoding="utf-8")
        metas = META.findall(html)
        assert metas == [site_policy_text], f"{path.relative_to(site_dir)}: policy missing or different"
        # first thing in <head>: a meta policy governs only what follows it
        assert html.index("<meta http-equiv=\"Content-Security-Policy\"") < html.index("<script"), path
        assert ' style="' not in html, f"{path.relative_to(site_dir)}: an inline style attribute"
        scripts, _ = policy.scan(html)
        needed |= {policy.script_hash(s) for s in scripts}
        shim = site_dir / "assets" / "vendor" / "iframe-worker" / "shim.js"
        if shim.is_file():  # search from file:// writes one script per search worker URL into a frame
            frame_scripts = policy.iframe_worker_scripts(shim.read_text(encoding="utf-8"), set(policy.search_worker_urls(html)))
            needed |= {policy.script_hash(s) for s in frame_scripts}
    assert needed == allowed
