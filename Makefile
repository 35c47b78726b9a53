VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/transfers dev

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .transfers

# Benchmarks (bench/RESULTS.md): all six in order, each printing its own table. The
# Temporal ones start their own dev server (persisted to SQLite, as `make run` does) in a
# temporary folder, on free ports. Run them on a quiet machine: 45-60 min on 2 vCPUs.
.PHONY: bench bench-throughput bench-burst bench-idle bench-lottery bench-school-year bench-portal
bench: $(STAMP)
	$(PY) bench/throughput.py
	$(PY) bench/burst.py
	$(PY) bench/idle.py
	$(PY) bench/lottery.py
	$(PY) bench/school_year.py
	$(PY) bench/portal.py

bench-throughput: $(STAMP)
	$(PY) bench/throughput.py

bench-burst: $(STAMP)
	$(PY) bench/burst.py

bench-idle: $(STAMP)
	$(PY) bench/idle.py

bench-lottery: $(STAMP)
	$(PY) bench/lottery.py

bench-school-year: $(STAMP)
	$(PY) bench/school_year.py

bench-portal: $(STAMP)
	$(PY) bench/portal.py
