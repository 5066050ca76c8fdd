"""Building sites: fixture sites through the real theme and lesson hook, and the project's site."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures.lessons import sitekit

LESSON_IDS = [f"ai-builder-ch4-lesson{i}" for i in range(1, 6)]
LESSON_KEYS = {"id", "title", "url", "quiz_url", "flashcards_url", "anki_url", "prereqs", "next", "tags", "duration_min", "widgets", "chapter"}
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory) -> Path:
    return sitekit.build_fixture_site(tmp_path_factory.mktemp("fixture-site"), "escaping")


def test_fixture_site_has_lesson_quiz_flashcards_and_tags_pages(fixture_site):
    for lesson in ("alpha", "beta"):
        for page in ("", "quiz/", "flashcards/"):
            assert (fixture_site / "lessons" / lesson / page / "index.html").is_file()
    assert (fixture_site / "tags" / "index.html").is_file()
    # the course scripts are one classic bundle (ts-fsrs included), loaded by every page
    bundles = list((fixture_site / "assets" / "bundles").glob("course.*.js"))
    assert len(bundles) == 1 and "Rating" in bundles[0].read_text(encoding="utf-8")
    assert f'src="../../../assets/bundles/{bundles[0].name}"' in (fixture_site / "lessons/beta/quiz/index.html").read_text()


def test_fixture_site_course_json(fixture_site):
    data = json.loads((fixture_site / "course.json").read_text())
    assert [lesson["id"] for lesson in data["lessons"]] == ["alpha", "beta"]
    assert data["id"] == "scaling-ai-systems" and data["anki_url"] == "anki/scaling-ai-systems.apkg"
    beta = data["lessons"][1]
    assert set(beta) == LESSON_KEYS
    assert beta == {
        "id": "beta", "title": "Watching a model in production", "url": "lessons/beta/",
        "quiz_url": "lessons/beta/quiz/", "flashcards_url": "lessons/beta/flashcards/", "anki_url": "anki/beta.apkg",
        "prereqs": ["alpha"], "next": None, "tags": ["monitoring", "basics"], "duration_min": 25, "widgets": [],
        "chapter": None,  # directly in lessons/, no chapter folder
    }
    assert data["chapters"] == []


def test_authored_text_is_escaped_everywhere(fixture_site):
    pages = {p: p.read_text(encoding="utf-8") for p in fixture_site.rglob("*.html")}
    for path, text in pages.items():
        assert XSS not in text, path
        assert "<script>alert(" not in text, path
    lesson = pages[fixture_site / "lessons" / "alpha" / "index.html"]
    assert "Serving &lt;img src=x onerror=alert(1)&gt; basics" in lesson
    quiz = pages[fixture_site / "lessons" / "alpha" / "quiz" / "index.html"]
    assert "<span>&lt;script&gt;alert(2)&lt;/script&gt;</span>" in quiz
    cards = pages[fixture_site / "lessons" / "alpha" / "flashcards" / "index.html"]
    assert '<span class="course-cards__term">&lt;img src=x onerror=alert(1)&gt;</span>' in cards


def test_lesson_page_structure(fixture_site):
    html = (fixture_site / "lessons" / "beta" / "index.html").read_text()
    assert '<a href="../alpha/">Serving &lt;img src=x onerror=alert(1)&gt; basics</a>' in html  # prereq with title
    assert 'href="../../tags/#tag-monitoring"' in html
    assert "This is the last lesson." in html
    assert "course-video" not in html.split("md-content")[1]  # beta has no video
    alpha = (fixture_site / "lessons" / "alpha" / "index.html").read_text()
    assert 'data-embed="https://www.youtube-nocookie.com/embed/8x8R2aJx0a0?autoplay=1&amp;start=30&amp;end=600"' in alpha
    assert "<iframe" not in alpha  # the player exists only after a click
    assert 'Next lesson: <a href="../beta/">' in alpha


def test_fixture_site_internal_links_resolve(fixture_site):
    assert sitekit.broken_links(fixture_site) == []


def test_strict_build_fails_listing_every_problem_without_traceback(tmp_path):
    docs = sitekit.copy_docs(tmp_path, sitekit.FIXTURES / "invalid" / "answer_out_of_range")
    alpha = sitekit.FIXTURES / "invalid" / "video_end_before_start" / "lessons" / "alpha.md"
    (docs / "lessons" / "alpha.md").write_text(alpha.read_text())
    proc = sitekit.build(sitekit.write_config(tmp_path, docs))
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "beta.md:18 quiz[1].answer: 5 is out of range (3 options" in output
    assert "alpha.md:11 video.end: 30 must be greater than start (30)" in output
    assert "Traceback" not in output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_shows_problems_on_the_page_and_keeps_serving(tmp_path):
    docs = sitekit.copy_docs(tmp_path, sitekit.FIXTURES / "invalid" / "malformed_yaml")
    config = sitekit.write_config(tmp_path, docs)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "--no-livereload", "-f", str(config), "-a", f"127.0.0.1:{port}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, start_new_session=True,
    )
    try:
        body = None
        for _ in range(120):  # wait for the first build; not a timing assertion
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lessons/beta/") as response:
                    body = response.read().decode()
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        assert proc.poll() is None, "mkdocs serve exited: " + (proc.stdout.read() if proc.stdout else "")
        assert body is not None
        assert "lesson-problems" in body
        assert "beta.md:3 YAML syntax error: mapping values are not allowed here" in body
        assert "id: beta" not in body  # the broken front matter is not shown as text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    assert "beta.md:3 YAML syntax error" in output
    assert "Traceback" not in output


# --- the project's own site (built once per session by tests/conftest.py) ---------------------

def test_site_has_all_five_lessons_with_quiz_and_flashcards(site_dir):
    for lesson_id in LESSON_IDS:
        for page in ("", "quiz/", "flashcards/"):
            assert (site_dir / "lessons" / "ai-builder-ch4" / lesson_id / page / "index.html").is_file(), (lesson_id, page)
    assert (site_dir / "tags" / "index.html").is_file()


def test_site_course_json(site_dir):
    data = json.loads((site_dir / "course.json").read_text())
    lessons = data["lessons"]
    assert sorted(lesson["id"] for lesson in lessons) == LESSON_IDS
    by_id = {lesson["id"]: lesson for lesson in lessons}
    position = {lesson["id"]: i for i, lesson in enumerate(lessons)}
    assert [(c["id"], c["title"], c["url"], c["lessons"]) for c in data["chapters"]] == [
        ("ai-builder-ch4", "Scaling AI Systems", "lessons/ai-builder-ch4/", LESSON_IDS)]
    for lesson in lessons:
        assert set(lesson) == LESSON_KEYS and lesson["chapter"] == "ai-builder-ch4"
        for key in ("url", "quiz_url", "flashcards_url"):
            assert not lesson[key].startswith("/") and (site_dir / lesson[key] / "index.html").is_file()
        assert (site_dir / lesson["anki_url"]).is_file()
        for prereq in lesson["prereqs"]:
            assert position[prereq] < position[lesson["id"]]  # prerequisite order
        assert lesson["next"] is None or lesson["next"] in by_id
        for widget in lesson["widgets"]:
            assert (site_dir / widget["data"]).is_file()
    assert (site_dir / data["anki_url"]).is_file()
    lesson4 = by_id["ai-builder-ch4-lesson4"]
    assert [w["type"] for w in lesson4["widgets"]] == ["scaling_strategy_simulator", "distributed_training_lab"]
    assert [w["type"] for w in by_id["ai-builder-ch4-lesson5"]["widgets"]] == ["cost_performance_dashboard"]


def test_site_internal_links_resolve(site_dir):
    assert sitekit.broken_links(site_dir) == []


def test_site_home_has_course_map(site_dir):
    html = (site_dir / "index.html").read_text()
    assert html.count('class="course-map__lesson"') == 5
    for lesson_id in LESSON_IDS:
        assert f'href="lessons/ai-builder-ch4/{lesson_id}/quiz/"' in html
        assert f'href="lessons/ai-builder-ch4/{lesson_id}/flashcards/"' in html
