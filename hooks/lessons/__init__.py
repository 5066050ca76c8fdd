"""Lesson platform: front matter model, validation, page generation and the MkDocs adapter.

Plain-Python core (no mkdocs import): model, frontmatter, validate, body (prose vs code), blocks
(computed values, experiments, checks), course, pages, manifest,
schema_json. The only MkDocs-aware module is mkdocs_hooks, registered in mkdocs.yml.
"""
