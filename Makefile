# Two commands on a fresh machine (Java 17 is the only prerequisite):
#   make demo   install, simulate three landing days, materialize the graph for them
#   make test   install, run the test suite
#   make test-engines  the tests against real engines (a Spark cluster, Spark Connect, S3), CI runs them after make test
#   make test-faults   runs of the jobs killed at chosen points and run again, CI runs them after make test-engines
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: install instance demo lint test test-fast test-engines test-faults dev mlflow-ui bench docs clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --constraint constraints.txt --editable ".[test,dev,bench]"
	touch $@

install: $(VENV)/.installed

# The Dagster instance's settings from the repository (the run queue's limit on concurrent Spark
# runs): deploy/dagster.yaml, copied into DAGSTER_HOME, which `make clean` deletes.
instance:
	mkdir -p "$(DAGSTER_HOME)"
	cp deploy/dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

demo: install instance
	$(BIN)/python -m mlvp_assets.demo --days 3 --rows-per-day 2000

# Formatting, lint and types (the configuration is in pyproject.toml); CI runs it before the tests.
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not engines"

# Starts a Spark standalone cluster, a Spark Connect server, moto's S3 server and MLflow servers on
# 127.0.0.1 and runs the prod environment on them; the first start downloads the hadoop-aws JARs.
test-engines: install
	$(BIN)/python -m pytest -m engines mlvp_assets_tests/engines_tests

# daily_job and training_job in processes of their own, killed with SIGKILL at chosen points (crash
# points of mlvp_assets/crash_points.py, or in the middle of a Delta write), run again and compared
# with an uninterrupted run.
test-faults: install
	$(BIN)/python -m pytest -m faults mlvp_assets_tests

dev: install instance
	$(BIN)/dagster dev -w workspace.yaml --host 127.0.0.1 --port 3000

mlflow-ui: install
	$(BIN)/mlflow ui --backend-store-uri sqlite:///data/mlflow/mlflow.db --host 127.0.0.1 --port 5000

# Every script in bench/ (bench/bare_day.py is the limit bench/daily.py measures against, not a
# benchmark of its own); daily.py runs its quick mode, `make bench DAILY_BENCH=--full` the full one.
DAILY_BENCH ?=
bench: install
	for script in bench/*.py; do \
		case "$$script" in bench/bare_day.py) continue ;; bench/daily.py) args="$(DAILY_BENCH)" ;; *) args="" ;; esac; \
		$(BIN)/python "$$script" $$args || exit 1; \
	done

docs: install
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) data/landing data/warehouse data/reports data/mlflow data/dagster_home docs/_build docs/_autosummary docs/_root
