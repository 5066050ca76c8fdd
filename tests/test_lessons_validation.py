"""Lesson validation: one failing fixture per rule, each asserting the message and the line.

Fixtures: tests/fixtures/lessons/valid/docs is a correct two-lesson course; each folder under
tests/fixtures/lessons/invalid/ holds the files that, copied over it, break exactly one rule.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hooks.lessons import course as course_mod
from hooks.lessons import frontmatter, schema_json
from hooks.lessons.model import Lesson, split_flashcard
from hooks.lessons.validate import find_cycles
from tests.fixtures.lessons import sitekit

ROOT = Path(__file__).resolve().parent.parent
INVALID = sitekit.FIXTURES / "invalid"

# case folder -> (file, line, field path, exact message)
CASES = {
    "malformed_yaml": ("beta.md", 3, "", "YAML syntax error: mapping values are not allowed here (check indentation, quotes and ':' in values)"),
    "missing_key": ("beta.md", 1, "title", "required key is missing"),
    "wrong_type": ("beta.md", 4, "duration_min", "expected a whole number, got str 'twenty-five'"),
    "unknown_key": ("beta.md", 5, "prereq", "unknown key (did you mean 'prereqs'? allowed: id, title, duration_min, prereqs, tags, video, widgets, goals, quiz, flashcards, reflection, next)"),
    "answer_out_of_range": ("beta.md", 18, "quiz[1].answer", "5 is out of range (3 options; answer is a 0-based index from 0 to 2)"),
    "duplicate_option": ("beta.md", 17, "quiz[1].options[2]", "duplicate option 'request rate' (same as options[0]; options must differ)"),
    "duplicate_id": ("gamma.md", 2, "id", "lesson id 'alpha' is already used by {docs}/lessons/alpha.md (ids must be unique)"),
    "id_mismatch": ("beta.md", 2, "id", "'lesson-beta' does not match the file name 'beta.md' (the id must equal the file name without .md)"),
    "unknown_prereq": ("beta.md", 5, "prereqs[0]", "unknown lesson 'alpah' (did you mean 'alpha'? known: alpha, beta)"),
    "unknown_next": ("alpha.md", 32, "next", "unknown lesson 'gamma' (known: alpha, beta; use null for the last lesson)"),
    "prereq_cycle": ("alpha.md", 5, "prereqs", "prerequisite cycle: alpha → beta → alpha (a lesson cannot require itself, directly or through others)"),
    "video_end_before_start": ("alpha.md", 11, "video.end", "30 must be greater than start (30); end is where playback stops, in seconds"),
    "flashcard_format": ("beta.md", 22, "flashcards[1]", "'Concept drift, the relation between inputs and the right a… is not a flashcard: write \"Term: definition\" (a string, or the YAML pair `- Term: definition`)"),
    "unknown_widget_type": ("beta.md", 9, "widgets[0].type", "unknown widget type 'scaling_strategy_simulatr' (did you mean 'scaling_strategy_simulator'? allowed: scaling_strategy_simulator, distributed_training_lab, cost_performance_dashboard)"),
    "widget_data_missing": ("beta.md", 10, "widgets[0].data", "docs/widgets/missing.json: file not found"),
    "widget_data_invalid_json": ("beta.md", 10, "widgets[0].data", "docs/widgets/broken.json:4: not valid JSON (Expecting property name enclosed in double quotes)"),
    "widget_marker_unlisted": ("beta.md", 33, "body", "marker <!-- widget: distributed_training_lab --> names a widget not in this lesson's front matter (allowed: none: add the widget under widgets: first)"),
    "duplicate_yaml_key": ("beta.md", 5, "duration_min", "key appears twice (YAML keeps only the last one; remove one)"),
    "active_html_in_body": ("beta.md", 39, "body", "raw HTML that runs script is not allowed: '<img src=x onerror=alert(1)>' (allowed: Markdown, plain HTML without script, event handlers or javascript: links; show code in a code block)"),
    "no_front_matter": ("beta.md", 1, "", "no front matter: the file must start with '---', the lesson's YAML keys, then '---'"),
}


def load_case(tmp_path: Path, name: str | None) -> tuple[course_mod.Course, Path]:
    docs = sitekit.copy_docs(tmp_path, INVALID / name if name else None)
    return course_mod.load(docs), docs


def test_every_invalid_fixture_has_an_expectation():
    assert sorted(p.name for p in INVALID.iterdir()) == sorted(CASES)


def test_valid_fixture_has_no_problems(tmp_path):
    course, _ = load_case(tmp_path, None)
    assert course.problems == []
    assert [cl.lesson.id for cl in course.lessons] == ["alpha", "beta"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_invalid_fixture_reports_rule_at_line(tmp_path, name):
    file, line, path, message = CASES[name]
    course, docs = load_case(tmp_path, name)
    expected = message.format(docs=course_mod.label_for(docs))
    found = [(Path(p.file).name, p.line, p.path, p.message) for p in course.problems]
    assert (file, line, path, expected) in found, "\n".join(map(str, course.problems))
    # Exactly one problem for the rule (no cascade), except id rules that necessarily break two.
    assert len(course.problems) == (2 if name in ("duplicate_id", "id_mismatch") else 1), course.problems


def test_problem_string_has_file_line_and_path(tmp_path):
    course, docs = load_case(tmp_path, "answer_out_of_range")
    label = course_mod.label_for(docs / "lessons" / "beta.md")
    assert str(course.problems[0]) == f"{label}:18 quiz[1].answer: 5 is out of range (3 options; answer is a 0-based index from 0 to 2)"


def test_all_problems_of_a_build_are_reported_together(tmp_path):
    docs = sitekit.copy_docs(tmp_path, INVALID / "answer_out_of_range")
    for case in ("video_end_before_start", "unknown_prereq"):
        for f in (INVALID / case / "lessons").iterdir():
            if f.name == "beta.md":  # merge the second beta change into the first
                text = (docs / "lessons" / "beta.md").read_text().replace("prereqs: [alpha]", "prereqs: [alpah]")
                (docs / "lessons" / "beta.md").write_text(text)
            else:
                (docs / "lessons" / f.name).write_text(f.read_text())
    paths = sorted((Path(p.file).name, p.path) for p in course_mod.load(docs).problems)
    assert paths == [("alpha.md", "video.end"), ("beta.md", "prereqs[0]"), ("beta.md", "quiz[1].answer")]


def test_several_structural_errors_in_one_file_are_all_reported(tmp_path):
    docs = sitekit.copy_docs(tmp_path)
    beta = docs / "lessons" / "beta.md"
    beta.write_text(beta.read_text().replace("duration_min: 25", "duration_min: 0").replace("tags: [monitoring, basics]", "tags: Monitoring"))
    problems = course_mod.load(docs).problems
    assert [(p.line, p.path, p.message) for p in problems] == [
        (4, "duration_min", "0 is out of range (allowed: at least 1)"),
        (6, "tags", "expected a list, got str 'Monitoring'"),
    ]


@pytest.mark.parametrize(
    "card, expected",
    [
        ({"Vertical Scaling": "Adding more CPU/GPU power"}, ("Vertical Scaling", "Adding more CPU/GPU power")),
        ("Autoscaling: Adjusting resources: automatically", ("Autoscaling", "Adjusting resources: automatically")),
    ],
)
def test_flashcard_accepts_yaml_pair_and_string(card, expected):
    assert split_flashcard(card) == expected


@pytest.mark.parametrize("card", ["no colon here", {"a": "b", "c": "d"}, {"Term": 5}, ["Term", "def"], " : empty term"])
def test_flashcard_rejects_other_shapes(card):
    with pytest.raises(ValueError, match="Term: definition"):
        split_flashcard(card)


def test_lesson_in_the_reference_form_is_valid_and_located():
    """Lesson 4 is written in the reference lesson's form: flashcards as YAML one-key mappings
    (``- Term: definition``), every key of the reference present. Its lines are found independently
    of the YAML parser, by scanning the file's text."""
    path = ROOT / "docs" / "lessons" / "ai-builder-ch4" / "ai-builder-ch4-lesson4.md"
    text = path.read_text(encoding="utf-8")
    fm = frontmatter.parse(text)
    lesson = Lesson.model_validate(fm.data)
    assert isinstance(fm.data["flashcards"][0], dict)  # the mapping form, not a string
    assert lesson.cards()[0] == ("Vertical scaling", next(iter(fm.data["flashcards"][0].values())))
    answer_lines = [i for i, line in enumerate(text.splitlines(), start=1) if line.strip().startswith("answer:")]
    assert fm.lines[("quiz", 2, "answer")] == answer_lines[2]


