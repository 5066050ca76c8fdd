"""MkDocs adapter for the lesson core (hooks/lessons/*.py, which never imports mkdocs).

Each event only hands data between MkDocs and the core:
- on_files: load and validate all lessons, report problems, add the generated quiz, flashcards and
  tags pages;
- on_page_markdown / on_page_content: give lesson pages an escaped title, their header, widgets
  and footer; fill generated pages; show problems as a banner;
- on_post_build: write course.json and the Anki packages into the site.

Problems are logged as errors, so ``mkdocs build --strict`` fails with every ``file:line`` listed.
Under ``mkdocs serve`` they are logged at INFO and shown on the page instead, so the server keeps
running while the author fixes them.
"""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path

from mkdocs.structure.files import File, Files

from hooks.lessons import course as course_mod
from hooks.lessons import anki, blocks, frontmatter, manifest, pages, progress_pages, validate
from hooks.widgets.render import widget_html

log = logging.getLogger("mkdocs.plugins.lessons")

_state: dict = {"command": "build", "course": None, "roles": {}}


def on_startup(command: str, dirty: bool) -> None:
    _state["command"] = command
    if dirty:
        # MkDocs warns on every --dirty build, and strict mode (mkdocs.yml) turns that warning into an
        # abort; the author asked for a dirty preview, so it is told once, as information.
        logging.getLogger("mkdocs.commands.build").addFilter(_dirty_notice_as_info)


def _dirty_notice_as_info(record: logging.LogRecord) -> bool:
    if record.levelno == logging.WARNING and record.getMessage().startswith("A 'dirty' build is being performed"):
        record.levelno, record.levelname = logging.INFO, "INFO"
    return True


def on_files(files: Files, config) -> Files:
    course = course_mod.load(Path(config.docs_dir), config.use_directory_urls, course_id(config))
    _state["course"] = course
    report = log.info if _state["command"] == "serve" else log.error
    for problem in course.problems:
        report("lesson problem: %s", problem)

    roles: dict[str, tuple[str, object]] = {"index.md": ("home", None)}
    for chapter in course.chapters:
        roles[chapter.src_uri] = ("chapter", chapter)
    for cl in course.lessons:
        roles[cl.src_uri] = ("lesson", cl)
        roles[cl.quiz_src] = ("quiz", cl)
        roles[cl.flashcards_src] = ("flashcards", cl)
        for src, title in ((cl.quiz_src, "Quiz"), (cl.flashcards_src, "Flashcards")):
            _add_generated(files, config, src, title, from_lesson=str(Path(config.docs_dir) / cl.src_uri))
    roles[course_mod.TAGS_SRC] = ("tags", None)
    _add_generated(files, config, course_mod.TAGS_SRC, "Tags")
    roles[progress_pages.REVIEW_SRC] = ("review", None)
    _add_generated(files, config, progress_pages.REVIEW_SRC, progress_pages.REVIEW_TITLE)
    _state["review_url"] = course_mod.page_url(progress_pages.REVIEW_SRC, config.use_directory_urls)
    for source in course.sources:  # broken lessons still get their problems banner
        roles.setdefault(source.src_uri, ("broken", source))
    _state["roles"] = roles
    if config.nav is None:
        config.nav = _nav(course, files)
    return files


def course_id(config) -> str:
    """``extra.course_id`` in mkdocs.yml: names the course in progress files and Anki packages."""
    return str(config.extra.get("course_id") or "course")


class _FromLesson(File):
    """A quiz or flashcards page: generated, yet only as modified as the lesson file it comes from,
    so ``mkdocs serve --dirty`` rebuilds it with its lesson instead of on every save."""

    lesson_path: str

    def is_modified(self) -> bool:
        dest = self.abs_dest_path
        return not os.path.isfile(dest) or os.path.getmtime(dest) < os.path.getmtime(self.lesson_path)


def _add_generated(files: Files, config, src_uri: str, title: str, from_lesson: str | None = None) -> None:
    if files.get_file_from_path(src_uri) is not None:  # reported among course.problems
        return
    file = (_FromLesson if from_lesson else File).generated(config, src_uri, content=f"# {title} {{#{pages.SKIP_TARGET}}}\n")
    if from_lesson:
        file.lesson_path = from_lesson
    files.append(file)


