# benchdb: `make demo` sets everything up and runs the main job; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUNNER_STAMP := $(VENV)/.runner-stamp
LAKE_STAMP := $(VENV)/.lake-stamp
TORCH_VERSION := 2.13.0
# Where pip finds PyTorch: by default the configured index; the CPU build on an ordinary
# machine: make install-runner TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu"
TORCH_INDEX ?=
export BENCHDB_DB ?= data/warehouse/benchmarks.duckdb
export BENCHDB_REPORTS ?= data/reports
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: help install install-runner install-lake demo demo-lake dev test test-fast test-deps harnesses lint samples bench clean

help:
	@echo "make demo   - create .venv, install, run ingest_job on the bundled samples"
	@echo "make test   - run the whole test suite (make test-fast: the quick part)"
	@echo "make install-runner - add PyTorch and transformers for benchdb run (the runner tests need them)"
	@echo "make install-lake   - add DuckLake and PostgreSQL clients for the lake (the lake tests need them)"
	@echo "make demo-lake      - the demo on DuckLake and Dagster on a throwaway PostgreSQL (needs PostgreSQL installed)"
	@echo "make dev    - open the Dagster UI (dagster dev) on this project"
	@echo "make lint   - ruff (lint and format check) and mypy: the lint gate .ci/run runs"
	@echo "make bench  - ingestion speed benchmark (10,000 files; see benchmarks/)"
	@echo "make clean  - remove the virtual environment and generated data"

# The package's bytecode, as pip compiles an installed package's: an editable install is not
# compiled, and where bytecode is not written (PYTHONDONTWRITEBYTECODE) every command would
# compile its modules again (~0.1 s a process).
COMPILE := $(BIN)/python -m compileall -q benchdb_pipeline

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	$(COMPILE)
	@touch $(STAMP)

install: $(STAMP)

# The benchmark runner (`benchdb run`, benchmark_job): PyTorch first, pinned, so that the runner
# extra's range is met by it and pip installs no other (a bare `torch` may pull a CUDA build of
# several GB).
$(RUNNER_STAMP): $(STAMP)
	$(BIN)/pip install --quiet torch==$(TORCH_VERSION) $(TORCH_INDEX)
	$(BIN)/pip install --quiet -e ".[dev,runner]"
	@touch $@

install-runner: $(RUNNER_STAMP)

# The warehouse on DuckLake with a PostgreSQL catalog (pins duckdb to the release its
# extensions are built for); the lake's tests need it and a PostgreSQL server (make test-deps).
$(LAKE_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,lake]"
	@touch $@

install-lake: $(LAKE_STAMP)

# Warnings about Dagster's own API that we accept: `dagster job execute` (superseded by `dg
# launch`, which is not installed) and a beta parameter Dagster passes itself.
DEMO_QUIET := ignore:Function `job_execute_command` is superseded,ignore:Parameter `owners` of initializer

demo: $(STAMP)
	@mkdir -p $(DAGSTER_HOME) $(dir $(BENCHDB_DB))
	PYTHONWARNINGS='$(DEMO_QUIET)' $(BIN)/dagster job execute -m benchdb_pipeline.definitions \
	  -j ingest_job -c data/demo_run.yaml
	@echo
	$(BIN)/benchdb status
	@echo
	$(BIN)/benchdb quarantine
	@echo
	$(BIN)/benchdb regressions list --status untriaged
	@echo
	@echo "The untriaged regressions above are planted: the samples' newest nightly run is a 13-19 % slowdown"
	@echo "of gpt2 on the simulated CUDA platform, so the regression check fails as it should. Triage one with"
	@echo "  .venv/bin/benchdb regressions ack ID --status expected --note 'why'   (or acknowledged, fixed)"
	@echo
	@echo "Warehouse:   $(BENCHDB_DB)"
	@echo "HTML report: $(BENCHDB_REPORTS)/benchmark_report.html  (Markdown: $(BENCHDB_REPORTS)/benchmark_summary.md)"
	@echo "Open the Dagster UI with: make dev  (then http://127.0.0.1:3000)"

# The same demo on the lake: a throwaway PostgreSQL on loopback holds the lake's catalog and
# Dagster's runs; everything it made is removed at the end (see the script).
demo-lake: $(LAKE_STAMP)
	$(BIN)/python scripts/demo_lake.py

# Ctrl-C or SIGTERM (to make or to the launcher) stops the UI and its children: see the script.
DEV_PORT ?= 3000
dev: $(STAMP)
	@mkdir -p $(DAGSTER_HOME) $(dir $(BENCHDB_DB))
	exec $(BIN)/python scripts/dagster_dev.py --port $(DEV_PORT)

# Tests run in one process per core (TEST_WORKERS=0: in this one), a test file to a process:
# a file's tests share fixtures and some run in order (the old guide's lines). The slowest
# tests are listed at the end, to keep an eye on CI's time.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=15
test: $(STAMP) harnesses
	$(PYTEST)

# Older pytest-benchmark releases (3.x, 4.x) beside the pytest 7 they need, for the adapter's
# tests on files each release writes (the tests skip a release that is not here).
HARNESSES := $(VENV)/harnesses
harnesses: $(HARNESSES)/.stamp
$(HARNESSES)/.stamp: $(STAMP)
	for v in 3.4.1 4.0.0; do \
	  $(BIN)/pip install --quiet --no-deps --target $(HARNESSES)/pytest-benchmark-$$v \
	    pytest-benchmark==$$v pytest==7.4.4 py==1.11.0 || exit 1; \
	done
	@touch $@

# The quick loop: no subprocess jobs, load tests or browser.
test-fast: $(STAMP) harnesses
	$(PYTEST) -m "not slow and not browser"

# What the tests use from Debian (they skip without it): the harnesses' real tools, a
# C++ compiler for Google Benchmark's library, Chromium, shellcheck and PostgreSQL (the
# lake's tests start their own server). Needs root.
DEBIAN_TEST_PACKAGES := hyperfine libbenchmark-dev g++ chromium shellcheck postgresql golang-go
test-deps:
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_TEST_PACKAGES) \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_TEST_PACKAGES))

lint: $(STAMP)
	$(BIN)/ruff check benchdb_pipeline benchdb_pipeline_tests benchmarks scripts
	$(BIN)/ruff format --check benchdb_pipeline benchdb_pipeline_tests benchmarks scripts
	$(BIN)/mypy

samples: $(STAMP)
	$(BIN)/benchdb samples --output-dir data/samples

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest_bench.py

clean:
	rm -rf $(VENV) data/warehouse data/incoming data/reports data/backups data/archive data/artifacts data/local_ci
	find data/dagster_home -mindepth 1 ! -name dagster.yaml -exec rm -rf {} +
