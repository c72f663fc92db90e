VENV := .venv
PY := $(VENV)/bin/python
APP_STAMP := $(VENV)/.app-installed
TEST_STAMP := $(VENV)/.test-installed

.PHONY: run test

run: $(APP_STAMP)
	$(PY) serve_local.py

test: $(TEST_STAMP)
	$(PY) -m pytest

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(APP_STAMP): requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(TEST_STAMP): $(APP_STAMP) tests/requirements.txt
	$(PY) -m pip install --quiet -r tests/requirements.txt
	touch $@
