# Everything a newcomer needs: `make run` (the sandbox demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench bench-triage bench-sweep bench-transport bench-workdays clean
# --- reports (issue 9) ---
.PHONY: bench-report

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/hotline sandbox

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: bench-triage bench-workdays bench-transport bench-sweep

bench-triage: $(STAMP)
	$(PY) benchmarks/bench_triage.py

bench-workdays: $(STAMP)
	$(PY) benchmarks/bench_workdays.py

bench-transport: $(STAMP)
	$(PY) benchmarks/bench_transport.py

bench-sweep: $(STAMP)
	$(PY) benchmarks/bench_sweep.py

# --- reports (issue 9) ---
bench-report: $(STAMP)
	$(PY) benchmarks/bench_report.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache hotline.db sandbox.db

# --- triage learned weights (issue 7) ---
TRIAGE_DATA = tests/data/complaints-dev.jsonl tests/data/complaints-holdout.jsonl \
	tests/data/complaints-holdout2.jsonl tests/data/complaints-train-tune.jsonl
.PHONY: triage-weights
triage-weights: $(STAMP)
	$(PY) -m bot.learning $(TRIAGE_DATA)
