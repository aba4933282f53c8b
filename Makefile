# Ringfence. `make demo` runs the main job on the embedded local chain; `make test` runs the tests.
# Each target sets itself up first (idempotent; only the package registries are used). `make help`
# lists every target. Variables are named after their target: FUZZ_*, SIM_*, DEPLOY_*, MUTATE_*, COVERAGE_*.
SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
APE := $(VENV)/bin/ape
export SOLCX_BINARY_PATH := $(CURDIR)/.solcx
export PATH := $(VENV)/bin:$(PATH)
# Keep Ape from phoning home or asking questions.
export APE_TESTING_FAIL_IF_NO_PROVIDER := 1

# The contracts are compiled again only when a source changed (via-IR takes minutes).
SOURCES := $(shell find contracts interfaces -name '*.sol' 2>/dev/null) ape-config.yaml
BUILD_STAMP := .build/.ringfence-sources

.DEFAULT_GOAL := help
.PHONY: help install compile bundle lint test test-local test-anvil demo clean

help: ## this list
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' \
	  $(MAKEFILE_LIST) | sort

install: ## set up npm packages, the Python virtualenv and the compiler shim (idempotent)
	@bash tools/setup.sh

$(BUILD_STAMP): $(SOURCES) | install
	$(APE) compile --force
	@touch $@

compile: $(BUILD_STAMP) ## compile the contracts if a source changed

bundle: compile ## refresh ringfence/artifacts/contracts.json, the contract types shipped in the package
	$(VENV)/bin/python -m ringfence.chain.contracts export

lint: install ## ruff and mypy on the Python package
	$(VENV)/bin/ruff check ringfence
	$(VENV)/bin/mypy ringfence

test: compile lint ## the whole suite on the embedded chain (py-evm), then again on an Anvil node
	$(APE) test tests -p no:cacheprovider
	$(APE) test tests -p no:cacheprovider --network ethereum:local:foundry

test-local: compile ## the suite on the embedded chain only
	$(APE) test tests

test-anvil: compile ## the suite on Anvil only
	$(APE) test tests --network ethereum:local:foundry

demo: compile ## the flash-crash simulation on the embedded chain: isolated vs cross margin
	$(APE) run simulate flash-crash

clean: ## remove everything the set-up and the builds created
	rm -rf .build contracts/.cache .venv node_modules .solcx

# Further targets (bench, deploy, abi, fuzz, mutate, analysis, sim) live in mk/*.mk, one file per concern.
include mk/analysis.mk mk/bench.mk mk/deploy.mk mk/fuzz.mk mk/mutate.mk mk/sim.mk
