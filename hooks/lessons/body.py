"""Reading a lesson body: fenced code blocks, prose lines, ``{{ … }}`` placeholders and word counts.

One scanner for every rule that must tell prose from code: widget markers, raw-HTML checks, computed
values and the experiment/check blocks are all found outside code only. Fences follow CommonMark: a
run of at least three backticks or tildes opens a block that only a run of the same character, at least
as long, closes (so a ````` ````markdown ````` example may show a ```` ```experiment ```` block without
it being one). Fences may be indented (inside admonitions and tabs), as pymdownx.superfences allows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

FENCE_OPEN_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*?)[ \t]*$")
INLINE_CODE_RE = re.compile(r"(`+)[^`]*?\1")
# Any {{ … }} outside code is a placeholder; what is inside is checked (see blocks.parse_placeholder).
PLACEHOLDER_RE = re.compile(r"\{\{(?P<inner>.*?)\}\}")
HTML_COMMENT_RE = re.compile(r"<!--.*?-->")
TAG_RE = re.compile(r"<[^>]*>")
LINK_TARGET_RE = re.compile(r"\]\([^)]*\)")
WORD_RE = re.compile(r"[^\W_]+(?:['’.,-][^\W_]+)*")
# Silent reading of non-fiction by adults averages about 238 words a minute (Brysbaert 2019, "How many
# words do we read per minute?", J. Memory and Language 109); technical prose with numbers to check is
# slower, so lessons are timed at a round 200.
WORDS_PER_MINUTE = 200


@dataclass(frozen=True)
class Fence:
    """A fenced block: 0-based line indexes of its opening and closing fence lines within the body
    (``end == len(lines)`` when it is never closed), its language and its content lines with the
    opening fence's indentation removed."""

    start: int
    end: int
    indent: str
    lang: str
    content: tuple[str, ...]


def fences(body: str) -> list[Fence]:
    lines = body.splitlines()
    found: list[Fence] = []
    i = 0
    while i < len(lines):
        match = FENCE_OPEN_RE.match(lines[i])
        # a backtick fence's info string may not contain a backtick (that is inline code)
        if not match or (match["fence"][0] == "`" and "`" in match["info"]):
            i += 1
            continue
        char, size, indent = match["fence"][0], len(match["fence"]), match["indent"]
        closing = re.compile(rf"^[ \t]*{re.escape(char)}{{{size},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        info = match["info"].lstrip("{").lstrip(".")
        lang = re.split(r"[\s{}]", info, maxsplit=1)[0] if info else ""
        content = tuple(line[len(indent):] if line.startswith(indent) else line.lstrip(" \t") for line in lines[i + 1:j])
        found.append(Fence(i, j, indent, lang, content))
        i = j + 1
    return found


def code_line_indexes(body: str, blocks: list[Fence] | None = None) -> set[int]:
    """0-based indexes of every line that belongs to a fenced block, fence lines included."""
    covered: set[int] = set()
    for fence in fences(body) if blocks is None else blocks:
        covered.update(range(fence.start, fence.end + 1))
    return covered


def blank_inline_code(text: str) -> str:
    return INLINE_CODE_RE.sub(lambda m: " " * len(m.group(0)), text)


def lines_outside_code(body: str, first_line: int = 1):
    """``(file line, text)`` of every body line outside fenced code, inline code spans blanked (same
    length, so column positions still point into the original line)."""
    code = code_line_indexes(body)
    for offset, text in enumerate(body.splitlines()):
        if offset not in code:
            yield first_line + offset, blank_inline_code(text)


def words(text: str) -> int:
    """Words a reader reads in Markdown prose: HTML comments, tags and link targets do not count."""
    text = HTML_COMMENT_RE.sub(" ", text)
    text = LINK_TARGET_RE.sub("]", TAG_RE.sub(" ", text))
    return len(WORD_RE.findall(text))


def prose_words(body: str) -> int:
    """Words outside fenced code (the text of experiment and check blocks is counted by the caller)."""
    code = code_line_indexes(body)
    return sum(words(text) for i, text in enumerate(body.splitlines()) if i not in code)


def reading_minutes(word_count: int, wpm: int = WORDS_PER_MINUTE) -> int:
    """Whole minutes, rounded up: a lesson of 201 words takes two minutes at 200 words a minute."""
    return max(1, math.ceil(word_count / wpm)) if word_count else 0