def test_committed_schema_matches_the_model():
    committed = (ROOT / "docs" / "schema" / "lesson.schema.json").read_text(encoding="utf-8")
    assert committed == schema_json.render(), "run: python -m hooks.lessons.schema_json docs/schema/lesson.schema.json"
    schema = json.loads(committed)
    assert set(schema["properties"]) == {"id", "title", "duration_min", "prereqs", "tags", "video", "widgets", "goals", "quiz", "flashcards", "reflection", "next"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    "target, page, expected",
    [
        ("tags/#tag-x", "lessons/a/", "../../tags/#tag-x"),
        ("", "lessons/a/quiz/", "../../../"),
        ("lessons/a/quiz/", "lessons/a/", "quiz/"),
        ("lessons/a/", "", "lessons/a/"),
        ("lessons/b/", "lessons/a/", "../b/"),
    ],
)
def test_relative_links(target, page, expected):
    assert course_mod.relative(target, page) == expected


def test_cycles_found_once_each():
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["d"], "e": ["a"]}
    assert find_cycles(graph) == [["a", "b", "c"], ["d"]]


def test_course_order_puts_prerequisites_first(tmp_path):
    docs = sitekit.copy_docs(tmp_path)
    # A lesson named so it sorts first but requires both others.
    text = (docs / "lessons" / "beta.md").read_text().replace("id: beta", "id: aaa").replace("prereqs: [alpha]", "prereqs: [alpha, beta]")
    (docs / "lessons" / "aaa.md").write_text(text)
    assert [cl.lesson.id for cl in course_mod.load(docs).lessons] == ["alpha", "beta", "aaa"]


def test_active_html_is_neutralized_for_the_preview():
    from hooks.lessons.validate import active_html, neutralize_active_html

    body = "text <script>alert(1)</script> and `<script>` [x](javascript:alert(1))\n"
    assert [snippet for _, snippet in active_html(body)] == ["<script>", "javascript:"]
    safe = neutralize_active_html(body)
    assert active_html(safe) == [] and "&lt;script>" in safe and "`<script>`" in safe
