# The Makefile is the executable documentation of this project.
#   make run    - create .venv, install, migrate ./data/aggregator.db, start the daemon on config/
#   make test   - create .venv, install with test tools, run the whole suite
#   make lint   - ruff (lint + format check) and mypy --strict on aggregator/
#   make bench  - speed and memory benchmarks (ratios against baselines in the same run)
#   make eval   - quality evaluation on ../shared/eval, rewrites docs/QUALITY.md

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench eval demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p data
	$(PY) -m aggregator db upgrade
	$(PY) -m aggregator run

demo: $(STAMP)
	$(PY) -m aggregator demo

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(STAMP)
	$(PY) -m benchmarks

eval: $(STAMP)
	$(PY) -m eval

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
