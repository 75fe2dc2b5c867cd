# The two commands: `make run` (the whole stack against a local AWS emulator)
# and `make test` (the test suite). Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test benchmark clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) manage.py run_local

test: $(STAMP)
	$(PY) -m pytest

benchmark: $(STAMP)
	$(PY) benchmarks/send_path.py

clean:
	rm -rf $(VENV) .pytest_cache db.sqlite3
