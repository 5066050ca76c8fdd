"""HTML generated from front matter: lesson header and footer, quiz and flashcards pages, the
course map and the tags index.

Every authored string goes through ``esc``: a title or option such as ``<img src=x onerror=...>``
must render as text. Every internal link is relative (``course.relative``) so the site works under
a sub-path. Behaviour (checking answers, flipping cards, saving notes, loading the video) is added by
the ES modules in overrides/assets/course/, which find these elements by class and data attributes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
import base64
import json
from urllib.parse import quote, urlencode

from hooks.widgets.render import STATE_VERSION, script_json
from widgets_py import registry

from . import blocks
from .body import WORDS_PER_MINUTE
from .course import Course, CourseChapter, CourseLesson, relative
from .progress import cards_version, check_key, quiz_version
from .validate import WIDGET_MARKER_RE, Problem

# Markdown keeps an HTML comment on its own line as-is, so markers survive rendering unchanged.
RENDERED_MARKER_RE = re.compile(r"<!--[ \t]*widget:[ \t]*(?P<type>[^ \t>]+)[ \t]*-->")
COURSE_MAP_MARKER = "<!-- course-map -->"
assert WIDGET_MARKER_RE.match("<!-- widget: x -->")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _tag_links(tags: Sequence[str], course: Course, page_url: str) -> str:
    return " ".join(
        f'<a class="lesson-tag" href="{esc(relative(course.tags_url + "#tag-" + tag, page_url))}">{esc(tag)}</a>'
        for tag in tags
    )


def _lesson_link(lesson_id: str, course: Course, page_url: str) -> str:
    target = course.get(lesson_id)
    if target is None:  # only while the course has problems; the build already fails on it
        return f"<span>{esc(lesson_id)}</span>"
    return f'<a href="{esc(relative(target.url, page_url))}">{esc(target.lesson.title)}</a>'


def _practice_links(cl: CourseLesson, page_url: str) -> str:
    lesson = cl.lesson
    return (
        f'<a href="{esc(relative(cl.quiz_url, page_url))}">Quiz ({plural(len(lesson.quiz), "question")})</a>'
        f' · <a href="{esc(relative(cl.flashcards_url, page_url))}">Flashcards ({plural(len(lesson.flashcards), "card")})</a>'
    )


def anki_link(url: str, page_url: str, text: str) -> str:
    """Link to an Anki package; ``download`` keeps browsers from trying to display it."""
    return f'<a class="course-anki" href="{esc(relative(url, page_url))}" download>{esc(text)}</a>'


def video_facade(cl: CourseLesson) -> str:
    video = cl.lesson.video
    if video is None:
        return ""
    params = {"autoplay": "1", "start": str(video.start)}
    if video.end is not None:
        params["end"] = str(video.end)
    # The embed URL sits in a data attribute: nothing is requested until the reader clicks.
    embed = f"https://www.youtube-nocookie.com/embed/{quote(video.id)}?{urlencode(params)}"
    watch = f"https://www.youtube.com/watch?{urlencode({'v': video.id, 't': f'{video.start}s'})}"
    span = f"{video.start // 60}:{video.start % 60:02d}" + (f"–{video.end // 60}:{video.end % 60:02d}" if video.end else "")
    return f"""<section class="lesson-video" aria-labelledby="lesson-video-heading">
