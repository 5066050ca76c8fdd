"""Chapters, the author CLI (``python -m hooks.lessons check|new``) and its parity with the build.

Fixtures: tests/fixtures/lessons/second_chapter adds chapter 5 (two lessons, the first requiring a
chapter-4 lesson) to the project's own docs; each folder of tests/fixtures/lessons/invalid_chapters,
copied over the valid fixture, breaks one chapter rule.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hooks.lessons import cli
from hooks.lessons import course as course_mod
from hooks.lessons.model import FIELDS
from tests.fixtures.lessons import sitekit

ROOT = Path(__file__).resolve().parent.parent
INVALID_CHAPTERS = sitekit.FIXTURES / "invalid_chapters"
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}

# case -> every problem the course must report (file relative to the fixture root, line, text)
CHAPTER_CASES = {
    "no_index": ["docs/lessons/extra/index.md:1 chapter has no index.md (add one: front matter with title, summary and an optional order)"],
    "missing_title": ["docs/lessons/extra/index.md:1 title: required key is missing"],
    "duplicate_chapter_id": [
        "docs/lessons/two/index.md:2 id: 'one' does not match the folder name 'two' (the chapter id is the folder name)",
        "docs/lessons/two/index.md:2 id: chapter id 'one' is already used by docs/lessons/one/index.md (chapter ids must be unique)",
    ],
    "lesson_id_twice": ["docs/lessons/extra/alpha.md:2 id: lesson id 'alpha' is already used by docs/lessons/alpha.md (ids must be unique)"],
}


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hooks.lessons", *args], cwd=cwd, capture_output=True, text=True, env=ENV)


def build_problems(log: str) -> set[str]:
    """Every ``docs/…:line …`` problem a build logged (whichever hook logged it)."""
    return {m.group(1) for m in re.finditer(r"(docs/\S+:\d+ .*)$", log, re.M)}


def build_in_process(config: Path) -> tuple[bool, str]:
    """``mkdocs build --strict`` without a new interpreter (the fixture sites are tiny: start-up and
    imports would be most of the time): (passed, everything logged at warning or above)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    records: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        build(load_config(str(config)))
        passed = True
    except Abort:
        passed = False
    finally:
        logger.removeHandler(handler)
    return passed, "\n".join(records)


# --- a second chapter ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_chapter_site(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("chapters")
    docs = work / "docs"
    shutil.copytree(ROOT / "docs", docs)
    shutil.copytree(sitekit.FIXTURES / "second_chapter", docs, dirs_exist_ok=True)
    proc = sitekit.build(sitekit.write_config(work, docs))
    assert proc.returncode == 0, proc.stderr
    return work / "site"


def test_second_chapter_in_course_json(two_chapter_site):
    data = json.loads((two_chapter_site / "course.json").read_text())
    assert [(c["id"], c["title"], c["url"]) for c in data["chapters"]] == [
        ("ai-builder-ch4", "Scaling AI Systems", "lessons/ai-builder-ch4/"),
        ("ai-builder-ch5", "Serving at the Edge", "lessons/ai-builder-ch5/"),
    ]
    assert data["chapters"][1]["lessons"] == ["ai-builder-ch5-lesson1", "ai-builder-ch5-lesson2"]
    assert data["chapters"][0]["lessons"] == [f"ai-builder-ch4-lesson{i}" for i in range(1, 6)]
    by_id = {lesson["id"]: lesson for lesson in data["lessons"]}
    assert by_id["ai-builder-ch5-lesson1"]["chapter"] == "ai-builder-ch5"
    assert by_id["ai-builder-ch4-lesson5"]["chapter"] == "ai-builder-ch4"
    assert by_id["ai-builder-ch5-lesson1"]["prereqs"] == ["ai-builder-ch4-lesson5"]  # across chapters
    order = [lesson["id"] for lesson in data["lessons"]]
    assert order.index("ai-builder-ch4-lesson5") < order.index("ai-builder-ch5-lesson1")
    assert by_id["ai-builder-ch5-lesson2"]["url"] == "lessons/ai-builder-ch5/ai-builder-ch5-lesson2/"


