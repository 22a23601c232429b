# `make run` and `make test` each create .venv and install what they need, from the
# lock files (exact versions, checked by hash): requirements.lock for running (the
# Docker image installs the same), requirements-dev.lock adds the test and lint tools.
# `make lock` refreshes both from pyproject.toml, keeping the pins that still fit;
# `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest release.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
# The locks are resolved for Linux and this Python (the image's Debian bookworm has 3.11).
LOCK_PYTHON := 3.11
LOCK_VENV := .venv-lock
# PyPI only: no index or wheel directory of this machine's pip config leaks into the locks.
PIP_COMPILE := env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL \
	PIP_CONFIG_FILE=/dev/null $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --all-build-deps --no-emit-index-url --no-emit-find-links \
	--index-url https://pypi.org/simple $(LOCK_FLAGS)

.PHONY: run test lint typecheck pytest bench lock clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# The build backend (setuptools) is in the lock: newsmon itself installs without
# build isolation, so nothing unpinned is downloaded.
$(RUN_STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(DEV_STAMP): pyproject.toml requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

run: $(RUN_STAMP)
	$(BIN)/newsmon --config sources.yaml run

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

# Compiled once here: the tests start newsmon hundreds of times, and where
# PYTHONDONTWRITEBYTECODE is set each start would compile the package again (~0.2 s).
pytest: $(DEV_STAMP)
	$(BIN)/python -m compileall -q monitor storage notifiers > /dev/null
	$(BIN)/pytest -q -n auto

test: lint typecheck pytest

bench: $(DEV_STAMP)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/match.py
	$(BIN)/python bench/extract.py 1
	$(BIN)/python bench/fetch.py
	$(BIN)/python bench/replicas.py
	$(BIN)/python bench/clusters.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/memory.py

# The dev lock is constrained by the runtime one: both install the same versions of
# what they share, so `make test` after `make run` (or the reverse) changes nothing.
lock:
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(LOCK_PYTHON)".split("."))))' \
	  || { echo "make lock: needs Python $(LOCK_PYTHON) (PY=$(PY) is $$($(PY) -V)); try PY=python$(LOCK_PYTHON)"; exit 1; }
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PY) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install -q pip-tools; }
	$(PIP_COMPILE) --extra postgres -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --extra postgres --extra dev -c requirements.lock -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) $(LOCK_VENV) .mypy_cache .pytest_cache .ruff_cache
