"""Page generation (plain Python, no MkDocs): widget placement, escaping, links, the manifest."""

from __future__ import annotations

import json

import pytest

from hooks.lessons import course as course_mod
from hooks.lessons import manifest, pages
from tests.fixtures.lessons import sitekit

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def course(tmp_path):
    docs = sitekit.copy_docs(tmp_path, sitekit.FIXTURES / "escaping")
    beta = docs / "lessons" / "beta.md"
    beta.write_text(beta.read_text().replace(
        "widgets: []",
        "widgets:\n  - {type: scaling_strategy_simulator, data: /widgets/a.json}\n"
        "  - {type: cost_performance_dashboard, data: /widgets/b.json}",
    ))
    # Scenario files are validated by widgets_py; these tests are about placement only.
    loaded = course_mod.load(docs)
    assert [p.path for p in loaded.problems] == ["widgets[0].data", "widgets[1].data"]
    return loaded


def fake_render(wtype: str, data: str) -> str:
    return f"<div data-fake='{wtype}|{data}'></div>"


def test_marker_places_widget_and_the_rest_go_to_try_it(course):
    beta = course.get("beta")
    content = "<p>intro</p>\n<!-- widget: cost_performance_dashboard -->\n<pre><code>&lt;!-- widget: scaling_strategy_simulator --&gt;</code></pre>"
    html = pages.place_widgets(content, beta, fake_render)
    placed, _, try_it = html.partition('<section class="lesson-try-it"')
    assert "<div data-fake='cost_performance_dashboard|/widgets/b.json'></div>" in placed
    assert "&lt;!-- widget: scaling_strategy_simulator --&gt;" in placed  # code stays code
    assert "<div data-fake='scaling_strategy_simulator|/widgets/a.json'></div>" in try_it
    assert "cost_performance_dashboard" not in try_it


def test_all_markers_placed_means_no_try_it(course):
    beta = course.get("beta")
    content = "<!-- widget: scaling_strategy_simulator -->\n<!-- widget: cost_performance_dashboard -->"
    html = pages.place_widgets(content, beta, fake_render)
    assert "lesson-try-it" not in html
    assert html.count("class=\"lesson-widget\"") == 2


def test_generated_html_escapes_authored_text(course):
    alpha = course.get("alpha")
    url = alpha.url
    generated = (
        pages.lesson_header(alpha, course, url) + pages.lesson_footer(alpha, course, url)
        + pages.quiz_page(alpha, course, alpha.quiz_url) + pages.flashcards_page(alpha, course, alpha.flashcards_url)
        + pages.course_map(course, "") + pages.tags_page(course, course.tags_url)
    )
    assert XSS not in generated and "<script>" not in generated
    assert "&lt;img src=x onerror=alert(1)&gt;" in generated


def test_problems_banner_escapes_messages():
    from hooks.lessons.validate import Problem

    banner = pages.problems_banner([Problem("docs/lessons/x.md", 3, "title", XSS)])
    assert "docs/lessons/x.md:3 title: &lt;img src=x onerror=alert(1)&gt;" in banner
    assert pages.problems_banner([]) == ""


def test_links_are_relative_from_every_generated_page(course):
    alpha = course.get("alpha")
    quiz = pages.quiz_page(alpha, course, alpha.quiz_url)
    assert 'href="../"' in quiz and 'href="../flashcards/"' in quiz
    tags = pages.tags_page(course, course.tags_url)
    assert 'href="../lessons/alpha/"' in tags
    assert 'id="tag-serving"' in tags


def test_manifest_urls_are_site_relative(course):
    data = json.loads(manifest.dumps(course))
    beta = next(lesson for lesson in data["lessons"] if lesson["id"] == "beta")
    assert beta["widgets"] == [
        {"type": "scaling_strategy_simulator", "data": "widgets/a.json"},
        {"type": "cost_performance_dashboard", "data": "widgets/b.json"},
    ]
    assert all(not lesson["url"].startswith("/") for lesson in data["lessons"])
