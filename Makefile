# The README's commands. CI (.ci/run) calls `make test`, exactly as a user does.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SCALE ?= 2000
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export DBT_SEND_ANONYMOUS_USAGE_STATS := False

.PHONY: setup run test bench lint summary docs clean postgres chromium airflow dag-parse

# uv lives in its own small venv so that `uv sync` never removes it from the project's.
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

## setup: create .venv with exactly the versions in uv.lock (a no-op when already in sync)
setup: $(UV)
	$(UV) sync --frozen --python $(PYTHON)

## run: generate demo sources, run the DAG through Airflow, print what it produced
run: setup
	$(BIN)/segments run $(if $(DATE),--date $(DATE))

## test: the whole test suite (unit, dbt, quality, DAG integrity, end-to-end through Airflow)
test: setup
	$(BIN)/pytest

## bench: time every stage and the whole run at SCALE customers
bench: setup
	$(BIN)/python -m benchmarks.run --scale $(SCALE)

## lint: ruff on Python, sqlfluff on the dbt models
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SEGMENTS_WAREHOUSE=$$(mktemp -d)/lint.duckdb $(BIN)/sqlfluff lint dbt_project

## postgres: install (Debian packages, if absent) and start a local PostgreSQL for the
## shop-database source and its tests; prints its DSN
postgres:
	scripts/start_postgres.sh

## chromium: install Debian's chromium (if absent), the browser the report's test opens
chromium:
	scripts/install_chromium.sh

## airflow: a local Airflow (`airflow standalone`) with its UI on http://localhost:8080
## (PORT=8081 moves it) on the project's DAGs; connections and variables from
## AIRFLOW_CONN_* / AIRFLOW_VAR_* in the environment; Ctrl-C stops it
airflow: setup
	$(BIN)/segments airflow $(if $(PORT),--port $(PORT))

## dag-parse: how long Airflow takes to parse each DAG file (median of fresh processes)
dag-parse: setup
	$(BIN)/python -m benchmarks.dag_parse

summary: setup
	$(BIN)/segments summary

## docs: build dbt's documentation site for the warehouse and serve it on localhost:8080
docs: setup
	$(BIN)/segments docs --serve

clean:
	rm -rf data dbt_project/target dbt_project/logs