<h2 id="lesson-video-heading">Video</h2>
<div class="course-video" data-embed="{esc(embed)}" data-title="{esc('Video: ' + cl.lesson.title)}">
<button type="button" class="course-video__play"><span class="course-video__icon" aria-hidden="true">▶</span> Play the video ({esc(span)})</button>
<p class="course-video__note">The player loads from youtube-nocookie.com only after you press play; nothing is requested before.
Offline or blocked? <a class="course-video__link" href="{esc(watch)}" rel="noopener noreferrer">Watch it on YouTube</a> when you are back online.</p>
<p class="course-video__status" role="status"></p>
</div>
</section>"""


def _reading_item(cl: CourseLesson) -> str:
    report = cl.source.body
    if report is None or not report.words:
        return ""
    return (f'\n<div><dt>Reading time</dt><dd>{report.reading_min} min <span class="course-reading">'
            f'({report.words:,} words at {WORDS_PER_MINUTE} words a minute)</span></dd></div>')


def _reading_suffix(cl: CourseLesson) -> str:
    report = cl.source.body
    if report is None or not report.words:
        return ""
    return f' <span class="course-reading">· {report.reading_min} min reading</span>'


def lesson_header(cl: CourseLesson, course: Course, page_url: str) -> str:
    lesson = cl.lesson
    prereqs = (
        "<ul>" + "".join(f"<li>{_lesson_link(p, course, page_url)}</li>" for p in lesson.prereqs) + "</ul>"
        if lesson.prereqs
        else "<p>None: this lesson is a starting point.</p>"
    )
    goals = "".join(f"<li>{esc(goal)}</li>" for goal in lesson.goals)
    return f"""<header class="lesson-header" data-lesson-id="{esc(lesson.id)}">
<p class="lesson-header__kicker">Lesson {cl.position} of {len(course.lessons)}</p>
<h1 id="lesson-title">{esc(lesson.title)}</h1>
<dl class="lesson-meta">
<div><dt>Duration</dt><dd>{lesson.duration_min} min</dd></div>{_reading_item(cl)}
<div><dt>Tags</dt><dd>{_tag_links(lesson.tags, course, page_url)}</dd></div>
<div><dt>Practice</dt><dd>{_practice_links(cl, page_url)}</dd></div>
</dl>
<section class="lesson-prereqs" aria-labelledby="lesson-prereqs-heading">
<h2 id="lesson-prereqs-heading">Before this lesson</h2>
{prereqs}
</section>
<section class="lesson-goals" aria-labelledby="lesson-goals-heading">
<h2 id="lesson-goals-heading">Goals</h2>
<ul>{goals}</ul>
</section>
{video_facade(cl)}
</header>
"""


def lesson_footer(cl: CourseLesson, course: Course, page_url: str) -> str:
    lesson = cl.lesson
    prompts = "".join(f"<li>{esc(prompt)}</li>" for prompt in lesson.reflection)
    notes_id = f"lesson-notes-{esc(lesson.id)}"
    if lesson.next and course.get(lesson.next):
        onward = f'<p class="lesson-next__link">Next lesson: {_lesson_link(lesson.next, course, page_url)} →</p>'
    else:
        onward = f'<p class="lesson-next__link">This is the last lesson. <a href="{esc(relative("", page_url))}">Back to the course map</a></p>'
    return f"""<section class="lesson-reflection" aria-labelledby="lesson-reflection-heading">
<h2 id="lesson-reflection-heading">Reflect</h2>
<ul>{prompts}</ul>
<label class="course-notes__label" for="{notes_id}">Your notes (kept in this browser only)</label>
<textarea class="course-notes" id="{notes_id}" data-notes-id="{esc(lesson.id)}" rows="6"></textarea>
<p class="course-notes__status" aria-live="polite"></p>
</section>
<nav class="lesson-next" aria-label="Practice and next lesson">
<p>Practice: {_practice_links(cl, page_url)}</p>
{onward}
</nav>
"""


def place_widgets(content: str, cl: CourseLesson, render: Callable[[str, str], str]) -> str:
    """Replace each ``<!-- widget: type -->`` marker with the widget; widgets listed in front matter
    but not placed are appended in a "Try it" section. ``render(type, data)`` returns widget HTML."""
    listed = {ref.type: ref for ref in cl.lesson.widgets}
    placed: set[str] = set()

    def replace(match: re.Match) -> str:
        wtype = match.group("type")
        if wtype not in listed or wtype in placed:
            return match.group(0)  # reported by validation; leave the comment
        placed.add(wtype)
        return _widget_block(wtype, render(wtype, listed[wtype].data))

    content = RENDERED_MARKER_RE.sub(replace, content)
    rest = [ref for ref in cl.lesson.widgets if ref.type not in placed]
    if rest:
        blocks = "\n".join(_widget_block(ref.type, render(ref.type, ref.data)) for ref in rest)
        content += f'\n<section class="lesson-try-it" aria-labelledby="lesson-try-it-heading">\n<h2 id="lesson-try-it-heading">Try it</h2>\n{blocks}\n</section>\n'
    return content


def _widget_block(wtype: str, widget_html: str) -> str:
    return f'<div class="lesson-widget" data-widget-type="{esc(wtype)}">\n{widget_html}\n</div>'


# The theme's "Skip to content" link points at the first heading of the page's table of contents. A
# generated page is built from a one-line "# Title {#content-start}" (see the adapter) whose HTML the
# functions below replace, so their <h1> carries the same id and the link keeps its target.
SKIP_TARGET = "content-start"


def question_html(item, name: str, attrs: str, label: str, explain_html: str) -> str:
    """One multiple-choice question with the quiz's interaction (quiz.js ``bindQuestion``): used on the
    quiz page and for ``check`` blocks in the lesson body."""
    options = "".join(
        f'<li><label><input type="radio" name="{name}" value="{j}"> <span>{esc(option)}</span></label></li>'
        for j, option in enumerate(item.options)
    )
    return f"""<fieldset class="course-quiz__question"{attrs} data-answer="{item.answer}">
