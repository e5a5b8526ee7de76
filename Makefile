# Two commands on a fresh machine: `make dev` runs the whole product, `make test` the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev demo test lint fmt migrate worker api clean bench-search

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP)
	STAYFLOW_ENV=$${STAYFLOW_ENV:-dev} $(BIN)/stayflow dev

# With `make dev` running in another terminal: a demo marketplace (users, listings, bookings, reviews).
demo: $(STAMP)
	$(BIN)/stayflow seed-demo

test: $(STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP)
	$(BIN)/stayflow migrate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
