# statsbot — everything a fresh machine needs goes through `make install` (a venv, pinned deps).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint format typecheck pytest bench demo lock clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# The README's test command: lint, types, then the whole suite.
test: lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/backfill.py
	$(BIN)/python bench/poll_cycle.py
	$(BIN)/python bench/chat_queries.py

demo: install
	$(BIN)/statsbot demo

# Re-pin after changing dependencies in pyproject.toml (needs `pip install uv`).
# requirements.lock = runtime + dev tools (make install); requirements-runtime.lock = deployments.
lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements-runtime.lock

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache
