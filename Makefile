# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test test-slow lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(STAMP)

# The test extra builds python-gssapi against MIT krb5's headers (no Linux wheels exist):
# install them from Debian when they are missing (CI runs as root).
$(TEST_STAMP): $(STAMP)
	@command -v krb5-config >/dev/null || { \
	  echo "installing libkrb5-dev (needed to build python-gssapi)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libkrb5-dev; }
	$(BIN)/pip install -q -e '.[test]'
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(BIN)/dcerpc demo

test: $(TEST_STAMP)
	$(BIN)/ruff check src tests $(wildcard bench examples)
	$(BIN)/python -m pytest -m "not slow"

test-slow: $(TEST_STAMP)
	$(BIN)/python -m pytest -m slow

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests $(wildcard bench examples)

bench: $(TEST_STAMP)
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python bench/ndr_bench.py
	$(BIN)/python bench/smallcall.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
