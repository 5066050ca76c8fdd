"""The lesson front matter, defined once.

``Lesson`` is the single source of truth: validation (``validate.py``), page generation (``pages.py``)
and the editor schema ``docs/schema/lesson.schema.json`` (``schema_json.py``) all derive from it.
Structure and simple constraints live here; rules that need several fields or several lessons
(answer index in range, duplicate options, prerequisite cycles, ...) live in ``validate.py`` so each
problem can be reported at the exact line that causes it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from widgets_py import registry

LESSON_ID = r"^[a-z0-9][a-z0-9-]*$"
TAG = r"^[a-z0-9][a-z0-9-]*$"
YOUTUBE_ID = r"^[A-Za-z0-9_-]{11}$"
FLASHCARD_HELP = 'write "Term: definition" (a string, or the YAML pair `- Term: definition`)'

LessonId = Annotated[str, StringConstraints(pattern=LESSON_ID)]
Tag = Annotated[str, StringConstraints(pattern=TAG)]
Text = Annotated[str, StringConstraints(min_length=1)]


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_flashcard(value: Any) -> tuple[str, str]:
    """Accept ``"Term: definition"`` or the one-key mapping YAML makes of ``- Term: definition``."""
    if isinstance(value, dict) and len(value) == 1:
        ((term, definition),) = value.items()
    elif isinstance(value, str) and ": " in value:
        term, definition = value.split(": ", 1)
    else:
        raise ValueError(f"{_short(value)} is not a flashcard: {FLASHCARD_HELP}")
    if not isinstance(term, str) or not isinstance(definition, str) or not term.strip() or not definition.strip():
        raise ValueError(f"{_short(value)} needs a non-empty term and definition: {FLASHCARD_HELP}")
    return term.strip(), definition.strip()


def _normalise_flashcard(value: Any) -> str:
    term, definition = split_flashcard(value)
    return f"{term}: {definition}"


Flashcard = Annotated[
    str,
    BeforeValidator(_normalise_flashcard),
    WithJsonSchema(
        {
            "description": FLASHCARD_HELP,
            "anyOf": [
                {"type": "string", "pattern": "^[^:]*[^:\\s][^:]*: .*\\S"},
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "additionalProperties": {"type": "string", "minLength": 1},
                },
            ],
        }
    ),
]


class StrictModel(BaseModel):
    # strict: YAML gives real ints/strings, so "75" for a duration is an author mistake worth flagging.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Video(StrictModel):
    """A video shown behind a click-to-load facade; nothing is fetched before the reader clicks."""

    platform: Literal["youtube"] = Field(description="Video host. Embedded via youtube-nocookie.com.")
    id: Annotated[str, StringConstraints(pattern=YOUTUBE_ID)] = Field(description="The 11-character video id.")
    start: int = Field(0, ge=0, description="Start offset in seconds.")
    end: int | None = Field(None, gt=0, description="End offset in seconds; must be greater than start.")


class WidgetRef(StrictModel):
    type: str = Field(
        description="Widget type from the widget registry.",
        json_schema_extra={"enum": registry.names()},
    )
    data: Annotated[str, StringConstraints(pattern=r"^/.+\.json$")] = Field(
        description='Scenario file, a docs-absolute path such as "/widgets/scaling_strategy.titanic.json".'
    )


class QuizItem(StrictModel):
    q: Text = Field(description="The question.")
    options: list[Text] = Field(min_length=2, description="Answer options, shown in this order.")
    answer: int = Field(ge=0, description="0-based index of the correct option.")
    explain: Text = Field(description="Shown after answering, right or wrong.")


class Lesson(StrictModel):
    """Front matter of ``docs/lessons/<id>.md``."""

    id: LessonId = Field(description="Equals the file name without .md.")
    title: Text
    duration_min: int = Field(ge=1, le=600, description="Expected study time in minutes.")
    prereqs: list[LessonId] = Field(default_factory=list, description="Lesson ids to study first.")
    tags: list[Tag] = Field(min_length=1, description="Lower-case tags; each links to the tags index.")
    video: Video | None = None
    widgets: list[WidgetRef] = Field(default_factory=list)
    goals: list[Text] = Field(min_length=1)
    quiz: list[QuizItem] = Field(min_length=1)
    flashcards: list[Flashcard] = Field(min_length=1)
    reflection: list[Text] = Field(min_length=1, description="Prompts shown above the notes box.")
    next: LessonId | None = Field(None, description="The following lesson's id; null for the last one.")

    def cards(self) -> list[tuple[str, str]]:
        return [split_flashcard(card) for card in self.flashcards]


FIELDS: tuple[str, ...] = tuple(Lesson.model_fields)


# --- blocks in the lesson body (see hooks/lessons/blocks.py) -------------------------------------

SCENARIO_NAME = r"^[a-z0-9][a-z0-9_-]*$"  # as widgets_py.scenarios.NAME_RE


class Experiment(StrictModel):
    """A fenced `experiment` block in a lesson body: a guided change to a widget whose claims the build checks."""

    widget: str = Field(description="Widget type from the widget registry.", json_schema_extra={"enum": registry.names()})
    scenario: Annotated[str, StringConstraints(pattern=SCENARIO_NAME)] | None = Field(
        None, description="A scenario name from docs/widgets/*.json for this widget; default: the lesson's scenario file's default.")
    set: dict[str, Any] = Field(
        default_factory=dict, description="Parameter overrides, checked against the widget's parameter schema.")
    predict: Text = Field(description="The question the reader answers in their head before running the experiment.")
    expect: list[Text] = Field(
        min_length=1,
        description="Claims checked at build time and live: '<path> <op> <number|path>' with <, <=, >, >=, ==, !=, "
        "or '<path> ≈ <number|path> ± <p>%'. Paths are the widget's metric names; 'baseline.<path>' is the "
        "scenario without `set`.",
    )
    notice: Text | None = Field(None, description="What to notice, shown after the run.")


# A ```check block holds exactly one quiz question: the same model, so the same rules and messages.
Check = QuizItem


class Chapter(StrictModel):
    """Front matter of a chapter page, ``docs/lessons/<chapter-id>/index.md``; the chapter's lessons are
    the other Markdown files of that folder."""

    id: LessonId | None = Field(None, description="Optional; if given, equals the folder name (the chapter id).")
    title: Text = Field(description="Chapter title: the navigation section, the home page and course.json.")
    summary: Text = Field(description="One or two sentences, shown on the home page and in course.json.")
    order: int | None = Field(None, ge=0, description="Position among chapters, lowest first; chapters without one follow, by id.")


CHAPTER_FIELDS: tuple[str, ...] = tuple(Chapter.model_fields)
