"""Generate the JSON Schemas from the pydantic models: lesson and chapter front matter (for editors)
and the progress file (for learners' tools, and the browser's import check).

    python -m hooks.lessons.schema_json docs/schema/lesson.schema.json docs/schema/chapter.schema.json \
        docs/schema/progress.schema.json

The file name picks the model: ``lesson.schema.json`` (``Lesson``), ``chapter.schema.json`` (a
chapter's ``index.md``, ``Chapter``), ``progress.schema.json`` (``ProgressFile``). A test checks that
each committed file equals ``render(name)``, so the schemas cannot drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from .model import Chapter, Experiment, Lesson
from .progress import ProgressFile

SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "lesson.schema.json": (Lesson, "Lesson front matter"),
    "chapter.schema.json": (Chapter, "Chapter front matter (docs/lessons/<chapter-id>/index.md)"),
    "progress.schema.json": (ProgressFile, "Scaling AI Systems progress file"),
}


def schema(name: str) -> dict:
    model, title = SCHEMAS[name]
    result = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": name,
        **model.model_json_schema(),
        "title": title,
    }
    if model is Lesson:
        _add_block_defs(result)
    return result


def render(name: str = "lesson.schema.json") -> str:
    return json.dumps(schema(name), indent=2, ensure_ascii=False) + "\n"


def _add_block_defs(schema: dict) -> None:
    # The body's fenced blocks are YAML too: ```experiment follows $defs/ExperimentBlock and ```check
    # $defs/CheckBlock (one quiz item), for editors that validate a fenced block against a schema.
    experiment = Experiment.model_json_schema()
    schema["$defs"] = {**schema["$defs"], **experiment.pop("$defs", {}),
                       "ExperimentBlock": experiment, "CheckBlock": {"$ref": "#/$defs/QuizItem"}}


def main(argv: list[str]) -> int:
    unknown = [arg for arg in argv if Path(arg).name not in SCHEMAS]
    if not argv or unknown:
        print(f"usage: python -m hooks.lessons.schema_json <output>... (file names: {', '.join(SCHEMAS)})", file=sys.stderr)
        return 2
    for arg in argv:
        Path(arg).write_text(render(Path(arg).name), encoding="utf-8")
        print(f"wrote {arg}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
