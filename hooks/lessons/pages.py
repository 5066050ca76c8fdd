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
from urllib.parse import quote, urlencode

from .course import Course, CourseLesson, fingerprint, relative
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
<div><dt>Duration</dt><dd>{lesson.duration_min} min</dd></div>
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


def quiz_page(cl: CourseLesson, course: Course, page_url: str) -> str:
    lesson = cl.lesson
    version = fingerprint([[item.q, item.options, item.answer] for item in lesson.quiz])
    questions = []
    for i, item in enumerate(lesson.quiz):
        name = f"quiz-{esc(lesson.id)}-q{i}"
        options = "".join(
            f'<li><label><input type="radio" name="{name}" value="{j}"> <span>{esc(option)}</span></label></li>'
            for j, option in enumerate(item.options)
        )
        questions.append(
            f"""<fieldset class="course-quiz__question" data-index="{i}" data-answer="{item.answer}">
<legend><span class="course-quiz__number">Question {i + 1} of {len(lesson.quiz)}.</span> {esc(item.q)}</legend>
<ul class="course-quiz__options">{options}</ul>
<button type="button" class="md-button course-quiz__check">Check answer</button>
<div class="course-quiz__feedback" aria-live="polite">
<p class="course-quiz__verdict"></p>
<p class="course-quiz__explain" hidden>{esc(item.explain)}</p>
</div>
</fieldset>"""
        )
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
    version = fingerprint(cards)
    items = "".join(
        f'<li class="course-cards__item"><span class="course-cards__term">{esc(term)}</span>'
        f'<span class="course-cards__definition">{esc(definition)}</span></li>'
        for term, definition in cards
    )
    return f"""<article class="course-cards" data-cards-id="{esc(lesson.id)}" data-cards-version="{version}">
<h1 id="{SKIP_TARGET}">Flashcards: {esc(lesson.title)}</h1>
<p class="course-cards__back"><a href="{esc(relative(cl.url, page_url))}">← Back to the lesson</a> · <a href="{esc(relative(cl.quiz_url, page_url))}">Quiz</a></p>
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


def course_map(course: Course, page_url: str) -> str:
    if not course.lessons:
        return '<p class="course-map__empty">No lessons yet: add Markdown files under docs/lessons/.</p>'
    items = []
    for cl in course.lessons:
        lesson = cl.lesson
        after = (
            "After " + ", ".join(_lesson_link(p, course, page_url) for p in lesson.prereqs)
            if lesson.prereqs
            else "Start here"
        )
        items.append(
            f"""<li class="course-map__lesson">
<p class="course-map__title"><a href="{esc(relative(cl.url, page_url))}">{esc(lesson.title)}</a> <span class="course-map__duration">{lesson.duration_min} min</span></p>
<p class="course-map__prereqs">{after}</p>
<p class="course-map__practice">{_practice_links(cl, page_url)}</p>
<p class="course-map__tags">{_tag_links(lesson.tags, course, page_url)}</p>
</li>"""
        )
    total = sum(cl.lesson.duration_min for cl in course.lessons)
    return (
        f'<nav class="course-map" aria-label="Course map">\n<ol>\n{chr(10).join(items)}\n</ol>\n'
        f'<p class="course-map__total">{plural(len(course.lessons), "lesson")}, {total} min in all. '
        f'<a href="{esc(relative(course.tags_url, page_url))}">Browse by tag</a>.</p>\n</nav>\n'
    )


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
