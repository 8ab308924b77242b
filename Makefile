# Quick start: `make demo` and `make test` work on a fresh machine with python3 + make.
# One venv, one stamp per install: `make demo` installs the base package only (what
# `jaxbind demo` imports), `make test` adds the test extra, `make bench` the bench extra.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BASE_STAMP  := $(VENV)/.installed-base
TEST_STAMP  := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench
NB_STAMP    := $(VENV)/.installed-notebooks

.PHONY: demo test test-all test-cost bench notebooks docs venv clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(BASE_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@ $(BASE_STAMP)

DOCSTAMP := $(VENV)/.installed-docs

$(DOCSTAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $(DOCSTAMP) $(BASE_STAMP)

$(BENCH_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[bench]"
	touch $@ $(BASE_STAMP)

$(NB_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[notebooks]"
	touch $@ $(BASE_STAMP)

venv: $(TEST_STAMP)

demo: $(BASE_STAMP)
	MPLBACKEND=Agg $(VENV)/bin/jaxbind demo --out jaxbind-out

# The default suite (tests marked `slow` excluded). --dist loadfile keeps a file's tests on one
# worker, so the kernels its tests share (module-level jits, lru_caches) compile once, not twice.
test: $(TEST_STAMP)
	$(PY) -m pytest -n 2 --dist loadfile -q

test-all: $(TEST_STAMP)
	$(PY) -m pytest -n 2 --dist loadfile -q -m "" --timeout=3600

# Where the default suite's CPU goes: per-test CPU seconds and compiled programs (tests/conftest.py
# records them under JAXBIND_TEST_COST), summarised by benchmarks/suite_cost.py.
test-cost: $(TEST_STAMP)
	rm -rf .pytest_cost
	JAXBIND_TEST_COST=.pytest_cost $(PY) -m pytest -n 2 --dist loadfile -q
	$(PY) benchmarks/suite_cost.py .pytest_cost

bench: $(BENCH_STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

notebooks: $(NB_STAMP)
	$(PY) notebooks/execute.py

# The documentation site (docs/ + API pages from the docstrings) into site/; warnings are errors.
docs: $(DOCSTAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

clean:
	rm -rf $(VENV) jaxbind-out .pytest_cache site