<legend><span class="course-quiz__number">{label}</span> {esc(item.q)}</legend>
<ul class="course-quiz__options">{options}</ul>
<button type="button" class="md-button course-quiz__check">Check answer</button>
<div class="course-quiz__feedback" aria-live="polite">
<p class="course-quiz__verdict"></p>
<p class="course-quiz__explain" hidden>{explain_html}</p>
</div>
</fieldset>"""


def lesson_values(cl: CourseLesson) -> dict:
    return cl.source.body.values if cl.source.body else {}


def quiz_page(cl: CourseLesson, course: Course, page_url: str) -> str:
    lesson = cl.lesson
    version = quiz_version(lesson)
    questions = [
        question_html(item, f"quiz-{esc(lesson.id)}-q{i}", f' id="question-{i + 1}" data-index="{i}"',
                      f"Question {i + 1} of {len(lesson.quiz)}.", blocks.text_html(item.explain, lesson_values(cl)))
        for i, item in enumerate(lesson.quiz)
    ]
    return f"""<article class="course-quiz" data-quiz-id="{esc(lesson.id)}" data-quiz-version="{version}">
<h1 id="{SKIP_TARGET}">Quiz: {esc(lesson.title)}</h1>
<p class="course-quiz__back"><a href="{esc(relative(cl.url, page_url))}">← Back to the lesson</a> · <a href="{esc(relative(cl.flashcards_url, page_url))}">Flashcards</a></p>
<p>Pick an answer and press <strong>Check answer</strong>: you see at once whether it is right, and why. Your answers stay in this browser, so you can come back later.</p>
<noscript><p class="course-quiz__noscript">Checking answers needs JavaScript.</p></noscript>
<form class="course-quiz__form" novalidate>
{chr(10).join(questions)}
</form>
<p class="course-quiz__score" role="status" aria-live="polite">Score: 0 of {len(lesson.quiz)}</p>
<p><button type="button" class="md-button course-quiz__retry">Retry the quiz</button></p>
</article>
"""


def flashcards_page(cl: CourseLesson, course: Course, page_url: str) -> str:
    lesson = cl.lesson
    cards = lesson.cards()
    version = cards_version(lesson)
    items = "".join(
        f'<li class="course-cards__item"><span class="course-cards__term">{esc(term)}</span>'
        f'<span class="course-cards__definition">{esc(definition)}</span></li>'
        for term, definition in cards
    )
    return f"""<article class="course-cards" data-cards-id="{esc(lesson.id)}" data-cards-version="{version}">
