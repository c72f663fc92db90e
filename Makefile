VENV := .venv
PY := $(VENV)/bin/python
APP_STAMP := $(VENV)/.app-installed
TEST_STAMP := $(VENV)/.test-installed

.PHONY: run serve test bench

run: $(APP_STAMP)
	$(PY) serve_local.py

# Production: gunicorn with gunicorn.conf.py (SECRET_KEY required; BIND/PORT, WEB_CONCURRENCY, GUNICORN_THREADS).
serve: $(APP_STAMP)
	$(VENV)/bin/gunicorn -c gunicorn.conf.py app:app

test: $(TEST_STAMP)
	$(PY) -m pytest

# Not part of `make test`: starts the mock authority, Redis and the app under gunicorn, measures, prints a table.
# Options: $(PY) -m benchmarks.run --help
bench: $(APP_STAMP)
	$(PY) -m benchmarks.run

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(APP_STAMP): requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(TEST_STAMP): $(APP_STAMP) tests/requirements.txt
	$(PY) -m pip install --quiet -r tests/requirements.txt
	touch $@
