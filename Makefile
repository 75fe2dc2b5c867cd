# The two commands: `make run` (the whole stack against a local AWS emulator)
# and `make test` (the test suite). Both create .venv on first use.
# `make package STAGE=dev` builds the Lambda package (build/emailhub-dev.zip)
# from a separate, runtime-only virtualenv (build/venv).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

STAGE ?= dev

.PHONY: run test package benchmark cold-start clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) manage.py run_local

test: $(STAMP)
	$(PY) -m pytest

package:
	$(PYTHON) deploy/package.py $(STAGE)

benchmark: $(STAMP)
	$(PY) benchmarks/send_path.py

cold-start: $(STAMP)
	$(PY) benchmarks/cold_start.py

clean:
	rm -rf $(VENV) .pytest_cache db.sqlite3 build
