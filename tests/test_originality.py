"""Originality guard: no lesson may share a run of 8 or more words with a seed text.

The seeds (``shared/seeds/`` beside the repository: ``../shared`` in CI, found by walking up from the
repository root so a worktree nested one level deeper finds it too; ``COURSE_SEEDS_DIR`` overrides)
give the course its topics and facts, never its sentences. Texts are compared as word sequences:
case, whitespace and punctuation (Markdown's included) do not count. Excepted on the lesson side,
because they must match the reference lesson by design: ids (``id``, ``prereqs``, ``next``), the
title, tags, widget references and types, and the video block. A missing seeds folder fails the test
(it is part of the contract, not an optional extra).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from hooks.lessons import frontmatter
from widgets_py import registry

ROOT = Path(__file__).resolve().parent.parent
RUN = 8  # words; a shared run this long is copying, not a common phrase
EXCEPTED_KEYS = {"id", "title", "tags", "prereqs", "next", "widgets", "video"}
# Words are runs of letters/digits: apostrophes, hyphens, Markdown marks (*, _, `, #, |, [..](..)) separate.
WORD_RE = re.compile(r"[^\W_]+")
BREAK = None  # a token no run may cross (segment ends, excepted widget types)

Token = tuple[str | None, int]  # (normalised word or BREAK, file line)


def find_seeds_dir(repo_root: Path = ROOT) -> Path:
    """``shared/seeds`` in the closest ancestor of ``repo_root`` that has one; a clear error otherwise."""
    override = os.environ.get("COURSE_SEEDS_DIR")
    candidates = [Path(override)] if override else [parent / "shared" / "seeds" for parent in repo_root.parents]
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.txt")):
            return candidate
    where = override or f"shared/seeds/*.txt beside {repo_root} or in any folder above it"
    raise FileNotFoundError(f"originality guard: no seed texts found ({where}); set COURSE_SEEDS_DIR to the seeds folder")


def words(text: str) -> list[str]:
    return [w.casefold() for w in WORD_RE.findall(text)]


def _line_tokens(text: str, line: int) -> list[Token]:
    """Tokens of one line; widget type names (excepted) become breaks."""
    for widget_type in registry.names():
        text = text.replace(widget_type, "\n")
    tokens: list[Token] = []
    for part_index, part in enumerate(text.split("\n")):
        if part_index:
            tokens.append((BREAK, line))
        tokens.extend((w, line) for w in words(part))
    return tokens


def _front_matter_tokens(value, path: tuple, fm: frontmatter.FrontMatter) -> list[Token]:
    """Every string of the front matter as its own segment (keys of one-key flashcard mappings too)."""
    if isinstance(value, dict):
        out: list[Token] = []
        for key, item in value.items():
            if not path and key in EXCEPTED_KEYS:
                continue
            if path:  # a mapping inside a list, such as `- Term: definition`: the key is text too
                out += _line_tokens(str(key), fm.line_of(path)) + [(BREAK, 0)]
            out += _front_matter_tokens(item, path + (key,), fm)
        return out
    if isinstance(value, list):
        return [t for i, item in enumerate(value) for t in _front_matter_tokens(item, path + (i,), fm)]
    if isinstance(value, str):
        line = fm.line_of(path)
        return [t for offset, text in enumerate(value.splitlines()) for t in _line_tokens(text, line + offset)] + [(BREAK, 0)]
    return []


def lesson_tokens(text: str) -> list[Token]:
    """The lesson as (word, line) tokens with breaks between segments: each front-matter string, and
    each paragraph of the body (a blank line ends a paragraph)."""
    fm = frontmatter.parse(text)
    tokens = _front_matter_tokens(fm.data, (), fm)
    for offset, line in enumerate(fm.body.splitlines()):
        if not line.strip():
            tokens.append((BREAK, 0))
        tokens += _line_tokens(line, fm.body_line + offset)
    return tokens


def seed_runs(seed_texts: dict[str, str], size: int = RUN) -> dict[tuple[str, ...], str]:
    """Every run of ``size`` words in the seeds, mapped to the first seed that has it."""
    runs: dict[tuple[str, ...], str] = {}
    for name, text in seed_texts.items():
        seq = words(text)
        for i in range(len(seq) - size + 1):
            runs.setdefault(tuple(seq[i:i + size]), name)
    return runs


def shared_runs(tokens: list[Token], runs: dict[tuple[str, ...], str], size: int = RUN) -> list[tuple[int, str, str]]:
    """Maximal stretches of the lesson made of overlapping seed runs: ``(line, words, seed)``."""
    found: list[tuple[int, str, str]] = []
    i, n = 0, len(tokens)
    while i <= n - size:
        window = tuple(w for w, _ in tokens[i:i + size])
        if BREAK in window or window not in runs:
            i += 1
            continue
        end = i + size  # extend while the next window is a seed run too
        while end < n and tokens[end][0] is not BREAK and tuple(w for w, _ in tokens[end - size + 1:end + 1]) in runs:
            end += 1
        found.append((tokens[i][1], " ".join(w for w, _ in tokens[i:end]), runs[window]))
        i = end
    return found


def lesson_files(docs: Path = ROOT / "docs" / "lessons") -> list[Path]:
    return sorted(p for p in docs.rglob("*.md") if frontmatter.split(p.read_text(encoding="utf-8"))[0] is not None)


# ------------------------------------------------------------------------------------------------
# The guard itself


@pytest.fixture(scope="module")
def seeds() -> dict[tuple[str, ...], str]:
    try:
        folder = find_seeds_dir()
    except FileNotFoundError as err:
        pytest.fail(str(err))
    return seed_runs({p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))})


def test_lessons_share_no_eight_word_run_with_a_seed(seeds):
    files = lesson_files()
    assert len(files) >= 5, f"expected the course's lessons under docs/lessons/, found {len(files)}"
    problems = []
    for path in files:
        for line, run, seed in shared_runs(lesson_tokens(path.read_text(encoding="utf-8")), seeds):
            problems.append(f"{path.relative_to(ROOT)}:{line}: {len(run.split())} words shared with seed {seed}: '{run}'")
    assert not problems, "lessons copy seed text (rewrite these in your own words):\n" + "\n".join(problems)


# ------------------------------------------------------------------------------------------------
# The guard can fail: its rules on small texts

SEED = "Horizontal partitioning — split datasets by time, geography, or entity to enable parallel processing."
LESSON = """---
id: demo
title: "Split datasets by time, geography, or entity to enable parallel processing"
tags: ["split", "datasets"]
goals:
  - {goal}
