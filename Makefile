# Quick start: `make demo` and `make test` work on a fresh machine with python3 + make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test

.PHONY: demo test test-all bench notebooks docs venv clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[test,bench,distributed]"
	touch $(STAMP)

DOCSTAMP := $(VENV)/.installed-docs

$(DOCSTAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $(DOCSTAMP)

venv: $(STAMP)

demo: $(STAMP)
	MPLBACKEND=Agg $(VENV)/bin/jaxbind demo --out jaxbind-out

test: $(STAMP)
	$(PY) -m pytest -n 2 -q

test-all: $(STAMP)
	$(PY) -m pytest -n 2 -q -m "" --timeout=1800

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

notebooks: $(STAMP)
	$(PY) notebooks/execute.py

# The documentation site (docs/ + API pages from the docstrings) into site/; warnings are errors.
docs: $(DOCSTAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

clean:
	rm -rf $(VENV) jaxbind-out .pytest_cache site