<h1 id="{SKIP_TARGET}">Flashcards: {esc(lesson.title)}</h1>
<p class="course-cards__back"><a href="{esc(relative(cl.url, page_url))}">← Back to the lesson</a> · <a href="{esc(relative(cl.quiz_url, page_url))}">Quiz</a> · {anki_link(cl.anki_url, page_url, "These cards as an Anki deck")}</p>
<p>The term is on the front, the definition on the back. Flip a card by clicking it or pressing <kbd>Space</kbd>.
Mark it <strong>Known</strong> or <strong>Again</strong>: your marks stay in this browser and schedule when each card is due for review.</p>
<div class="course-cards__deck" hidden>
<p class="course-cards__position" aria-live="polite"></p>
<button type="button" class="course-cards__card" aria-describedby="course-cards-hint-{esc(lesson.id)}">
<span class="course-cards__side">Term</span>
<span class="course-cards__face"></span>
</button>
<p class="course-cards__hint" id="course-cards-hint-{esc(lesson.id)}">Click the card or press Space to flip it.</p>
<div class="course-cards__controls">
<button type="button" class="md-button course-cards__prev">← Previous</button>
<button type="button" class="md-button course-cards__next">Next →</button>
<button type="button" class="md-button course-cards__shuffle">Shuffle</button>
</div>
<div class="course-cards__marks">
<button type="button" class="md-button course-cards__known">Known</button>
<button type="button" class="md-button course-cards__again">Again</button>
</div>
<p class="course-cards__status" role="status"></p>
<p class="course-cards__summary"></p>
</div>
<ol class="course-cards__list">{items}</ol>
</article>
"""


def _map_items(lessons: Sequence[CourseLesson], course: Course, page_url: str) -> str:
    items = []
    for cl in lessons:
        lesson = cl.lesson
        after = (
            "After " + ", ".join(_lesson_link(p, course, page_url) for p in lesson.prereqs)
            if lesson.prereqs
            else "Start here"
        )
        items.append(
            f"""<li class="course-map__lesson" data-lesson-id="{esc(lesson.id)}">
<p class="course-map__title"><a href="{esc(relative(cl.url, page_url))}">{esc(lesson.title)}</a> <span class="course-map__duration">{lesson.duration_min} min{_reading_suffix(cl)}</span></p>
<p class="course-map__prereqs">{after}</p>
<p class="course-map__practice">{_practice_links(cl, page_url)} · {anki_link(cl.anki_url, page_url, "Anki deck")}</p>
<p class="course-map__tags">{_tag_links(lesson.tags, course, page_url)}</p>
</li>"""
        )
    return "<ol>\n" + "\n".join(items) + "\n</ol>\n"


def _map_total(lessons: Sequence[CourseLesson], course: Course, page_url: str) -> str:
    total = sum(cl.lesson.duration_min for cl in lessons)
    return (f'<p class="course-map__total">{plural(len(lessons), "lesson")}, {total} min in all. '
            f'<a href="{esc(relative(course.tags_url, page_url))}">Browse by tag</a>.</p>\n')


def course_map(course: Course, page_url: str) -> str:
    """The home page's map: every chapter with its lessons, then lessons outside chapters."""
    if not course.lessons:
        return '<p class="course-map__empty">No lessons yet: add Markdown files under docs/lessons/&lt;chapter&gt;/.</p>'
    sections = [
        f"""<section class="course-map__chapter" id="chapter-{esc(ch.id)}">
<h3 class="course-map__chapter-title"><a href="{esc(relative(ch.url, page_url))}">{esc(ch.title)}</a></h3>
<p class="course-map__summary">{esc(ch.summary)}</p>
{_map_items(ch.lessons, course, page_url)}</section>"""
        for ch in course.chapters if ch.lessons
    ]
    loose = course.unchaptered()
    if loose:
        sections.append(_map_items(loose, course, page_url))
    deck = f'<p class="course-map__anki">{anki_link(course.anki_url, page_url, "All flashcards as one Anki deck")} (a sub-deck per lesson).</p>\n'
    return (f'<nav class="course-map" aria-label="Course map">\n{chr(10).join(sections)}\n'
            f'{_map_total(course.lessons, course, page_url)}{deck}</nav>\n')


