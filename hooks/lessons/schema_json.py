"""Generate the JSON Schemas from the pydantic models: the lesson front matter (for editors) and the
progress file (for learners' tools, and the browser's import check).

    python -m hooks.lessons.schema_json docs/schema/lesson.schema.json docs/schema/progress.schema.json

The model is chosen by the file name. A test checks that each committed file equals ``render(name)``,
so a schema cannot drift from its model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from .model import Experiment, Lesson
from .progress import ProgressFile

SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "lesson.schema.json": (Lesson, "Lesson front matter"),
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
        # The body's fenced blocks are YAML too: ```experiment follows $defs/ExperimentBlock and ```check
        # $defs/CheckBlock (one quiz item), for editors that validate a fenced block against a schema.
        experiment = Experiment.model_json_schema()
        result["$defs"] = {**result["$defs"], **experiment.pop("$defs", {}),
                           "ExperimentBlock": experiment, "CheckBlock": {"$ref": "#/$defs/QuizItem"}}
    return result


def render(name: str = "lesson.schema.json") -> str:
    return json.dumps(schema(name), indent=2, ensure_ascii=False) + "\n"


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
