"""Checked lessons: numbers computed by the simulators, guided experiments the build verifies, and
questions inside the text. Plain Python (no MkDocs): the build and ``python -m hooks.lessons check`` call
the same functions through ``course.load``.

In a lesson body (outside code):

* ``{{ <widget>@<scenario> <metric.path> }}`` is that metric of that named scenario (a preset in
  ``docs/widgets/*.json``), formatted as the widget shows it (``widgets_py.api.format_value``).
* a fenced ```` ```experiment ```` block (YAML: ``widget, scenario, set, predict, expect, notice``) is run
  at build time; each ``expect`` claim must hold. Claims are read by a small grammar (``parse_claim``),
  never ``eval``:  ``<path> <op> <number | path>`` with ``<, <=, >, >=, ==, !=``, or
  ``<path> ≈ <number | path> ± <p>%``; a path is one of the widget's metric names, ``baseline.<path>``
  the same scenario without ``set``; a number may end in ``%`` (``60%`` is 0.6), and ``true``/``false``
  compare yes/no metrics.
* a fenced ```` ```check ```` block is one quiz question (``q, options, answer, explain``), validated by
  the quiz item model.

Every problem is reported at the ``file:line`` an author has to edit, all of them in one build.
Simulations run in CPython through ``hooks.widgets.build.computed_metrics`` (cached on disk like the
pre-rendered widgets), so a value costs nothing once computed.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hooks.widgets.build import computed_metrics
from widgets_py import registry
from widgets_py import scenarios as scenarios_mod
from widgets_py.api import format_value
from widgets_py.core import Metric, ParamError

from . import body as body_mod
from . import frontmatter
from .model import Check, Experiment
from .validate import LessonSource, Problem, describe, format_path, quiz_item_rules, suggest

BLOCK_KINDS = ("experiment", "check")
VALUE_HELP = "write {{ <widget>@<scenario> <metric.path> }}, e.g. {{ scaling_strategy_simulator@titanic-launch autoscaled.p95_ms }}"
PLACEHOLDER_INNER_RE = re.compile(r"^\s*(?P<widget>[^\s@]+)@(?P<scenario>\S+)\s+(?P<path>\S+)\s*$")
WIDGETS_DIR = "widgets"


# --- scenarios by name -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScenarioEntry:
    widget: str
    scenario: scenarios_mod.Scenario
    data: str  # the file as front matter names it: "/widgets/x.json"
    label: str  # the file as messages name it: "docs/widgets/x.json"


@dataclass
class ScenarioIndex:
    """Every scenario of ``docs/widgets/*.json`` by widget and name. Names must be unique per widget
    across files, so ``widget@scenario`` names one preset wherever it is written."""

    by_widget: dict[str, dict[str, ScenarioEntry]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)  # data path -> its default scenario name
    problems: dict[str, Problem] = field(default_factory=dict)  # data path -> why the file is unusable
    clashes: list[Problem] = field(default_factory=list)  # a scenario name used twice for one widget

    @classmethod
    def load(cls, docs_dir: Path) -> ScenarioIndex:
        index = cls()
        folder = Path(docs_dir) / WIDGETS_DIR
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            data, label = f"/{WIDGETS_DIR}/{path.name}", f"{Path(docs_dir).name}/{WIDGETS_DIR}/{path.name}"
            try:
                loaded = scenarios_mod.load(path, label=label)
            except scenarios_mod.ScenarioError as err:
                index.problems[data] = _scenario_problem(label, str(err))
                continue
            except ImportError as err:  # a widget module that cannot be imported: say so, no traceback
                index.problems[data] = Problem(label, 1, "widget", f"widget module cannot be imported ({err})")
                continue
            index.defaults[data] = loaded.default
            named = index.by_widget.setdefault(loaded.widget.type, {})
            for scenario in loaded.scenarios:
                if scenario.name in named:
                    line = _line_of_name(path, scenario.name)
                    index.clashes.append(Problem(
                        label, line, "scenarios",
                        f"scenario name {scenario.name!r} of {loaded.widget.type} is also used in {named[scenario.name].label} "
                        "(names must be unique per widget across files: lessons name a scenario as widget@name)"))
                    continue
                named[scenario.name] = ScenarioEntry(loaded.widget.type, scenario, data, label)
        return index

    def get(self, widget: str, name: str) -> ScenarioEntry:
        """The named scenario; raises LookupError with what is allowed."""
        named = self.by_widget.get(widget, {})
        if name not in named:
            allowed = ", ".join(named) or f"none: add a scenario file for {widget} under docs/{WIDGETS_DIR}/"
            raise LookupError(f"unknown scenario {name!r} for {widget} ({suggest(name, list(named))}allowed: {allowed})")
        return named[name]

    def files_of(self, widget: str) -> list[str]:
        return sorted({entry.data for entry in self.by_widget.get(widget, {}).values()})


def _scenario_problem(label: str, message: str) -> Problem:
    """A ScenarioError (``<label>[:<line>]: <what>``) as a Problem at its file and line."""
    match = re.match(rf"^{re.escape(label)}(?::(\d+))?: (.*)$", message, re.S)
    if not match:
        return Problem(label, 1, "", message)
    return Problem(label, int(match[1] or 1), "", match[2])


def _line_of_name(path: Path, name: str) -> int:
    text = path.read_text(encoding="utf-8")
    match = re.search(rf'"name"\s*:\s*"{re.escape(name)}"', text)
    return text[: match.start()].count("\n") + 1 if match else 1


# --- computed values -----------------------------------------------------------------------------------

def metrics_of(widget: str) -> dict[str, Metric]:
    return {m.name: m for m in registry.get(widget).metrics}


def _unknown_metric(widget: str, path: str) -> str:
    names = list(metrics_of(widget))
    return f"unknown metric path {path!r} for {widget} ({suggest(path, names)}allowed: {', '.join(names)})"


def run_metrics(widget: str, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The widget's key metrics for these params: ``{name: {"value", "text"}}``; raises ValueError with
    the simulator's one-line error."""
    out = computed_metrics(widget, params)
    if not out["ok"]:
        raise ValueError(f"the simulation fails: {out['error']}")
    return out["metrics"]


ValueKey = tuple[str, str, str]  # (widget, scenario, metric path)


def resolve_value(inner: str, index: ScenarioIndex) -> tuple[ValueKey, str]:
    """``inner`` of ``{{ inner }}`` -> (key, formatted value); raises ValueError with the reason."""
    match = PLACEHOLDER_INNER_RE.match(inner)
    if not match:
        raise ValueError(f"not a simulator value ({VALUE_HELP})")
    widget, name, path = match["widget"], match["scenario"], match["path"]
    if widget not in registry.MODULES:
        known = registry.names()
        raise ValueError(f"unknown widget {widget!r} ({suggest(widget, known)}allowed: {', '.join(known)})")
    try:
        entry = index.get(widget, name)
    except LookupError as err:
        raise ValueError(str(err)) from None
    if path not in metrics_of(widget):
        raise ValueError(_unknown_metric(widget, path))
    return (widget, name, path), run_metrics(widget, entry.scenario.params)[path]["text"]


def scan_values(text: str, first_line: int, index: ScenarioIndex, values: dict[ValueKey, str],
                report: Any, multiline: bool = True) -> int:
    """Resolve every ``{{ … }}`` of ``text`` into ``values``; ``report(line, message)`` for each bad one.
    ``text`` is Markdown prose (code left alone) unless ``multiline`` is False (one YAML value, all on
    the line of its key). Returns how many placeholders it found."""
    lines = body_mod.lines_outside_code(text, first_line) if multiline else [(first_line, body_mod.blank_inline_code(text))]
    found = 0
    for line, prose in lines:
        for match in body_mod.PLACEHOLDER_RE.finditer(prose):
            found += 1
            try:
                key, shown = resolve_value(match["inner"], index)
            except ValueError as err:
                report(line, f"{match.group(0)}: {err}")
                continue
            values[key] = shown
    return found


# --- claims --------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"""\s*(?:
    (?P<pm>±|\+/-|\+-)
  | (?P<op><=|>=|==|!=|~=|≈|<|>)
  | (?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<percent>%)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
)""", re.X)
CLAIM_HELP = "write '<path> <op> <number | path>' with <, <=, >, >=, ==, !=, or '<path> ≈ <number | path> ± <p>%'"
OPS = ("<", "<=", ">", ">=", "==", "!=", "≈")


@dataclass(frozen=True)
class Operand:
    path: str | None = None  # a metric name
    baseline: bool = False  # of the scenario without `set`
    literal: float | bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "baseline": self.baseline} if self.path else {"literal": self.literal}


@dataclass(frozen=True)
class Claim:
    text: str
    left: Operand
    op: str
    right: Operand
    tolerance: float | None = None  # percent, for ≈


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise ValueError(f"cannot read {text[pos:].strip()!r} ({CLAIM_HELP})")
        kind = match.lastgroup
        out.append((kind, match[kind]))
        pos = match.end()
    return out


def _operand(kind: str, value: str, tokens: list[tuple[str, str]]) -> Operand:
    if kind == "word" and value in ("true", "false"):
        return Operand(literal=value == "true")
    if kind == "word":
        baseline = value.startswith("baseline.")
        return Operand(path=value[len("baseline."):] if baseline else value, baseline=baseline)
    if kind == "number":
        number = float(value)
        if tokens and tokens[0][0] == "percent":
            tokens.pop(0)
            number /= 100
        return Operand(literal=number)
    raise ValueError(f"expected a metric path or a number, found {value!r} ({CLAIM_HELP})")


def parse_claim(text: str, metric_names: list[str] | dict[str, Any]) -> Claim:
    """``text`` as a Claim; raises ValueError naming what is wrong. Metric paths must be in ``metric_names``."""
    tokens = _tokens(text)
    if len(tokens) < 3:
        raise ValueError(f"{text!r} is not a claim ({CLAIM_HELP})")
    left = _operand(*tokens.pop(0), tokens)
    if left.path is None:
        raise ValueError(f"a claim starts with a metric path, not {text.split()[0]!r} ({CLAIM_HELP})")
    kind, op = tokens.pop(0)
    if kind != "op":
        raise ValueError(f"expected a comparison after {left.path!r}, found {op!r} ({CLAIM_HELP})")
    op = "≈" if op == "~=" else op
    if not tokens:
        raise ValueError(f"nothing to compare with after {op!r} ({CLAIM_HELP})")
    right = _operand(*tokens.pop(0), tokens)
    tolerance = None
    if op == "≈":
        if len(tokens) != 3 or tokens[0][0] != "pm" or tokens[1][0] != "number" or tokens[2][0] != "percent":
            raise ValueError(f"'≈' needs a tolerance: '<path> ≈ <number | path> ± <p>%' ({CLAIM_HELP})")
        tolerance = float(tokens[1][1])
        tokens = []
    if tokens:
        raise ValueError(f"unexpected {tokens[0][1]!r} after the claim ({CLAIM_HELP})")
    for operand in (left, right):
        if operand.path is not None and operand.path not in metric_names:
            names = list(metric_names)
            raise ValueError(f"unknown metric path {operand.path!r} ({suggest(operand.path, names)}allowed: "
                             f"{', '.join(names)}, each also as baseline.<path>)")
    return Claim(text.strip(), left, op, right, tolerance)


def compare(a: Any, op: str, b: Any, tolerance: float | None = None) -> bool:
    """Whether ``a op b`` holds; a missing value (None) never does. Mirrored in experiments.js."""
    if a is None or b is None:
        return False
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if isinstance(a, bool) or isinstance(b, bool):
        return False  # yes/no values only compare with == and !=
    if op == "≈":
        return abs(a - b) <= (tolerance or 0) / 100 * abs(b)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    line: int
    left: dict[str, Any]  # {"value", "text"}
    right: dict[str, Any]
    holds: bool

    def shown(self) -> str:
        tol = f" ± {self.claim.tolerance:g}%" if self.claim.tolerance is not None else ""
        return f"{self.left['text']} vs {self.right['text']}{tol}"


def evaluate(claim: Claim, metrics: dict[str, Metric], run: dict, baseline: dict, line: int) -> ClaimResult:
    def side(operand: Operand) -> dict[str, Any]:
        if operand.path is not None:
            return (baseline if operand.baseline else run)[operand.path]
        metric = metrics[claim.left.path]  # a literal reads in the units of the metric it is compared with
        return {"value": operand.literal, "text": format_value(operand.literal, metric.fmt, metric.unit)}

    left, right = side(claim.left), side(claim.right)
    return ClaimResult(claim, line, left, right, compare(left["value"], claim.op, right["value"], claim.tolerance))


# --- blocks ----------------------------------------------------------------------------------------------

@dataclass
class ExperimentBlock:
    line: int  # file line of the opening fence
    spec: Experiment | None = None
    entry: ScenarioEntry | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # `set`, validated
    params: dict[str, Any] = field(default_factory=dict)  # scenario + set, complete
    results: list[ClaimResult] = field(default_factory=list)
    ok: bool = False  # rendered as a card only when everything checked out

    kind = "experiment"


@dataclass
class CheckBlock:
    line: int
    item: Check | None = None
    ok: bool = False

    kind = "check"


@dataclass
class BodyReport:
    """What the body of one lesson holds, for rendering and the closing figures."""

    blocks: list[ExperimentBlock | CheckBlock] = field(default_factory=list)
    values: dict[ValueKey, str] = field(default_factory=dict)
    value_count: int = 0  # placeholders written (a value quoted twice counts twice)
    words: int = 0
    reading_min: int = 0


def check_lesson(source: LessonSource, index: ScenarioIndex) -> BodyReport:
    """Parse, validate and evaluate the body's values and blocks, the quiz explanations' values, and
    the reading time; problems go into ``source``. Safe on a lesson whose front matter failed."""
    report = BodyReport()
    source.body = report
    if source.fm is None:
        return report
    fm, first = source.fm, source.fm.body_line

    def at(line: int, path: str, message: str) -> None:
        source.problems.append(Problem(source.file, line, path, message))

    report.value_count = scan_values(fm.body, first, index, report.values, lambda line, msg: at(line, "body", msg))
    _values_elsewhere(fm, ("explain",), lambda path, msg: source.add(path, msg))
    quiz = fm.data.get("quiz")
    for i, item in enumerate(quiz if isinstance(quiz, list) else []):
        if isinstance(item, dict) and isinstance(item.get("explain"), str):
            path = ("quiz", i, "explain")
            report.value_count += scan_values(item["explain"], fm.line_of(path), index, report.values,
                        lambda line, msg, p=path: source.add(p, msg, line=line), multiline=False)
    block_words = 0
    for fence in body_mod.fences(fm.body):
        if fence.lang not in BLOCK_KINDS:
            continue
        line = first + fence.start
        if fence.end >= len(fm.body.splitlines()):
            at(line, fence.lang, f"the ```{fence.lang} block is never closed (end it with a line of ``` )")
            report.blocks.append(ExperimentBlock(line) if fence.lang == "experiment" else CheckBlock(line))
            continue
        parsed = _parse_block(fence, line, at)
        if fence.lang == "experiment":
            block = _check_experiment(parsed, line, source, index, report, at)
        else:
            block = _check_check(parsed, line, source, index, report, at)
        report.blocks.append(block)
        block_words += _block_words(parsed)
    report.words = body_mod.prose_words(fm.body) + block_words
    report.reading_min = body_mod.reading_minutes(report.words)
    duration = fm.data.get("duration_min")
    if isinstance(duration, int) and not isinstance(duration, bool) and 1 <= duration < report.reading_min:
        source.add(("duration_min",), f"{duration} min is less than the reading time alone ({report.reading_min} min: "
                                      f"{report.words} words at {body_mod.WORDS_PER_MINUTE} words a minute; allowed: at least {report.reading_min})")
    return report


def _values_elsewhere(parsed: frontmatter.FrontMatter, allowed: tuple[str, ...], report) -> None:
    """A ``{{ … }}`` in a YAML field that is not filled in (a title, a question, an option) would show
    as typed: report it at its line."""
    def walk(value: Any, path: tuple) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, path + (key,))
        elif isinstance(value, list):
            for i, child in enumerate(value):
                walk(child, path + (i,))
        elif isinstance(value, str) and body_mod.PLACEHOLDER_RE.search(value) and path[-1] not in allowed:
            report(path, f"simulator values are not filled in here (allowed: the lesson body and {', '.join(allowed)})")

    walk(parsed.data, ())


def _parse_block(fence: body_mod.Fence, line: int, at) -> frontmatter.FrontMatter | None:
    text = "\n".join(fence.content) + "\n"
    try:
        parsed = frontmatter.parse_mapping(text, line + 1, f"a ```{fence.lang} block")
        parsed.lines[()] = line  # a missing key is reported at the opening fence
        return parsed
    except frontmatter.FrontMatterError as err:
        at(err.line, fence.lang, err.message)
        return None


def _block_words(parsed: frontmatter.FrontMatter | None) -> int:
    if parsed is None:
        return 0
    texts = [parsed.data.get(key) for key in ("predict", "notice", "q", "explain")]
    options = parsed.data.get("options")
    texts += options if isinstance(options, list) else []
    return sum(body_mod.words(t) for t in texts if isinstance(t, str))


def _model_problems(parsed: frontmatter.FrontMatter, model, kind: str, at) -> Any:
    for dup_path, dup_line in parsed.duplicate_keys:
        at(dup_line, _path(kind, dup_path), "key appears twice (YAML keeps only the last one; remove one)")
    try:
        return model.model_validate(parsed.data)
    except ValidationError as err:
        for error in err.errors():
            loc = tuple(error["loc"])
            at(parsed.line_of(loc), _path(kind, loc), describe(error, model))
    return None


def _path(kind: str, loc: tuple) -> str:
    return format_path((kind,) + tuple(loc))


def _check_check(parsed, line: int, source: LessonSource, index: ScenarioIndex, report: BodyReport, at) -> CheckBlock:
    block = CheckBlock(line)
    if parsed is None:
        return block
    _values_elsewhere(parsed, ("explain",), lambda path, msg: at(parsed.line_of(path), _path("check", path), msg))
    item = _model_problems(parsed, Check, "check", at)
    rules = quiz_item_rules(parsed.data)
    for loc, message in rules:
        at(parsed.line_of(loc), _path("check", loc), message)
    explain = parsed.data.get("explain")
    problems_before = len(source.problems)
    if isinstance(explain, str):
        report.value_count += scan_values(explain, parsed.line_of(("explain",)), index, report.values,
                    lambda ln, msg: at(ln, "check.explain", msg), multiline=False)
    block.item = item
    block.ok = item is not None and not rules and len(source.problems) == problems_before
    return block


def _check_experiment(parsed, line: int, source: LessonSource, index: ScenarioIndex, report: BodyReport, at) -> ExperimentBlock:
    block = ExperimentBlock(line)
    if parsed is None:
        return block
    _values_elsewhere(parsed, ("predict", "notice"), lambda path, msg: at(parsed.line_of(path), _path("experiment", path), msg))
    spec = _model_problems(parsed, Experiment, "experiment", at)
    problems_before = len(source.problems)
    raw = parsed.data
    for key in ("predict", "notice"):
        if isinstance(raw.get(key), str):
            report.value_count += scan_values(raw[key], parsed.line_of((key,)), index, report.values,
                        lambda ln, msg, k=key: at(ln, f"experiment.{k}", msg), multiline=False)
    widget = raw.get("widget")
    if not isinstance(widget, str) or widget not in registry.MODULES:
        return block  # the model reported it
    metrics = metrics_of(widget)
    claims: list[tuple[int, tuple[Claim, int]]] = []
    expect = raw.get("expect")
    for i, text in enumerate(expect if isinstance(expect, list) else []):
        if not isinstance(text, str):
            continue
        where = parsed.line_of(("expect", i))
        try:
            claims.append((i, (parse_claim(text, metrics), where)))
        except ValueError as err:
            at(where, f"experiment.expect[{i}]", f"claim {text.strip()!r}: {err}")
    entry = _experiment_scenario(raw, widget, source, index, parsed, at)
    if entry is None:
        return block
    overrides = raw.get("set") if isinstance(raw.get("set"), dict) else {}
    params = _experiment_params(registry.get(widget), entry, overrides, parsed, at)
    if params is None:
        return block
    try:
        run = run_metrics(widget, params)
        baseline = run_metrics(widget, entry.scenario.params)
    except ValueError as err:
        at(parsed.line_of(("set",)), "experiment.set", str(err))
        return block
    block.entry, block.params = entry, params
    block.overrides = {name: params[name] for name in overrides}
    for i, (claim, where) in claims:
        result = evaluate(claim, metrics, run, baseline, where)
        block.results.append(result)
        if not result.holds:
            at(where, f"experiment.expect[{i}]", f"experiment claim {claim.text!r} is false ({result.shown()})")
    block.spec = spec
    block.ok = spec is not None and len(source.problems) == problems_before
    return block


def _experiment_params(widget, entry: ScenarioEntry, overrides: dict, parsed, at) -> dict[str, Any] | None:
    """The scenario's params with ``set`` applied and checked: every bad key is reported at its line,
    then the widget's cross-parameter rules at the line of ``set``."""
    names = [p.name for p in widget.params]
    bad = False
    for name, value in overrides.items():
        try:
            widget.param(name).coerce(value)
        except ParamError as err:
            message = str(err).split(": ", 1)[1]
            if name not in names:
                message = f"unknown parameter ({suggest(name, names)}allowed: {', '.join(names)})"
            at(parsed.line_of(("set", name)), _path("experiment", ("set", name)), message)
            bad = True
    if bad:
        return None
    try:
        return widget.validate({**entry.scenario.params, **overrides})
    except ParamError as err:
        at(parsed.line_of(("set",)), "experiment.set", str(err))
        return None


def _experiment_scenario(raw: dict, widget: str, source: LessonSource, index: ScenarioIndex,
                         parsed: frontmatter.FrontMatter, at) -> ScenarioEntry | None:
    """The named scenario, or the default of the scenario file this lesson uses for the widget (or of
    the widget's only scenario file)."""
    name = raw.get("scenario")
    if name is not None:
        if not isinstance(name, str):
            return None  # the model reported it
        try:
            return index.get(widget, name)
        except LookupError as err:
            at(parsed.line_of(("scenario",)), "experiment.scenario", str(err))
            return None
    own = [w.get("data") for w in source.raw.get("widgets") or [] if isinstance(w, dict) and w.get("type") == widget]
    files = [own[0]] if own and own[0] in index.defaults else index.files_of(widget)
    if len(files) != 1:
        allowed = ", ".join(index.by_widget.get(widget, {})) or "none"
        at(parsed.line_of(("widget",)), "experiment.scenario",
           f"name a scenario: {widget} has {'several scenario files' if files else 'no scenario file'} and this lesson does not show it (allowed: {allowed})")
        return None
    return index.get(widget, index.defaults[files[0]])


def check_course(sources: list[LessonSource], index: ScenarioIndex) -> None:
    """Across lessons: an experiment on a page without its widget links to a lesson that shows it, so
    one must exist; a scenario file no lesson uses is still checked (its scenarios can be quoted)."""
    shown = {w.get("type") for s in sources for w in (s.raw.get("widgets") or []) if isinstance(w, dict)}
    used = {w.get("data") for s in sources for w in (s.raw.get("widgets") or []) if isinstance(w, dict)}
    for source in sources:
        for block in getattr(source.body, "blocks", []):
            if isinstance(block, ExperimentBlock) and block.ok and block.entry.widget not in shown:
                source.problems.append(Problem(source.file, block.line, "experiment.widget",
                                               f"no lesson shows {block.entry.widget}, so the experiment cannot be run "
                                               "(add it to the widgets: of this lesson or another)"))
                block.ok = False
    if sources:
        first = sources[0]
        for data, problem in index.problems.items():
            if data not in used:  # a file a lesson uses is reported at the lesson's widgets line
                first.problems.append(problem)
        first.problems.extend(index.clashes)


# --- rendering helpers (HTML lives in pages.py) ----------------------------------------------------------

BLOCK_MARKER = "<!-- lesson-block: {} -->"
RENDERED_BLOCK_RE = re.compile(r"(?:<p>)?<!-- lesson-block: (?P<index>\d+) -->(?:</p>)?")


def value_html(key: ValueKey, text: str) -> str:
    widget, scenario, path = key
    return (f'<span class="sim-value" data-sim="{html.escape(f"{widget}@{scenario} {path}")}" '
            f'title="computed from the simulator">{html.escape(text)}</span>')


def _substitute(prose: str, original: str, values: dict[ValueKey, str], escape: bool) -> str:
    """``original`` with each resolved placeholder found in ``prose`` (the same line with code blanked)
    replaced by its value; the rest escaped when ``escape``."""
    out, pos = [], 0
    for match in body_mod.PLACEHOLDER_RE.finditer(prose):
        parsed = PLACEHOLDER_INNER_RE.match(match["inner"])
        key = (parsed["widget"], parsed["scenario"], parsed["path"]) if parsed else None
        if key not in values:
            continue  # reported as a problem; left as written
        out.append(_maybe_escape(original[pos:match.start()], escape))
        out.append(value_html(key, values[key]))
        pos = match.end()
    out.append(_maybe_escape(original[pos:], escape))
    return "".join(out)


def _maybe_escape(text: str, escape: bool) -> str:
    return html.escape(text) if escape else text


def text_html(text: str, values: dict[ValueKey, str]) -> str:
    """One authored text (an explanation, a prediction) as escaped HTML with its values filled in."""
    return _substitute(body_mod.blank_inline_code(text), text, values, escape=True)


def prepare_markdown(markdown: str, report: BodyReport | None) -> str:
    """The lesson body for Markdown: each valid experiment/check block replaced by a marker line that
    ``pages.place_blocks`` fills after rendering, each resolved ``{{ … }}`` outside code by its value.
    Invalid blocks stay as written (shown as code while the build reports them)."""
    if report is None:
        return markdown
    lines = markdown.split("\n")
    fenced = [f for f in body_mod.fences(markdown) if f.lang in BLOCK_KINDS]
    code = body_mod.code_line_indexes(markdown)
    for i, text in enumerate(lines):
        if i not in code and "{{" in text:
            lines[i] = _substitute(body_mod.blank_inline_code(text), text, report.values, escape=False)
    for number, fence in reversed(list(enumerate(fenced))):
        if number < len(report.blocks) and report.blocks[number].ok:
            lines[fence.start:fence.end + 1] = ["", fence.indent + BLOCK_MARKER.format(number), ""]
    return "\n".join(lines)
