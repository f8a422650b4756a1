# Two commands do all the set-up: `make demo` and `make test`. Each creates .venv with the
# pinned dependencies (requirements.lock; the docs add requirements-docs.lock, the tests
# requirements-test.lock on top) and installs the Debian packages it needs (Graphviz's dot;
# for the tests also Chromium and its driver) when they are missing.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DOCS := $(VENV)/.docs-installed
TESTING := $(VENV)/.test-installed
OUT ?= minigraph-out
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
# Material for MkDocs prints an end-of-life banner on every build; it is not about our site.
export NO_MKDOCS_2_WARNING := 1

.PHONY: demo test bench docs install clean

$(RUNTIME): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -e .
	touch $@

$(DOCS): $(RUNTIME) requirements-docs.lock
	$(PIP) install -r requirements-docs.lock
	touch $@

$(TESTING): $(DOCS) requirements-test.lock
	$(PIP) install -r requirements-test.lock
	touch $@

install: $(TESTING)

demo: $(RUNTIME)
	.ci/system-packages dot
	$(BIN)/minigraph demo --out $(OUT)

# The tests build the documentation site too (tests/test_site.py), strict, in a temporary folder.
test: $(TESTING)
	.ci/system-packages dot chromium chromedriver
	$(BIN)/python -m pytest

bench: $(RUNTIME)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(OUT) site dist build .pytest_cache .hypothesis *.egg-info

# The site, into site/: open site/index.html. Strict: a broken link, a missing reference or a
# code block that fails stops the build. (Not --quiet: it would hide the warnings strict counts.)
docs: $(DOCS)
	.ci/system-packages dot
	$(BIN)/mkdocs build --strict
