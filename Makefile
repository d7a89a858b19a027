# The two commands a newcomer needs: `make run` and `make test`.
# Each creates .venv and installs the project on first use, so both work on a fresh clone.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck imports pytest install clean bench

help:
	@echo "make run    start the bot (Socket Mode with SLACK_APP_TOKEN; with no Slack credentials, the sandbox)"
	@echo "make test   lint, type-check, check layers and run the tests (SQLite, and PostgreSQL when it answers)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "microlearn needs Python 3.11 or newer (set PYTHON=python3.12, for example)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# microlearn says in its own words why it cannot start (exit 1, or 2 for a malformed setting);
# make's "*** Error" line after that would only look like a crash. Scripts and CI that run
# `microlearn serve` themselves still get its exit status.
run: $(STAMP)
	@$(BIN)/microlearn serve --sandbox-without-credentials $(ARGS) || [ $$? -le 2 ]

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

# Compiled modules are cached even where the environment turns that off (PYTHONDONTWRITEBYTECODE):
# the suite starts dozens of `microlearn` processes, each importing the package, and every pytest
# worker rewrites each test module's asserts; with the cache only the first run pays for either.
pytest: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck imports pytest

bench: $(STAMP)
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/answers.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