def _nav_sections(html: str) -> list[str]:
    """Titles of the chapter sections rendered open (level 2 of the primary navigation)."""
    flat = re.sub(r"\s+", " ", re.sub(r"<svg.*?</svg>", "", html, flags=re.S))
    return re.findall(r'<nav class="md-nav" data-md-level="2"[^>]*> <label class="md-nav__title"[^>]*> <span[^>]*></span> ([^<]+?) </label>', flat)


def test_second_chapter_has_its_navigation_section(two_chapter_site):
    page = (two_chapter_site / "lessons/ai-builder-ch5/ai-builder-ch5-lesson1/index.html").read_text()
    assert _nav_sections(page) == ["Serving at the Edge"]  # the open chapter; others are pruned to a link
    nav = page[page.index('md-nav--primary'):page.index('class="md-content"')]
    for label in ("1. Caching Predictions Close to the Reader", "2. Models on the Device", "Quiz", "Flashcards"):
        assert label in nav
    assert 'href="quiz/"' in nav and 'href="flashcards/"' in nav
    assert "Scaling AI Systems" in nav and "Serving Models" not in nav  # chapter 4 collapsed (pruned)
    other = (two_chapter_site / "lessons/ai-builder-ch4/ai-builder-ch4-lesson2/index.html").read_text()
    assert _nav_sections(other) == ["Scaling AI Systems"]


def test_second_chapter_page_and_home(two_chapter_site):
    chapter = (two_chapter_site / "lessons/ai-builder-ch5/index.html").read_text()
    assert chapter.count('class="course-map__lesson"') == 2
    assert 'href="ai-builder-ch5-lesson1/"' in chapter and 'href="ai-builder-ch5-lesson2/quiz/"' in chapter
    assert 'After <a href="../ai-builder-ch4/ai-builder-ch4-lesson5/">' in chapter  # prerequisite in chapter 4
    home = (two_chapter_site / "index.html").read_text()
    assert home.count('class="course-map__chapter"') == 2 and home.count('class="course-map__lesson"') == 7
    assert home.index("Scaling AI Systems</a></h3>") < home.index("Serving at the Edge</a></h3>")
    # the widget runtime hook (left out of fixture sites) copies assets/widgets/; every other link resolves
    assert [link for link in sitekit.broken_links(two_chapter_site) if "assets/widgets/" not in link] == []


# --- malformed chapters ----------------------------------------------------------------------------

def test_every_chapter_fixture_has_an_expectation():
    assert sorted(p.name for p in INVALID_CHAPTERS.iterdir()) == sorted(CHAPTER_CASES)


@pytest.mark.parametrize("case", sorted(CHAPTER_CASES))
def test_malformed_chapter_is_a_file_line_problem(tmp_path, case, monkeypatch):
    docs = sitekit.copy_docs(tmp_path, INVALID_CHAPTERS / case)
    monkeypatch.chdir(tmp_path)
    assert [str(p) for p in course_mod.load(docs).problems] == CHAPTER_CASES[case]


# --- check finds what the build finds ---------------------------------------------------------------

PARITY_CASES = [("invalid", p.name) for p in sorted((sitekit.FIXTURES / "invalid").iterdir())] + [
    ("invalid_chapters", name) for name in sorted(CHAPTER_CASES)]


@pytest.mark.parametrize(("group", "case"), PARITY_CASES, ids=[f"{g}/{c}" for g, c in PARITY_CASES])
def test_check_reports_what_the_strict_build_reports(tmp_path, group, case, monkeypatch, capsys):
    docs = sitekit.copy_docs(tmp_path, sitekit.FIXTURES / group / case)
    monkeypatch.chdir(tmp_path)  # files are named relative to the working directory in both
    passed, log = build_in_process(sitekit.write_config(tmp_path, docs))
    capsys.readouterr()
    assert cli.main(["check"]) == 1 and not passed
    found = set(capsys.readouterr().out.splitlines())
    assert found and found == build_problems(log)


