# The two commands of the README: `make run` and `make test`. Everything else is detail.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.qos-installed
QOS_DEV_HOME ?= .qos-dev

.PHONY: run test lint types imports pytest bench sysdeps clean ipfs-daemon

$(STAMP): pyproject.toml constraints.txt scripts/bootstrap.sh
	PYTHON=$(PYTHON) bash scripts/bootstrap.sh

## run: install if needed, initialise a dev home if absent, start a single-validator node
run: $(STAMP)
	$(BIN)/qos --home $(QOS_DEV_HOME) init --dev --if-absent
	$(BIN)/qos --home $(QOS_DEV_HOME) node

IPFS_DAEMON := scripts/ipfs-daemon/node_modules/.package-lock.json

$(IPFS_DAEMON): scripts/ipfs-daemon/package.json scripts/ipfs-daemon/package-lock.json
	QOS_NEED_NODE=1 bash scripts/sysdeps.sh
	npm ci --prefix scripts/ipfs-daemon --no-audit --no-fund --loglevel=error

## ipfs-daemon: install the js-ipfs test daemon (npm) used by tests/ipfs_daemon
ipfs-daemon: $(IPFS_DAEMON)

## test: lint, formatting, types, import contracts and the test suite
test: $(STAMP) $(IPFS_DAEMON)
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

## bench: the benchmarks (figures and ratios)
bench: $(STAMP)
	$(BIN)/python -m bench

sysdeps:
	bash scripts/sysdeps.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis scripts/ipfs-daemon/node_modules
