"""HTML for the reader's progress: the dashboard over the course map, the progress line under each
lesson header, the review page, and the export/import controls.

The build cannot know what a reader has done, so these elements carry what the browser needs (the
course index and the progress file schema, as escaped JSON in data attributes: no inline script) and
stay ``hidden`` until overrides/assets/course/progress-ui.js and review.js fill them. Without
JavaScript the home page shows the plain course map.
"""

from __future__ import annotations

import json

from . import blocks, pages
from .course import Course, CourseLesson, relative
from .pages import esc
from .progress import check_key, course_index, lesson_checks
from .schema_json import schema

REVIEW_SRC = "review.md"
REVIEW_TITLE = "Review"
PROGRESS_SCHEMA = "progress.schema.json"


def _data(course: Course, page_url: str) -> str:
    index = json.dumps(course_index(course, page_url), ensure_ascii=False, separators=(",", ":"))
    progress_schema = json.dumps(schema(PROGRESS_SCHEMA), ensure_ascii=False, separators=(",", ":"))
    return f'data-course-index="{esc(index)}" data-progress-schema="{esc(progress_schema)}"'


def file_tools() -> str:
    """Export and import of the progress file, bound by their data attributes."""
    return """<div class="course-progress-file">
<button type="button" class="md-button" data-progress-export>Export progress</button>
<label class="md-button course-progress-file__import">Import progress <input type="file" accept=".json,application/json" data-progress-import></label>
<p class="course-progress-file__status" role="status" aria-live="polite"></p>
</div>"""


def dashboard(course: Course, page_url: str, review_url: str) -> str:
    return f"""<section class="course-dashboard" {_data(course, page_url)} aria-labelledby="course-dashboard-heading" hidden>
<h2 id="course-dashboard-heading">Your progress</h2>
<p class="course-dashboard__continue"></p>
<p class="course-dashboard__summary"></p>
<p><a class="md-button md-button--primary course-dashboard__review" href="{esc(relative(review_url, page_url))}">Review</a> <span class="course-dashboard__due"></span></p>
{file_tools()}
<p class="course-dashboard__where">Kept in this browser only; export it to keep a copy or to continue in another browser.</p>
</section>
"""


def lesson_progress(cl: CourseLesson, course: Course, page_url: str, review_url: str) -> str:
    lesson_id = esc(cl.lesson.id)
    return f"""<section class="lesson-progress" data-lesson-id="{lesson_id}" {_data(course, page_url)} aria-label="Your progress in this lesson" hidden>
<p class="lesson-progress__summary"></p>
<p class="lesson-progress__actions"><a href="{esc(relative(review_url, page_url))}">Review</a> ·
<button type="button" class="lesson-progress__reset" data-progress-reset>Reset this lesson's progress</button></p>
<dialog class="lesson-progress__dialog" aria-labelledby="lesson-progress-dialog-{lesson_id}">
<p id="lesson-progress-dialog-{lesson_id}"><strong>Reset your progress in “{esc(cl.lesson.title)}”?</strong></p>
<p>This deletes this lesson's quiz answers, card marks and schedules, review items, notes and visit from this browser. It cannot be undone: export your progress first if you may want it back.</p>
<div class="course-progress-file"><button type="button" class="md-button" data-progress-export>Export progress first</button>
<p class="course-progress-file__status" role="status" aria-live="polite"></p></div>
<p><button type="button" class="md-button md-button--primary lesson-progress__confirm">Reset the lesson</button>
<button type="button" class="md-button lesson-progress__cancel">Cancel</button></p>
</dialog>
</section>
"""


def review_page(course: Course, page_url: str) -> str:
    """Everything due for review across the course. The items' text is here, escaped and hidden, so
    the page works from disk too (nothing is fetched)."""
    bank = []
    for cl in course.lessons:
        lesson = cl.lesson
        quiz_link, lesson_link = relative(cl.quiz_url, page_url), relative(cl.url, page_url)
        questions = [(f"quiz-{i}", f"{quiz_link}#question-{i + 1}", item) for i, item in enumerate(lesson.quiz)]
        questions += [(f"check-{check_key(item)}", f"{lesson_link}#check-{check_key(item)}", item) for item in lesson_checks(cl)]
        values = pages.lesson_values(cl)
        question_items = "".join(
            f'<li data-key="{key}" data-answer="{item.answer}" data-href="{esc(href)}">'
            f'<p class="course-review__q">{esc(item.q)}</p>'
            f'<ol>{"".join(f"<li>{esc(option)}</li>" for option in item.options)}</ol>'
            f'<p class="course-review__why">{blocks.text_html(item.explain, values)}</p></li>'
            for key, href, item in questions
        )
        cards = "".join(
            f'<li data-key="{esc(term)}"><span class="course-review__term">{esc(term)}</span>'
            f'<span class="course-review__definition">{esc(definition)}</span></li>'
            for term, definition in lesson.cards()
        )
        bank.append(
            f'<section data-lesson-id="{esc(lesson.id)}" data-title="{esc(lesson.title)}">'
            f'<ol class="course-review__questions">{question_items}</ol><ol class="course-review__cards">{cards}</ol></section>'
        )
    return f"""<article class="course-review" {_data(course, page_url)}>
<h1 id="{pages.SKIP_TARGET}">{REVIEW_TITLE}</h1>
<p>What is due from the whole course, scheduled by FSRS: the flashcards you have marked, and every quiz or check question you answered wrongly.
Answer a question again (right counts as <em>Good</em>, wrong as <em>Again</em>), or flip a card and grade how well you knew it.</p>
<p class="course-review__keys">Keys: <kbd>Space</kbd> flips a card or moves on, <kbd>1</kbd>–<kbd>4</kbd> grade a card (Again, Hard, Good, Easy) or choose a question's option.</p>
<noscript><p>The review needs JavaScript: it reads your progress from this browser.</p></noscript>
<p class="course-review__counts" role="status" aria-live="polite"></p>
<ul class="course-review__lessons"></ul>
<section class="course-review__session" aria-label="Review item" hidden>
<p class="course-review__position"></p>
<div class="course-review__item"></div>
<p class="course-review__feedback" aria-live="polite"></p>
<div class="course-review__controls"></div>
</section>
<p class="course-review__empty" hidden></p>
<h2 id="course-review-file">Your progress file</h2>
{file_tools()}
<div class="course-review__bank" hidden>{"".join(bank)}</div>
</article>
"""
