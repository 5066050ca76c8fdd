"""A reader's progress, defined once: the records the browser stores and the file it exports.

The browser keeps one record per lesson and kind in ``localStorage`` (``scaling-course:v1:<kind>:<lesson
id>``, see overrides/assets/course/storage.js); a progress file holds the same records under
``lessons.<lesson id>.<kind>``. ``ProgressFile`` is the single source of truth for their shape: the JSON
Schema ``docs/schema/progress.schema.json`` is generated from it (``schema_json.py``), the browser
validates an imported file against that schema, and the tests validate exported files with this model.

``course_index`` is what the browser needs to know about the course to show progress and to check that
an imported file's lesson and item ids belong to it: every lesson's pages, its questions (with their
answers: the quiz page already carries them) and its flashcard terms.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .course import Course, fingerprint, relative
from .model import LESSON_ID

SCHEMA_VERSION = 1
FINGERPRINT = r"^[0-9a-f]{12}$"
# A review item: a quiz question by 0-based position, or a check in the lesson body by its key.
QUESTION_ID = r"^(quiz-(0|[1-9][0-9]*)|check-[0-9a-f]{12})$"

Timestamp = Annotated[datetime, Field(description="ISO 8601 date and time, e.g. 2026-12-03T08:15:00.000Z.")]
Fingerprint = Annotated[str, StringConstraints(pattern=FINGERPRINT)]
QuestionIndex = Annotated[str, StringConstraints(pattern=r"^(0|[1-9][0-9]*)$")]
QuestionId = Annotated[str, StringConstraints(pattern=QUESTION_ID)]
Count = Annotated[int, Field(ge=0)]
Days = Annotated[float, Field(ge=0)]
FsrsState = Annotated[int, Field(ge=0, le=3, description="0 new, 1 learning, 2 review, 3 relearning.")]
FsrsRating = Annotated[int, Field(ge=1, le=4, description="1 again, 2 hard, 3 good, 4 easy.")]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FsrsMemory(Record):
    """The FSRS memory state that a ts-fsrs ``Card`` holds and each ``ReviewLog`` records."""

    due: Timestamp
    stability: float = Field(ge=0)
    difficulty: float = Field(ge=0)
    elapsed_days: Days
    scheduled_days: Days
    learning_steps: Count
    state: FsrsState


class FsrsCard(FsrsMemory):
    """A ts-fsrs ``Card``, as JSON: the scheduler's memory of one item."""

    reps: Count
    lapses: Count
    last_review: Timestamp | None = None


class ReviewLog(FsrsMemory):
    """A ts-fsrs ``ReviewLog``, as JSON: one graded review."""

    rating: FsrsRating
    last_elapsed_days: Days
    review: Timestamp


class Visit(Record):
    first: Timestamp = Field(description="First time a page of the lesson was opened.")
    last: Timestamp = Field(description="Last time; the latest visit of the course is where Continue leads.")
    page: Literal["lesson", "quiz", "flashcards"] = Field(description="Which of the lesson's pages.")
    section: Annotated[str, StringConstraints(max_length=200)] = Field("", description="Id of the heading last read, or empty.")


class QuizProgress(Record):
    """Answers to the quiz page and to the checks in the lesson body (overrides/assets/course/quiz.js)."""

    version: Fingerprint | None = Field(description="Fingerprint of the quiz questions `answers` belong to.")
    answers: dict[QuestionIndex, Count] = Field(description="Chosen option (0-based) by question position.")
    answered: dict[QuestionIndex, Timestamp] = Field(default_factory=dict, description="When each answer was given.")
    checks: dict[Fingerprint, Count] = Field(default_factory=dict, description="Chosen option by check key.")
    checks_answered: dict[Fingerprint, Timestamp] = Field(default_factory=dict, description="When each check was answered.")


class CardProgress(Record):
    mark: Literal["known", "again"]
    due: Timestamp | None = None
    fsrs: FsrsCard | None = None
    log: list[ReviewLog] = Field(default_factory=list)


class CardsProgress(Record):
    version: Fingerprint = Field(description="Fingerprint of the deck when it was last saved.")
    cards: dict[Annotated[str, StringConstraints(min_length=1)], CardProgress] = Field(description="By card term.")


class ReviewItem(Record):
    fsrs: FsrsCard
    log: list[ReviewLog] = Field(default_factory=list)


class ReviewProgress(Record):
    """Review schedules of questions answered wrongly (their answers are in ``quiz``)."""

    version: Fingerprint = Field(description="Fingerprint of the quiz the quiz-<n> ids refer to.")
    items: dict[QuestionId, ReviewItem]


class Note(Record):
    text: str
    saved: Timestamp


class LessonProgress(Record):
    visit: Visit | None = None
    quiz: QuizProgress | None = None
    cards: CardsProgress | None = None
    review: ReviewProgress | None = None
    notes: Note | None = None


KINDS: tuple[str, ...] = tuple(LessonProgress.model_fields)


class ProgressFile(Record):
    """A progress file exported from the course site: everything the browser stored, by lesson."""

    schema_version: Literal[1] = Field(description="Format version; a newer file is refused by older sites.")
    course_id: Annotated[str, StringConstraints(pattern=LESSON_ID)] = Field(description="The course the progress belongs to.")
    exported_at: Timestamp
    lessons: dict[Annotated[str, StringConstraints(pattern=LESSON_ID)], LessonProgress]


def quiz_version(lesson) -> str:
    return fingerprint([[item.q, item.options, item.answer] for item in lesson.quiz])


def cards_version(lesson) -> str:
    return fingerprint(lesson.cards())


def check_key(item) -> str:
    """Identifies a check's answer in the reader's saved progress; a changed question drops the answer."""
    return fingerprint([item.q, item.options, item.answer])


def lesson_checks(cl) -> list:
    """The valid check questions in a lesson's body, in order."""
    report = cl.source.body
    return [block.item for block in (report.blocks if report else []) if block.kind == "check" and block.ok]


def course_index(course: Course, page_url: str) -> dict[str, Any]:
    """What the browser needs to show and check progress (see the module docstring); URLs are
    relative to the page that carries the index."""
    return {
        "course_id": course.id,
        "schema_version": SCHEMA_VERSION,
        "lessons": [
            {
                "id": cl.lesson.id,
                "title": cl.lesson.title,
                "position": cl.position,
                "url": relative(cl.url, page_url),
                "quiz_url": relative(cl.quiz_url, page_url),
                "flashcards_url": relative(cl.flashcards_url, page_url),
                "quiz": {"version": quiz_version(cl.lesson), "answers": [item.answer for item in cl.lesson.quiz]},
                "cards": {"version": cards_version(cl.lesson), "terms": [term for term, _ in cl.lesson.cards()]},
                "checks": {check_key(item): item.answer for item in lesson_checks(cl)},
            }
            for cl in course.lessons
        ],
    }
