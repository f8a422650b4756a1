# Two commands do all the set-up: `make demo` and `make test`. Each creates .venv with the
# pinned dependencies (requirements.lock; the tests add requirements-test.lock) and installs
# the Debian packages it needs (Graphviz's dot; for the tests also Chromium and its driver)
# when they are missing.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
TESTING := $(VENV)/.test-installed
OUT ?= minigraph-out
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: demo test bench docs install clean

$(RUNTIME): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -e .
	touch $@

$(TESTING): $(RUNTIME) requirements-test.lock
	$(PIP) install -r requirements-test.lock
	touch $@

install: $(TESTING)

demo: $(RUNTIME)
	.ci/system-packages dot
	$(BIN)/minigraph demo --out $(OUT)

test: $(TESTING)
	.ci/system-packages dot chromium chromedriver
	$(BIN)/python -m pytest

bench: $(RUNTIME)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis *.egg-info

docs: $(RUNTIME)
	.ci/system-packages dot
	$(BIN)/python docs/make_figures.py
