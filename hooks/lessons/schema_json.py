"""Generate the editor schema for lesson front matter from the pydantic model.

    python -m hooks.lessons.schema_json docs/schema/lesson.schema.json
    python -m hooks.lessons.schema_json docs/schema/chapter.schema.json

The file name picks the model: ``chapter.schema.json`` is a chapter's ``index.md`` (``Chapter``),
anything else a lesson (``Lesson``). A test checks that the committed files equal ``render()``, so the
schemas cannot drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from .model import Chapter, Experiment, Lesson

SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "lesson.schema.json": (Lesson, "Lesson front matter"),
    "chapter.schema.json": (Chapter, "Chapter front matter (docs/lessons/<chapter-id>/index.md)"),
}


def render(name: str = "lesson.schema.json") -> str:
    model, title = SCHEMAS.get(name, SCHEMAS["lesson.schema.json"])
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": name if name in SCHEMAS else "lesson.schema.json",
        **model.model_json_schema(),
        "title": title,
    }
    if model is Lesson:
        _add_block_defs(schema)
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _add_block_defs(schema: dict) -> None:
    # The body's fenced blocks are YAML too: ```experiment follows $defs/ExperimentBlock and ```check
    # $defs/CheckBlock (one quiz item), for editors that validate a fenced block against a schema.
    experiment = Experiment.model_json_schema()
    schema["$defs"] = {**schema["$defs"], **experiment.pop("$defs", {}),
                       "ExperimentBlock": experiment, "CheckBlock": {"$ref": "#/$defs/QuizItem"}}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m hooks.lessons.schema_json <output.json>", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(render(Path(argv[0]).name), encoding="utf-8")
    print(f"wrote {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
