# Threadkeeper: `make demo` runs the product, `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 8000
# Tests never need a real secret; a deployment sets its own.
TEST_ENV := SECRET_KEY=test-only-insecure-key DEBUG=0

.PHONY: install demo test test-sqlite test-postgres lint services browser bench

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Start PostgreSQL and Redis if they are down (a no-op where they run).
services:
	@bash scripts/services.sh

# Debian's Chromium for the browser tests (Playwright's own download is not reachable).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Starts a Celery worker and beat when Redis answers (scripts/demo.sh).
demo: install
	BIN=$(BIN) HOST=$(HOST) PORT=$(PORT) bash scripts/demo.sh

test: install services browser
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(TEST_ENV) $(BIN)/python -m pytest -q -p no:cacheprovider
	$(TEST_ENV) DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q -p no:cacheprovider

test-sqlite: install
	$(TEST_ENV) $(BIN)/python -m pytest -q

test-postgres: install services
	$(TEST_ENV) DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