def test_check_passes_the_course_and_a_fixture_with_chapters(tmp_path):
    proc = run_cli(ROOT, "check")
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stdout + proc.stderr
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    shutil.copytree(sitekit.FIXTURES / "second_chapter", docs, dirs_exist_ok=True)
    assert run_cli(tmp_path, "check", "docs").returncode == 0


def test_check_limits_output_to_the_given_paths(tmp_path):
    sitekit.copy_docs(tmp_path, INVALID_CHAPTERS / "duplicate_chapter_id")
    only_one = run_cli(tmp_path, "check", "docs/lessons/one")
    assert (only_one.returncode, only_one.stdout) == (0, "")
    two = run_cli(tmp_path, "check", "docs/lessons/two/index.md")
    assert two.returncode == 1 and len(two.stdout.splitlines()) == 2
    missing = run_cli(tmp_path, "check", "nowhere")
    assert missing.returncode == 2 and missing.stderr.strip() == "error: nowhere: no such file or folder"


# --- the scaffold ----------------------------------------------------------------------------------

def _with_chapter(tmp_path: Path) -> Path:
    docs = sitekit.copy_docs(tmp_path, INVALID_CHAPTERS / "lesson_id_twice")
    (docs / "lessons" / "extra" / "alpha.md").unlink()
    return docs


def test_new_writes_a_lesson_that_builds_strictly(tmp_path):
    docs = _with_chapter(tmp_path)
    proc = run_cli(tmp_path, "new", "delta", "--chapter", "extra", "--title", 'Caching: "<script>x</script>"', "--after", "alpha")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = docs / "lessons" / "extra" / "delta.md"
    text = path.read_text()
    front = text.split("\n---\n", 1)[0]
    keys = [line.split(":", 1)[0] for line in front.splitlines()[1:] if re.match(r"^[a-z_]+:", line)]
    assert keys == list(FIELDS)  # every key, in the model's order
    assert all("  # " in line for line in front.splitlines()[1:] if re.match(r"^[a-z_]+:", line))  # each commented
    course = course_mod.load(docs)
    assert course.problems == []
    delta, alpha = course.get("delta"), course.get("alpha")
    assert delta.lesson.title == 'Caching: "<script>x</script>"' and delta.chapter == "extra"
    assert delta.lesson.prereqs == ["alpha"] and alpha.lesson.next == "delta" and delta.lesson.next == "beta"
    build = sitekit.build(sitekit.write_config(tmp_path, docs))
    assert build.returncode == 0, build.stderr
    page = (tmp_path / "site" / "lessons" / "extra" / "delta" / "index.html").read_text()
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


@pytest.mark.parametrize(("args", "message"), [
    (["gamma", "--chapter", "nope", "--title", "T"], "error: --chapter 'nope': no such chapter (known: extra)"),
    (["alpha", "--chapter", "extra", "--title", "T"], "error: id 'alpha' is already used in docs (ids must be unique across the course)"),
    (["Bad_Id", "--chapter", "extra", "--title", "T"], "error: id 'Bad_Id' is not a lesson id (allowed: lower-case letters, digits and '-')"),
    (["gamma", "--chapter", "extra", "--title", "T", "--after", "zeta"], "error: --after 'zeta': no such lesson (known: alpha, beta)"),
])
def test_new_refuses_bad_input_in_one_line(tmp_path, args, message):
    docs = _with_chapter(tmp_path)
    before = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*"))
    proc = run_cli(tmp_path, "new", *args)
    assert (proc.returncode, proc.stderr.strip()) == (2, message)
    assert sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*")) == before  # nothing written


def test_committed_chapter_schema_matches_the_model():
    from hooks.lessons import schema_json

    committed = (ROOT / "docs" / "schema" / "chapter.schema.json").read_text(encoding="utf-8")
    assert committed == schema_json.render("chapter.schema.json"), "run: make schema"
    assert set(json.loads(committed)["properties"]) == {"id", "title", "summary", "order"}
    assert json.loads(committed)["required"] == ["title", "summary"]
