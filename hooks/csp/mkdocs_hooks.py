"""MkDocs adapter for the Content Security Policy (the work is in policy.py).

* on_post_page / on_post_template: each page's final HTML gets the policy's <meta> placeholder as the
  first element of <head>;
* on_post_build: the policy is computed from the written pages (every inline script hashed, so new
  inline scripts are allowed automatically), filled into each page, and written to ``_headers``.

``mkdocs serve`` previews without a policy: its live-reload injects an inline script into every page.
"""

from __future__ import annotations

from pathlib import Path

from hooks.csp import policy
from hooks.offline.mkdocs_hooks import SHIM

_state = {"command": "build"}


def on_startup(command: str, **kwargs) -> None:
    _state["command"] = command


def on_post_page(output: str, page, config) -> str:
    return output if _state["command"] == "serve" else policy.with_placeholder(output)


def on_post_template(output_content: str, template_name: str, config) -> str:
    if _state["command"] == "serve" or not template_name.endswith(".html"):
        return output_content
    return policy.with_placeholder(output_content)


def on_post_build(config) -> None:
    if _state["command"] == "serve":
        return
    site = Path(config["site_dir"])
    pages, texts = [], []  # each file read once
    for path in sorted(site.rglob("*.html")):
        html = path.read_text(encoding="utf-8")
        if policy.META_PLACEHOLDER in html:
            pages.append(path)
            texts.append(html)
    # search from file:// runs its worker in an iframe; hooks/offline copies that shim into the site
    # after this hook (its service worker must list the pages as filled here), so read its source
    text = policy.site_policy(texts, SHIM.read_text(encoding="utf-8") if SHIM.is_file() else None)
    for path, html in zip(pages, texts):
        path.write_text(policy.fill(html, text), encoding="utf-8")
    (site / "_headers").write_text(policy.headers_file(text), encoding="utf-8")
