# Two commands take a fresh machine to a served app (`make run`) or a passing suite (`make test`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2

.PHONY: run test test-sqlite test-postgres lint format typecheck bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	BTAM_CONFIG=$${BTAM_CONFIG:-development} $(BIN)/btam init
	BTAM_CONFIG=$${BTAM_CONFIG:-development} $(BIN)/btam demo
	@echo ""
	@echo "BTAM is starting on http://$(HOST):$(PORT)  (Ctrl-C stops it)"
	BTAM_CONFIG=$${BTAM_CONFIG:-development} exec $(BIN)/gunicorn --config config/gunicorn.conf.py \
		--bind $(HOST):$(PORT) --workers $(WORKERS) wsgi:app

# The whole suite on SQLite, then again on PostgreSQL when a server can be started.
test: $(VENV)/.dev
	.ci/with-postgres .ci/test-suite

test-sqlite: $(VENV)/.dev
	$(BIN)/pytest -n auto

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

# Cases the benchmarks generate: a state's worth (`make bench BENCH_CASES=5000` for a quick run).
BENCH_CASES ?= 50000

$(VENV)/.bench: pyproject.toml $(VENV)/.dev
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

# On SQLite, and again on a throwaway PostgreSQL server when its binaries are installed.
bench: $(VENV)/.bench
	.ci/with-postgres $(BIN)/python bench/run.py --cases $(BENCH_CASES)

# The README's pictures, from the demo district in Debian's Chromium.
screenshots: $(VENV)/.dev
	BTAM_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots CI=true $(BIN)/pytest -q -n 0 -p no:cacheprovider \
		tests/browser/test_screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
