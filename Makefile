# Every target bootstraps .venv on first use and reinstalls when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: test test-sqlite test-postgres lint migrate demo run clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

test: test-sqlite test-postgres

test-sqlite: $(STAMP)
	@echo "== test suite on SQLite =="
	TEST_DATABASE=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@if $(BIN)/python -m tests.postgres_probe "$(TEST_POSTGRES_URL)"; then \
		echo "== test suite on PostgreSQL =="; \
		TEST_DATABASE=postgres TEST_POSTGRES_URL="$(TEST_POSTGRES_URL)" \
			$(BIN)/python -m pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is unreachable at $(TEST_POSTGRES_URL); CI requires the PostgreSQL pass"; \
		exit 1; \
	else \
		echo "PostgreSQL pass SKIPPED: no server at $(TEST_POSTGRES_URL)."; \
		echo "Start PostgreSQL or set TEST_POSTGRES_URL=postgres://USER@HOST:PORT/DB to enable it."; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

migrate: $(STAMP)
	$(BIN)/python -m digester migrate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