def chapter_map(chapter: CourseChapter, course: Course, page_url: str) -> str:
    """A chapter page's map: its lessons in course order (prerequisites may link to other chapters)."""
    if not chapter.lessons:
        return '<p class="course-map__empty">No lessons in this chapter yet: add Markdown files to its folder.</p>'
    return (f'<nav class="course-map" aria-label="Chapter map: {esc(chapter.title)}">\n'
            f'{_map_items(chapter.lessons, course, page_url)}{_map_total(chapter.lessons, course, page_url)}</nav>\n')


def tags_page(course: Course, page_url: str) -> str:
    sections = []
    for tag, lessons in course.tags().items():
        links = "".join(
            f'<li><a href="{esc(relative(cl.url, page_url))}">{esc(cl.lesson.title)}</a> ({cl.lesson.duration_min} min)</li>'
            for cl in lessons
        )
        sections.append(f'<section class="course-tag" id="tag-{esc(tag)}">\n<h2>{esc(tag)}</h2>\n<ul>{links}</ul>\n</section>')
    return f'<h1 id="{SKIP_TARGET}">Tags</h1>\n<div class="course-tags">\n' + "\n".join(sections) + "\n</div>\n"


def problems_banner(problems: Sequence[Problem]) -> str:
    if not problems:
        return ""
    items = "".join(f"<li><code>{esc(p)}</code></li>" for p in problems)
    return (
        '<div class="admonition failure lesson-problems" role="alert">\n'
        f'<p class="admonition-title">{plural(len(problems), "lesson problem")}: '
        "<code>mkdocs build --strict</code> fails until fixed</p>\n"
        f"<ul>{items}</ul>\n</div>\n"
    )


# --- blocks in the lesson body (hooks/lessons/blocks.py) ----------------------------------------------

def place_blocks(content: str, cl: CourseLesson, course: Course, page_url: str) -> str:
    """Fill each block marker left by ``blocks.prepare_markdown`` with its experiment card or check."""
    report = cl.source.body
    if report is None:
        return content

    def replace(match: re.Match) -> str:
        number = int(match.group("index"))
        block = report.blocks[number] if number < len(report.blocks) else None
        if block is None or not block.ok:
            return ""
        if isinstance(block, blocks.ExperimentBlock):
            return experiment_html(block, number, cl, course, page_url)
        return check_html(block, number, cl)

    return blocks.RENDERED_BLOCK_RE.sub(replace, content)


def check_html(block: blocks.CheckBlock, number: int, cl: CourseLesson) -> str:
    item = block.item
    key = check_key(item)
    question = question_html(item, f"check-{esc(cl.lesson.id)}-{number}", "", "Check yourself.",
                             blocks.text_html(item.explain, lesson_values(cl)))
    return (f'<form class="lesson-check" data-check="{key}" data-lesson-id="{esc(cl.lesson.id)}" id="check-{key}" novalidate>\n'
            f"{question}\n</form>")


def _param_change(param, value) -> str:
    """``Label = value unit``, as the widget's controls name the parameter (its name in a tooltip)."""
    if isinstance(value, bool):
        shown = "on" if value else "off"
    else:
        shown = f"{value:,g}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else str(value)
    unit = f"\u00a0{param.unit}" if param.unit and not isinstance(value, (bool, str)) else ""
    return f'<span class="lesson-experiment__param" title="{esc(param.name)}">{esc(param.label)} = {esc(shown)}{esc(unit)}</span>'


def state_fragment(widget: str, scenario: str, overrides: dict) -> str:
    """The widget state in a URL fragment, as overrides/assets/widgets/state.js encodes it."""
    doc = json.dumps({"s": scenario, "p": overrides}, separators=(",", ":"), ensure_ascii=False)
    text = base64.urlsafe_b64encode(doc.encode("utf-8")).decode("ascii").rstrip("=")
    return f"#w{STATE_VERSION}.{widget}={text}"


