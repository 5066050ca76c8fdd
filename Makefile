# Two commands do everything on a fresh Debian machine with Python 3.11, Node 20 and root:
#   make serve   install into the repo, build, serve http://127.0.0.1:8000
#   make test    install (plus Chromium), run the whole suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
MKDOCS := $(VENV)/bin/mkdocs
CHROMIUM ?= /usr/bin/chromium
PORT   ?= 8000
# make serve SERVE_FLAGS=--dirty: rebuild only changed pages (large courses; other pages keep their old navigation)
SERVE_FLAGS ?=
# mkdocs-material prints a banner about MkDocs 2 on every build; we pin mkdocs<2 on purpose.
export NO_MKDOCS_2_WARNING := 1

.PHONY: install build serve test test-fast bench bench-build browser clean schema offline hosting

install: $(VENV)/.installed node_modules/.installed .cache/pyodide/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Pyodide core from npm + the numpy wheel, checked against the sha256 in pyodide-lock.json.
.cache/pyodide/.installed: node_modules/.installed $(VENV)/.installed
	$(PY) -m hooks.widgets.runtime_assets fetch
	@touch $@

browser:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -x $(CHROMIUM) || { echo "error: $(CHROMIUM) is missing and could not be installed with apt-get"; exit 1; }

schema: $(VENV)/.installed
	$(PY) -m hooks.lessons.schema_json docs/schema/lesson.schema.json
	$(PY) -m hooks.lessons.schema_json docs/schema/chapter.schema.json
	$(PY) -m hooks.lessons.schema_json docs/schema/progress.schema.json

build: install
	$(MKDOCS) build --strict

# The built site as one zip to read from disk (README.md: "Reading offline").
offline: build
	$(PY) -m hooks.offline.package site dist/scaling-ai-course.zip

# The site plus .br/.gz twins for static servers that serve precompressed files (README.md: "Hosting").
hosting: build
	$(PY) -m hooks.offline.precompress site

serve: install
	SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)/} $(MKDOCS) serve --dev-addr 127.0.0.1:$(PORT) $(SERVE_FLAGS)

# The site is built once (strict: any authoring error fails here) and shared by every test worker.
test: install browser
	$(MKDOCS) build --strict --quiet -d .cache/test-site
	COURSE_SITE_DIR=.cache/test-site $(PY) -m pytest -n 2

test-fast: install
	$(PY) -m pytest -m "not browser" -n 2

bench: install browser
	$(PY) -m tests.bench
	$(PY) -m tests.bench_build --serve

# Build time at +0/+50/+400 generated lessons and the marginal-cost ratio; --serve adds the reload time.
bench-build: install
	$(PY) -m tests.bench_build --serve

clean:
	rm -rf site dist .cache $(VENV) node_modules
