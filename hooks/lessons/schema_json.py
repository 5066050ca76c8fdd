"""Generate the editor schema for lesson front matter from the pydantic model.

    python -m hooks.lessons.schema_json docs/schema/lesson.schema.json

A test checks that the committed file equals ``render()``, so the schema cannot drift from the model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .model import Experiment, Lesson


def render() -> str:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "lesson.schema.json",
        **Lesson.model_json_schema(),
        "title": "Lesson front matter",
    }
    # The body's fenced blocks are YAML too: ```experiment follows $defs/ExperimentBlock and ```check
    # $defs/CheckBlock (one quiz item), for editors that validate a fenced block against a schema.
    experiment = Experiment.model_json_schema()
    schema["$defs"] = {**schema["$defs"], **experiment.pop("$defs", {}),
                       "ExperimentBlock": experiment, "CheckBlock": {"$ref": "#/$defs/QuizItem"}}
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m hooks.lessons.schema_json <output.json>", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(render(), encoding="utf-8")
    print(f"wrote {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