quiz: []
flashcards: []
reflection: []
---

{body}
"""


def _runs(goal: str = "Own words here.", body: str = "Nothing copied.") -> list[tuple[int, str, str]]:
    return shared_runs(lesson_tokens(LESSON.format(goal=goal, body=body)), seed_runs({"seed.txt": SEED}))


def test_copied_body_is_reported_with_its_line_and_whole_run():
    found = _runs(body="We **Split  datasets** by time, *geography*,\nor entity to enable parallel processing today.")
    assert found == [(12, "split datasets by time geography or entity to enable parallel processing", "seed.txt")]


def test_copied_goal_is_reported():
    assert [line for line, _, _ in _runs(goal="split datasets by TIME, geography or entity to enable it")] == [6]


def test_seven_words_and_runs_across_paragraphs_pass():
    assert _runs(body="We split datasets by time, geography, or entity.") == []
    assert _runs(body="split datasets by time,\n\ngeography, or entity to enable parallel processing") == []


def test_title_and_tags_are_excepted():
    assert _runs() == []


def test_widget_types_break_runs():
    seed = "the widget scaling_strategy_simulator shows what one big machine costs"
    lesson = LESSON.format(goal="x", body=seed)
    assert shared_runs(lesson_tokens(lesson), seed_runs({"s": seed})) == []


def test_missing_seeds_fail_clearly(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_SEEDS_DIR", raising=False)
    repo = tmp_path / "work" / "repo"
    repo.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no seed texts found"):
        find_seeds_dir(repo)
    (tmp_path / "work" / "shared" / "seeds").mkdir(parents=True)
    (tmp_path / "work" / "shared" / "seeds" / "a.txt").write_text("x", encoding="utf-8")
    assert find_seeds_dir(repo) == tmp_path / "work" / "shared" / "seeds"