def _nav(course, files: Files) -> list:
    """Home and the review page; then "Chapters", one section per chapter (its page, then each lesson with its quiz and
    flashcards); lessons outside chapters; other pages; tags. With the theme's navigation.prune, a
    page renders only the open chapter's items, so build time stays linear in the number of lessons.
    Titles are escaped: MkDocs' templates print nav titles as HTML."""
    def lesson_items(lessons, number) -> list:
        return [{f"{number(cl)}. {html.escape(cl.lesson.title)}": [
            {"Lesson": cl.src_uri}, {"Quiz": cl.quiz_src}, {"Flashcards": cl.flashcards_src}]} for cl in lessons]

    chapters = [{html.escape(ch.title): [*([ch.src_uri] if files.get_file_from_path(ch.src_uri) else []),
                                         *lesson_items(ch.lessons, lambda cl: cl.chapter_position)]}
                for ch in course.chapters]
    loose = lesson_items(course.unchaptered(), lambda cl: cl.position)
    used = {"index.md", course_mod.TAGS_SRC, progress_pages.REVIEW_SRC} | {ch.src_uri for ch in course.chapters}
    used |= {src for cl in course.lessons for src in (cl.src_uri, cl.quiz_src, cl.flashcards_src)}
    others = [f.src_uri for f in files.documentation_pages() if f.src_uri not in used]
    home = [{"Home": "index.md"}] if files.get_file_from_path("index.md") else []
    home += [{progress_pages.REVIEW_TITLE: progress_pages.REVIEW_SRC}]
    return (home + ([{"Chapters": chapters}] if chapters else []) + ([{"Lessons": loose}] if loose else [])
            + others + [{"Tags": course_mod.TAGS_SRC}])


def on_page_markdown(markdown: str, page, config, files) -> str:
    role, item = _state["roles"].get(page.file.src_uri, (None, None))
    if role == "lesson":
        page.meta["title"] = html.escape(item.lesson.title)
        # Reported as a problem (strict builds fail); the serve preview must not run it meanwhile.
        markdown = validate.neutralize_active_html(markdown)
        # computed values in place, experiment/check blocks as markers filled in on_page_content
        return blocks.prepare_markdown(markdown, item.source.body)
    elif role in ("quiz", "flashcards"):
        page.meta["title"] = f"{role.capitalize()}: {html.escape(item.lesson.title)}"
    elif role == "chapter":
        page.meta["title"] = html.escape(item.title)
        if item.source.fm is None:  # malformed front matter: MkDocs left it in the body
            return frontmatter.split(markdown)[1] if markdown.startswith("---") else markdown
    elif role == "broken":
        page.meta["title"] = html.escape(str(page.meta.get("title") or item.stem))
        # MkDocs leaves malformed front matter in the body; drop it so the page shows the banner.
        yaml_text, body, _ = frontmatter.split(page.file.content_string)
        if yaml_text is not None:
            return body
    return markdown


def on_page_content(content: str, page, config, files) -> str:
    course = _state["course"]
    role, item = _state["roles"].get(page.file.src_uri, (None, None))
    url = page.url
    if role == "lesson":
        def render(wtype: str, data: str) -> str:
            return widget_html(wtype, data, docs_dir=config.docs_dir, page_url=url)

        banner = pages.problems_banner(course.problems_for(item.source.file))
        body = pages.place_blocks(pages.place_widgets(content, item, render), item, course, url)
        progress = progress_pages.lesson_progress(item, course, url, _state["review_url"])
        return banner + pages.lesson_header(item, course, url) + progress + body + pages.lesson_footer(item, course, url)
    if role == "quiz":
        return pages.quiz_page(item, course, url)
    if role == "flashcards":
        return pages.flashcards_page(item, course, url)
    if role == "tags":
        return pages.tags_page(course, url)
    if role == "review":
        return progress_pages.review_page(course, url)
    if role == "chapter":
        content = _with_course_map(content, pages.chapter_map(item, course, url))
        return pages.problems_banner(item.source.problems) + content
    if role == "broken":
        return pages.problems_banner(item.problems) + content
    if role == "home":
        return pages.problems_banner(course.problems) + _with_course_map(
            content, progress_pages.dashboard(course, url, _state["review_url"]) + pages.course_map(course, url))
    return content


def _with_course_map(content: str, course_map: str) -> str:
    """The map where the page's ``<!-- course-map -->`` marker is, else at the end."""
    if pages.COURSE_MAP_MARKER in content:
        return content.replace(pages.COURSE_MAP_MARKER, course_map)
    return content + course_map


def on_post_build(config) -> None:
    site = Path(config.site_dir)
    (site / "course.json").write_text(manifest.dumps(_state["course"]), encoding="utf-8")
    anki.write_all(_state["course"], site, config.site_name, config.site_url)