def experiment_target(block: blocks.ExperimentBlock, course: Course) -> tuple[CourseLesson, str]:
    """The lesson whose widget runs this experiment when this page has none, and the fragment that
    loads it there: a lesson using the scenario's own file if one does, else any lesson showing the widget."""
    widget, entry = block.entry.widget, block.entry
    showing = [(other, ref) for other in course.lessons for ref in other.lesson.widgets if ref.type == widget]
    other, ref = next(((o, r) for o, r in showing if r.data == entry.data), showing[0])
    if ref.data == entry.data:
        return other, state_fragment(widget, entry.scenario.name, block.overrides)
    default_name = course.scenarios.defaults.get(ref.data, "")
    base = course.scenarios.by_widget.get(widget, {}).get(default_name)
    base_params = base.scenario.params if base else {}
    diff = {k: v for k, v in block.params.items() if base_params.get(k) != v}
    return other, state_fragment(widget, default_name, diff)


def claim_json(result: blocks.ClaimResult) -> dict:
    """A claim as experiments.js evaluates it live: operands as metric paths or literals (with the
    literal's text as the build formatted it), never as code."""
    claim = result.claim
    return {"op": claim.op, "tolerance": claim.tolerance,
            "left": {**claim.left.to_json(), "text": result.left["text"]},
            "right": {**claim.right.to_json(), "text": result.right["text"]}}


def _claim_item(i: int, result: blocks.ClaimResult) -> str:
    holds = "holds" if result.holds else "fails"
    mark = "✓" if result.holds else "✗"
    return (f'<li class="lesson-experiment__claim" data-claim="{i}" data-holds="{str(result.holds).lower()}">'
            f'<span class="lesson-experiment__mark" aria-hidden="true">{mark}</span> '
            f'<code>{esc(result.claim.text)}</code>: '
            f'<span class="lesson-experiment__values">{esc(result.shown())}</span> '
            f'<span class="lesson-experiment__verdict">({holds})</span></li>')


def experiment_html(block: blocks.ExperimentBlock, number: int, cl: CourseLesson, course: Course, page_url: str) -> str:
    spec, entry = block.spec, block.entry
    values = lesson_values(cl)
    widget = registry.get(entry.widget)
    changes = ", ".join(_param_change(widget.param(k), v) for k, v in block.overrides.items())
    setup = f"Scenario “{esc(entry.scenario.title)}” of the {esc(widget.title)}" + (f", with {changes}" if changes else "") + "."
    on_page = any(ref.type == entry.widget for ref in cl.lesson.widgets)
    if on_page:
        action = '<button type="button" class="md-button lesson-experiment__run">Run this experiment</button>'
    else:
        other, fragment = experiment_target(block, course)  # check_course ensures a lesson shows the widget
        href = relative(other.url, page_url) + fragment
        action = (f'<a class="md-button lesson-experiment__link" href="{esc(href)}">Run this experiment in '
                  f'“{esc(other.lesson.title)}”</a>')
    data = {
        "widget": entry.widget, "scenario": entry.scenario.name,
        "params": block.params, "baseline": entry.scenario.params,
        "claims": [claim_json(r) for r in block.results],
    }
    notice = f'<p class="lesson-experiment__notice">{blocks.text_html(spec.notice, values)}</p>' if spec.notice else ""
    claims = "".join(_claim_item(i, r) for i, r in enumerate(block.results))
    return f"""<section class="lesson-experiment" data-experiment="{number}" data-widget="{esc(entry.widget)}" aria-labelledby="lesson-experiment-{number} lesson-experiment-{number}-setup">
<p class="lesson-experiment__kicker" id="lesson-experiment-{number}">Experiment</p>
<p class="lesson-experiment__setup" id="lesson-experiment-{number}-setup">{setup}</p>
<p class="lesson-experiment__predict"><strong>Predict:</strong> {blocks.text_html(spec.predict, values)}</p>
<p class="lesson-experiment__actions"{" hidden" if on_page else ""}>{action}</p>
<div class="lesson-experiment__outcome">
<p class="lesson-experiment__status" role="status">Computed by the simulator when this page was built:</p>
{notice}
<ul class="lesson-experiment__claims">{claims}</ul>
</div>
<template class="lesson-experiment__data">{script_json(data)}</template>
</section>"""

