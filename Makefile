# Threshold: the project's verbs.  `make help` lists them.
SHELL := /bin/bash

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.threshold-installed
RUN_STAMP := $(VENV)/.threshold-run-installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
# pytest-xdist workers for `make test` (auto: one per core; 0: no workers, everything in one process).
# loadfile keeps each test file on one worker, so a module's fixtures are built once.
TEST_WORKERS ?= auto

.DEFAULT_GOAL := help
.PHONY: help venv install run test lint bench clean

help:
	@echo "make run     install what running needs, then serve the demo on http://127.0.0.1:8000 (PORT=8001 HOST=0.0.0.0)"
	@echo "make test    install, lint (ruff format, ruff check, mypy, import contract), start test services, pytest on every core (TEST_WORKERS=0: one process)"
	@echo "make lint    ruff check + ruff format --check + mypy + the import contract (lint-imports)"
	@echo "make bench   run benchmarks/bench_*.py (they print ratios against a baseline)"
	@echo "make venv    create .venv and pip install -e '.[dev]' (alias: install)"
	@echo "make clean   remove .venv, .threshold, .test-env and caches"

venv install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when pyproject.toml is newer than the stamp (src/ is an editable install).
# Running needs the package and the `demo` extra only; the tests and linters (`dev`) include both.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[demo]'
	@touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/threshold demo --host '$(HOST)' --port '$(PORT)'

test: lint
	bash scripts/test-services.sh
	set -a; . ./.test-env; set +a; $(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	@set -e; found=0; for f in benchmarks/bench_*.py; do \
		[ -e "$$f" ] || continue; found=1; \
		echo "== $$f"; $(BIN)/python "$$f"; \
	done; \
	if [ $$found -eq 0 ]; then echo "no benchmarks/bench_*.py found" >&2; exit 1; fi

clean:
	rm -rf $(VENV) .threshold .test-env .test-services .pytest_cache .mypy_cache .ruff_cache \
		build dist src/*.egg-info benchmarks/.data
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
