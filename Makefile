# Every target bootstraps .venv on first use and reinstalls when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres

DEMO_DATABASE := sqlite://data/demo.sqlite3
DEMO_TONES := --tone brief --tone bullets --tone as_is
DEMO_LATEST := 6
EXPORTS := tests/data/channel_exports

.PHONY: test test-sqlite test-postgres lint migrate demo clean

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

# The Desktop exports carry no channel username: Хабр's is habr_com, Naked Science's is
# unknown, so the two are replayed in turn into one fresh demo database and the second call
# prints the demo readers' digests with both channels.
demo: $(STAMP)
	@rm -f data/demo.sqlite3
	@LOG_LEVEL=ERROR $(BIN)/python -m digester replay $(EXPORTS)/habr.json --channel habr_com \
		--latest $(DEMO_LATEST) $(DEMO_TONES) --database $(DEMO_DATABASE) --json > /dev/null
	@LOG_LEVEL=WARNING $(BIN)/python -m digester replay $(EXPORTS)/naked_science.json \
		--latest $(DEMO_LATEST) $(DEMO_TONES) --database $(DEMO_DATABASE)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
