"""Checked lessons (issue 10): computed values, verified experiments, checks, honest durations.

The fixture tests/fixtures/lessons/checked (over the valid course) is correct; each case below edits one
line of it and expects exactly one problem, at the line an author has to fix.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from hooks.lessons import blocks, body, pages
from hooks.lessons import course as course_mod
from tests.fixtures.lessons import sitekit

CHECKED = sitekit.FIXTURES / "checked"
METRICS = ["autoscaled.p95_ms", "autoscaled.cost_usd", "vertical.p95_ms"]


def load(tmp_path: Path, edit=None) -> course_mod.Course:
    docs = sitekit.copy_docs(tmp_path, CHECKED)
    if edit:
        lesson = docs / "lessons" / "beta.md"
        old, new = edit
        text = lesson.read_text(encoding="utf-8")
        assert old in text, old
        lesson.write_text(text.replace(old, new, 1), encoding="utf-8")
    return course_mod.load(docs)


def test_fixture_is_valid_and_values_are_computed(tmp_path):
    course = load(tmp_path)
    assert course.problems == []
    beta = course.get("beta").source.body
    assert [b.kind for b in beta.blocks] == ["experiment", "check"]  # the ````markdown example is not a block
    assert beta.value_count == 4  # body 1 (the one in code is not a value), quiz explanation 2, check 1
    p95 = beta.values[("scaling_strategy_simulator", "launch", "autoscaled.p95_ms")]
    assert re.fullmatch(r"\d+(\.\d)?\u00a0ms", p95)
    experiment = beta.blocks[0]
    assert experiment.overrides == {"target_utilization": 0.9}
    assert [r.holds for r in experiment.results] == [True, True]


CASES = {
    "false claim": (
        ("  - autoscaled.cost_usd < baseline", "  - autoscaled.cost_usd > baseline"),
        42, "experiment.expect[1]", r"experiment claim 'autoscaled\.cost_usd > baseline\.autoscaled\.cost_usd' is false "
        r"\([\d.]+\xa0USD vs [\d.]+\xa0USD\)"),
    "unknown path in a value": (
        ("keeps p95 at {{ scaling_strategy_simulator@launch autoscaled.p95_ms }}",
         "keeps p95 at {{ scaling_strategy_simulator@launch autoscaled.p95 }}"),
        32, "body", r"\{\{ scaling_strategy_simulator@launch autoscaled\.p95 \}\}: unknown metric path 'autoscaled\.p95' "
        r"for scaling_strategy_simulator \(did you mean 'autoscaled\.p95_ms'\? allowed: .*\)"),
    "unknown scenario in a value": (
        ("keeps p95 at {{ scaling_strategy_simulator@launch", "keeps p95 at {{ scaling_strategy_simulator@lunch"),
        32, "body", r".*unknown scenario 'lunch' for scaling_strategy_simulator \(did you mean 'launch'\? allowed: launch, quiet\)"),
    "unknown widget in a value": (
        ("keeps p95 at {{ scaling_strategy_simulator@", "keeps p95 at {{ scaling_simulator@"),
        32, "body", r".*unknown widget 'scaling_simulator' \(.*allowed: .*\)"),
    "malformed value": (
        ("keeps p95 at {{ scaling_strategy_simulator@launch autoscaled.p95_ms }}", "keeps p95 at {{ p95 }}"),
        32, "body", r"\{\{ p95 \}\}: not a simulator value \(write \{\{ <widget>@<scenario> <metric\.path> \}\}.*"),
    "unknown scenario in an experiment": (
        ("scenario: launch ", "scenario: lanch "),
        37, "experiment.scenario", r"unknown scenario 'lanch' for scaling_strategy_simulator \(did you mean 'launch'\? .*\)"),
    "bad set value": (
        ("set: {target_utilization: 0.9}", "set: {target_utilization: 1.5}"),
        38, "experiment.set.target_utilization", r"1\.5 is out of range \(allowed: a number from 0\.05 to 1\)"),
    "unknown set parameter": (
        ("set: {target_utilization: 0.9}", "set:\n  target_utilisation: 0.9"),
        39, "experiment.set.target_utilisation", r"unknown parameter \(did you mean 'target_utilization'\? allowed: .*\)"),
    "unparsable claim": (
        ("  - autoscaled.p95_ms > baseline.autoscaled.p95_ms", "  - autoscaled.p95_ms is bigger"),
        41, "experiment.expect[0]", r"claim 'autoscaled\.p95_ms is bigger': expected a comparison after 'autoscaled\.p95_ms', found 'is' .*"),
    "unknown claim path": (
        ("  - autoscaled.p95_ms > baseline.autoscaled.p95_ms", "  - autoscaled.p95_ms > baseline.autoscaled.p99_ms"),
        41, "experiment.expect[0]", r".*unknown metric path 'autoscaled\.p99_ms' \(did you mean 'autoscaled\.p95_ms'\? .*"),
    "unknown experiment key": (
        ("notice: Fewer", "notise: Fewer"),
        43, "experiment.notise", r"unknown key \(did you mean 'notice'\? allowed: widget, scenario, set, predict, expect, notice\)"),
    "bad check answer": (
        ("answer: 0\nexplain: \"The autoscaler", "answer: 2\nexplain: \"The autoscaler"),
        49, "check.answer", r"2 is out of range \(2 options; answer is a 0-based index from 0 to 1\)"),
    "check missing a key": (
        ("q: Which fleet answers the spike fastest?\n", ""),
        46, "check.q", r"required key is missing"),
    "bad value in a check explanation": (
        ("p95 is {{ scaling_strategy_simulator@launch autoscaled.p95_ms }}.\"", "p95 is {{ scaling_strategy_simulator@launch p95 }}.\""),
        50, "check.explain", r".*unknown metric path 'p95'.*"),
    "bad value in a quiz explanation": (
        ("against {{ scaling_strategy_simulator@launch horizontal_fixed", "against {{ scaling_strategy_simulator@noon horizontal_fixed"),
        21, "quiz[1].explain", r".*unknown scenario 'noon'.*"),
    "value in a field that is not filled in": (
        ("  - Name the signals worth an alert", "  - Keep p95 under {{ scaling_strategy_simulator@launch autoscaled.p95_ms }}"),
        12, "goals[0]", r"simulator values are not filled in here \(allowed: the lesson body and explain\)"),
    "value in a check option": (
        ('options: ["The autoscaled fleet"', 'options: ["{{ scaling_strategy_simulator@launch autoscaled.p95_ms }}"'),
        48, "check.options[0]", r"simulator values are not filled in here \(allowed: the lesson body and explain\)"),
    "check YAML syntax": (
        ("q: Which fleet answers the spike fastest?", "q: Which fleet: answers the spike fastest?"),
        47, "check", r"YAML syntax error: mapping values are not allowed here .*"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_mistake_is_one_problem_at_its_line(tmp_path, name):
    edit, line, path, message = CASES[name]
    course = load(tmp_path, edit)
    problems = course.problems
    assert len(problems) == 1, "\n".join(map(str, problems))
    problem = problems[0]
    assert (Path(problem.file).name, problem.line, problem.path) == ("beta.md", line, path), str(problem)
    assert re.fullmatch(message, problem.message), problem.message


def test_duration_below_reading_time_is_an_error_at_duration_min(tmp_path):
    docs = sitekit.copy_docs(tmp_path, CHECKED)
    lesson = docs / "lessons" / "beta.md"
    text = lesson.read_text(encoding="utf-8").replace("duration_min: 25", "duration_min: 1", 1)
    lesson.write_text(text + "\n" + "More prose to read here. " * 60 + "\n", encoding="utf-8")
    problems = course_mod.load(docs).problems
    assert [(p.line, p.path) for p in problems] == [(4, "duration_min")]
    assert re.fullmatch(r"1 min is less than the reading time alone \(2 min: \d+ words at 200 words a minute; "
                        r"allowed: at least 2\)", problems[0].message)


def test_all_problems_of_the_body_are_reported_together(tmp_path):
    course = load(tmp_path, ("  - autoscaled.cost_usd < baseline", "  - autoscaled.cost_usd > baseline"))
    lesson = Path(course.sources[1].file)
    text = lesson.read_text(encoding="utf-8")
    text = text.replace("scenario: launch ", "scenario: lanch ").replace("answer: 0\nexplain: \"The", "answer: 5\nexplain: \"The")
    lesson.write_text(text.replace("keeps p95 at {{ scaling_strategy_simulator@launch", "keeps p95 at {{ x@y"), encoding="utf-8")
    course = course_mod.load(lesson.parent.parent)
    assert [(p.line, p.path) for p in course.problems] == [(32, "body"), (37, "experiment.scenario"), (49, "check.answer")]


def test_scenario_names_must_be_unique_per_widget_across_files(tmp_path):
    docs = sitekit.copy_docs(tmp_path, CHECKED)
    (docs / "widgets" / "more.json").write_text(
        '{"widget": "scaling_strategy_simulator", "title": "More",\n "scenarios": [\n'
        '  {"name": "quiet", "title": "Another quiet day", "params": {}}]}\n', encoding="utf-8")
    problems = course_mod.load(docs).problems
    # files are read in name order: the clash is reported at the second one, at the name's line
    assert [(Path(p.file).name, p.line, p.path) for p in problems] == [("scaling.json", 13, "scenarios")]
    assert problems[0].message.startswith("scenario name 'quiet' of scaling_strategy_simulator is also used in docs/widgets/more.json")


# --- the claim grammar ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, op, right, tolerance", [
    ("autoscaled.p95_ms > baseline.autoscaled.p95_ms", ">", blocks.Operand("autoscaled.p95_ms", True), None),
    ("autoscaled.p95_ms<=20", "<=", blocks.Operand(literal=20.0), None),
    ("autoscaled.cost_usd != -1.5e2", "!=", blocks.Operand(literal=-150.0), None),
    ("autoscaled.p95_ms ≈ 19.5 ± 5%", "≈", blocks.Operand(literal=19.5), 5.0),
    ("autoscaled.p95_ms ~= vertical.p95_ms +- 10%", "≈", blocks.Operand("vertical.p95_ms"), 10.0),
    ("autoscaled.cost_usd < 60%", "<", blocks.Operand(literal=0.6), None),
    ("autoscaled.p95_ms == true", "==", blocks.Operand(literal=True), None),
])
def test_claims_parse(text, op, right, tolerance):
    claim = blocks.parse_claim(text, METRICS)
    assert (claim.left, claim.op, claim.right, claim.tolerance) == (blocks.Operand("autoscaled.p95_ms" if "p95" in text.split()[0] else "autoscaled.cost_usd"), op, right, tolerance)


@pytest.mark.parametrize("text, error", [
    ("autoscaled.p95_ms", "is not a claim"),
    ("20 < autoscaled.p95_ms", "a claim starts with a metric path"),
    ("autoscaled.p95_ms ≈ 20", "'≈' needs a tolerance"),
    ("autoscaled.p95_ms < 20 ± 5%", "unexpected '±'"),
    ("autoscaled.p95_ms < __import__('os')", "cannot read"),
    ("autoscaled.p95_ms < 1; import os", "cannot read ';"),
    ("autoscaled.p95_ms < p99", "unknown metric path 'p99'"),
])
def test_bad_claims_are_refused_with_a_reason(text, error):
    with pytest.raises(ValueError, match=re.escape(error)):
        blocks.parse_claim(text, METRICS)


@pytest.mark.parametrize("a, op, b, tolerance, holds", [
    (19.5, "<", 20, None, True), (20, "<", 20, None, False), (20, "<=", 20, None, True),
    (19.5, "≈", 20, 5, True), (18.9, "≈", 20, 5, False), (None, "<", 1, None, False),
    (True, "==", True, None, True), (True, ">", False, None, False), (3, "!=", 3.0, None, False),
])
def test_compare(a, op, b, tolerance, holds):
    assert blocks.compare(a, op, b, tolerance) is holds


# --- the body scanner ----------------------------------------------------------------------------------

def test_fences_follow_commonmark_lengths():
    text = "````md\n```experiment\nx\n```\n````\n\n  ```check\n  q: y\n  ```\n"
    found = body.fences(text)
    assert [(f.lang, f.start, f.end) for f in found] == [("md", 0, 4), ("check", 6, 8)]
    assert found[1].content == ("q: y",)


def test_prepare_markdown_leaves_code_literal(tmp_path):
    course = load(tmp_path)
    report = course.get("beta").source.body
    markdown = Path(course.get("beta").source.file).read_text(encoding="utf-8").split("---\n", 2)[2]
    out = blocks.prepare_markdown(markdown, report)
    assert "`{{ scaling_strategy_simulator@launch autoscaled.p95_ms }}`" in out
    assert 'keeps p95 at <span class="sim-value" data-sim="scaling_strategy_simulator@launch autoscaled.p95_ms" title="computed from the simulator">' in out
    assert "<!-- lesson-block: 0 -->" in out and "<!-- lesson-block: 1 -->" in out
    assert "```experiment\nwidget: not_a_widget" in out  # the example inside ````markdown stays


def test_reading_time_counts_prose_not_code():
    assert body.prose_words("One two three.\n\n```python\nnot counted at all\n```\n<!-- widget: x -->\n[link](http://a.b/c)") == 4
    assert body.reading_minutes(200) == 1 and body.reading_minutes(201) == 2 and body.reading_minutes(0) == 0


# --- the built pages -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checked_site(tmp_path_factory) -> Path:
    return sitekit.build_fixture_site(tmp_path_factory.mktemp("checked-site"), "checked")


def test_values_cards_and_checks_are_rendered(checked_site):
    html = (checked_site / "lessons" / "beta" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'keeps p95 at <span class="sim-value" data-sim="scaling_strategy_simulator@launch autoscaled\.p95_ms" '
                     r'title="computed from the simulator">\d+(\.\d)?\xa0ms</span>', html)
    assert "<code>{{ scaling_strategy_simulator@launch autoscaled.p95_ms }}</code>" in html  # code stays literal
    card = re.search(r'<section class="lesson-experiment" data-experiment="0".*?</section>', html, re.S).group(0)
    assert card.index("lesson-experiment__predict") < card.index("lesson-experiment__run") < card.index("lesson-experiment__notice")
    assert card.count('data-holds="true"') == 2 and "<script" not in card
    assert re.search(r'<form class="lesson-check" data-check="[0-9a-f]{12}" data-lesson-id="beta"', html)
    assert "widget: not_a_widget" in html  # the example block is shown as code
    assert re.search(r'<dt>Reading time</dt><dd>1 min <span class="course-reading">\(\d+ words at 200 words a minute\)</span>', html)
    assert '<span class="lesson-experiment__param" title="target_utilization">Target utilisation = 0.9</span>' in html
    quiz = (checked_site / "lessons" / "beta" / "quiz" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'It costs <span class="sim-value" data-sim="scaling_strategy_simulator@launch autoscaled\.cost_usd"', quiz)
    home = (checked_site / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<span class="course-map__duration">25 min <span class="course-reading">· 1 min reading</span>', home)


def test_a_false_claim_fails_the_strict_build_with_one_line(tmp_path):
    docs = sitekit.copy_docs(tmp_path, CHECKED)
    lesson = docs / "lessons" / "beta.md"
    lesson.write_text(lesson.read_text(encoding="utf-8").replace("  - autoscaled.cost_usd < baseline", "  - autoscaled.cost_usd > baseline"))
    proc = sitekit.build(sitekit.write_config(tmp_path, docs))
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    found = [line for line in output.splitlines() if "lesson problem:" in line]
    assert len(found) == 1 and re.search(r"beta\.md:42 experiment\.expect\[1\]: experiment claim "
                                         r"'autoscaled\.cost_usd > baseline\.autoscaled\.cost_usd' is false \(", found[0]), output
    assert "Traceback" not in output


ALPHA_EXPERIMENT = """
```experiment
widget: scaling_strategy_simulator
scenario: quiet
set: {replicas: 2}
predict: "Half the fleet on a quiet day: does p95 change?"
expect:
  - horizontal_fixed.p95_ms >= baseline.horizontal_fixed.p95_ms
```
"""


def test_experiment_without_its_widget_on_the_page_links_to_a_lesson_with_the_state(tmp_path):
    docs = sitekit.copy_docs(tmp_path, CHECKED)
    alpha = docs / "lessons" / "alpha.md"
    alpha.write_text(alpha.read_text(encoding="utf-8") + ALPHA_EXPERIMENT, encoding="utf-8")
    course = course_mod.load(docs)
    assert course.problems == []
    cl = course.get("alpha")
    html = pages.experiment_html(cl.source.body.blocks[0], 0, cl, course, cl.url)
    assert "lesson-experiment__run" not in html
    href = re.search(r'class="md-button lesson-experiment__link" href="([^"]+)"', html)[1]
    path, fragment = href.split("#")
    assert path == "../beta/"
    entry, text = fragment.split("=", 1)
    assert entry == "w1.scaling_strategy_simulator"  # the format of overrides/assets/widgets/state.js
    assert json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))) == {"s": "quiet", "p": {"replicas": 2}}


def without_its_widget(tmp_path) -> tuple[Path, str]:
    """The fixture with lesson beta no longer showing the widget its experiment drives; (docs, beta's
    original text)."""
    docs = sitekit.copy_docs(tmp_path, CHECKED)
    beta = docs / "lessons" / "beta.md"
    original = beta.read_text(encoding="utf-8")
    text = original.replace("widgets:\n  - type: scaling_strategy_simulator\n    data: /widgets/scaling.json\n", "widgets: []\n")
    beta.write_text(text.replace("<!-- widget: scaling_strategy_simulator -->\n", ""), encoding="utf-8")
    return docs, original


def test_experiment_whose_widget_no_lesson_shows_is_an_error(tmp_path):
    docs, _ = without_its_widget(tmp_path)
    problems = course_mod.load(docs).problems
    assert [(p.line, p.path) for p in problems] == [(33, "experiment.widget")]
    assert problems[0].message.startswith("no lesson shows scaling_strategy_simulator, so the experiment cannot be run")


def test_reloading_reuses_checked_lessons_but_not_their_cross_lesson_verdicts(tmp_path):
    # mkdocs serve reloads the course on every save; an unchanged lesson's evaluation is reused, yet
    # a verdict that depends on other lessons (is its experiment's widget shown anywhere?) is not.
    docs, original = without_its_widget(tmp_path)
    first = course_mod.load(docs)
    assert [(p.line, p.path) for p in first.problems] == [(33, "experiment.widget")]
    again = course_mod.load(docs)  # nothing changed: the same problems, replayed
    assert [(p.line, p.path) for p in again.problems] == [(33, "experiment.widget")]
    (docs / "lessons" / "gamma.md").write_text(original.replace("id: beta", "id: gamma", 1), encoding="utf-8")
    shown = course_mod.load(docs)  # beta unchanged, but another lesson now shows the widget
    assert [p for p in shown.problems if p.file.endswith("beta.md")] == []
    beta_report = next(cl.source.body for cl in shown.lessons if cl.lesson.id == "beta")
    assert all(block.ok for block in beta_report.blocks)


def test_an_edited_scenario_file_is_checked_again(tmp_path):
    docs = sitekit.copy_docs(tmp_path, CHECKED)
    assert course_mod.load(docs).problems == []
    scenarios = docs / "widgets" / "scaling.json"
    scenarios.write_text(scenarios.read_text(encoding="utf-8").replace('"name": "', '"name": "renamed-', 1), encoding="utf-8")
    problems = course_mod.load(docs).problems
    assert problems and all("unknown scenario" in p.message or "default" in p.message for p in problems), problems
