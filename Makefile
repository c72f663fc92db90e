VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Installs come from the hashed locks only: requirements.lock (the app) and requirements-dev.lock (the app, the
# tests' packages and the dev tools). requirements.txt, tests/requirements.txt and requirements-dev.txt are their
# top-level inputs; `make lock` regenerates both locks from them.
APP_LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
APP_STAMP := $(VENV)/.app-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run serve test bench lint format lock

run: $(APP_STAMP)
	$(PY) serve_local.py

# Production: gunicorn with gunicorn.conf.py (SECRET_KEY required; BIND/PORT, WEB_CONCURRENCY, GUNICORN_THREADS).
serve: $(APP_STAMP)
	$(VENV)/bin/gunicorn -c gunicorn.conf.py app:app

test: $(DEV_STAMP)
	$(PY) -m pytest

# Not part of `make test`: starts the mock authority, Redis and the app under gunicorn, measures, prints a table.
# Options: $(PY) -m benchmarks.run --help
bench: $(APP_STAMP)
	$(PY) -m benchmarks.run

# Not part of `make test` (.ci/run runs both): formatting, lint rules and types, as configured in pyproject.toml.
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Rewrites files: ruff's formatting and its safe fixes.
format: $(DEV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Regenerate both locks (pins with sha256 hashes, Python 3.11 on Linux x86_64) against PyPI alone: the machine's
# pip configuration (local wheel folders, mirrors, constraints) is ignored so the locks match what a fresh machine
# downloads. pip and setuptools are locked too (--allow-unsafe): pip-tools needs them, and --require-hashes
# refuses any unhashed package. Existing pins are kept; `make lock LOCK_FLAGS=--upgrade` moves unpinned ones.
LOCK_FLAGS ?=
PIP_COMPILE = env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null \
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS)
lock: $(DEV_STAMP)
	$(PIP_COMPILE) -o $(APP_LOCK) requirements.txt
	$(PIP_COMPILE) -o $(DEV_LOCK) requirements.txt tests/requirements.txt requirements-dev.txt

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(APP_STAMP): $(APP_LOCK) | $(VENV)/bin/python
	$(PIP) install --quiet --require-hashes -r $(APP_LOCK)
	touch $@

$(DEV_STAMP): $(APP_STAMP) $(DEV_LOCK)
	$(PIP) install --quiet --require-hashes -r $(DEV_LOCK)
	touch $@
