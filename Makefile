# Threshold: the project's verbs.  `make help` lists them.
SHELL := /bin/bash

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.threshold-installed
RUN_STAMP := $(VENV)/.threshold-run-installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
# pytest-xdist workers for `make test`: one per core and one more, whose tests run while the others wait on
# their subprocesses, servers and browser (each worker's DuckDB keeps to one thread: tests/conftest.py);
# 0: no workers, everything in one process. loadfile keeps each test file on one worker, so a module's
# fixtures are built once.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
# The behaviour tests that run a second time, in the same pytest run, with the warehouse on the local S3 server
# (moto_server, started by scripts/test-services.sh; docs/deployment.md) are listed once, as `s3_suite` in
# pyproject.toml (their `[s3]` variants: tests/s3homes.py). `make test S3_SUITE=` runs without them;
# `make test S3_SUITE="tests/x.py tests/y.py::test_z"` with another list.
S3_SUITE ?= pyproject
S3_OPTION = $(if $(strip $(S3_SUITE)),$(if $(filter-out pyproject,$(S3_SUITE)),-o 's3_suite=$(strip $(S3_SUITE))'),-o 's3_suite=')

.DEFAULT_GOAL := help
.PHONY: help venv install bytecode run test lint bench clean

help:
	@echo "make run     install what running needs, then serve the demo on http://127.0.0.1:8000 (PORT=8001 HOST=0.0.0.0)"
	@echo "make test    install, lint (ruff format, ruff check, mypy, import contract), start test services, pytest on every core and one more worker (TEST_WORKERS=0: one process), the S3_SUITE tests a second time with the warehouse on the local S3 server"
	@echo "make lint    ruff check + ruff format --check (src tests benchmarks scripts) + mypy (src, then benchmarks and scripts) + the import contract (lint-imports)"
	@echo "make bench   run benchmarks/bench_*.py (they print ratios against a baseline)"
	@echo "make venv    create .venv, pip install -e '.[dev]' and compile src/threshold (alias: install)"
	@echo "make clean   remove .venv, .threshold, .test-env and caches"

venv install: $(STAMP) bytecode

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

# Threshold's own modules compiled ahead. pip compiles what it installs, but not an editable install's sources; where
# PYTHONDONTWRITEBYTECODE is set (many containers set it), every `threshold` command would compile again the ~170
# modules it imports: 0.15-0.4 s of CPU a command (an in-process share of a small file: 1.71-1.96 s, compiled
# 1.55-1.57 s). compileall writes whatever that variable says, and skips what is up to date (0.1 s).
bytecode: | $(BIN)/python
	$(BIN)/python -m compileall -q -j 0 src/threshold

run: $(RUN_STAMP) bytecode
	$(BIN)/threshold demo --host '$(HOST)' --port '$(PORT)'

# The test run keeps bytecode (PYTHONDONTWRITEBYTECODE emptied for it): pytest's rewritten test modules land in
# the ignored __pycache__ folders, so the next run's workers do not rewrite ~470 modules each before their first
# test (a worker's collection: 16 s -> 7 s CPU).
test: lint
	bash scripts/test-services.sh
	set -a; . ./.test-env; set +a; PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile $(S3_OPTION)

lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/mypy benchmarks scripts
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
