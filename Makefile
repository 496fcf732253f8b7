# Everything a newcomer needs: `make run` (the sandbox demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint bench bench-triage bench-sweep bench-transport bench-workdays clean
# --- reports (issue 9) ---
.PHONY: bench-report

# An editable install leaves the project's own modules uncompiled: where bytecode is not
# written (PYTHONDONTWRITEBYTECODE), every `hotline` start would compile them again.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m compileall -q bot storage handlers > /dev/null
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

# On the part of the training set kept out of fitting (tests/data/README.md); the curve of
# precision and coverage over thresholds is printed at the end.
TRIAGE_UNTOUCHED ?= tests/data/complaints-train-untouched.jsonl
bench-triage: $(STAMP)
	$(PY) benchmarks/bench_triage.py --data $(TRIAGE_UNTOUCHED)

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

# --- load, many instances, a million tickets (issue 10) ---
.PHONY: bench-load bench-lists

# The emulator and the load here, the bots in their own processes; SQLite, PostgreSQL at
# 127.0.0.1:5432, two instances; PTB's stock echo bot as the baseline. A few minutes.
bench-load: $(STAMP)
	$(PY) benchmarks/bench_load.py

# The work lists with a million tickets on SQLite and PostgreSQL, with their query plans.
bench-lists: $(STAMP)
	$(PY) benchmarks/bench_lists.py

# --- triage learned weights (issue 7) ---
TRIAGE_DATA = tests/data/complaints-dev.jsonl tests/data/complaints-holdout.jsonl \
	tests/data/complaints-holdout2.jsonl tests/data/complaints-train-tune.jsonl \
	tests/data/complaints-writers.jsonl tests/data/complaints-service-conduct.jsonl \
	tests/data/complaints-english-indirect.jsonl \
	tests/data/complaints-conduct-in-service.jsonl tests/data/complaints-everyday-chat.jsonl \
	tests/data/complaints-indirect-long.jsonl tests/data/complaints-told-as-stories.jsonl \
	tests/data/complaints-borders.jsonl tests/data/complaints-other-voices.jsonl \
	tests/data/complaints-conduct-habits.jsonl tests/data/complaints-cross-section.jsonl \
	tests/data/complaints-near-misses.jsonl
.PHONY: triage-weights
triage-weights: $(STAMP)
	$(PY) -m bot.learning $(TRIAGE_DATA)
