# Ringfence. `make demo` runs the main job on the embedded local chain; `make test` runs the tests.
# Each target sets itself up first (idempotent; only the package registries are used).
SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
APE := $(VENV)/bin/ape
export SOLCX_BINARY_PATH := $(CURDIR)/.solcx
export PATH := $(VENV)/bin:$(PATH)
# Keep Ape from phoning home or asking questions.
export APE_TESTING_FAIL_IF_NO_PROVIDER := 1

.PHONY: install compile test test-local test-anvil demo clean

install:
	@bash tools/setup.sh

compile: install
	$(APE) compile --force

## Tests on the embedded local chain (py-evm), then again on an Anvil node.
test: install
	$(APE) compile --force
	$(APE) test tests -p no:cacheprovider
	$(APE) test tests -p no:cacheprovider --network ethereum:local:foundry

test-local: install
	$(APE) test tests

test-anvil: install
	$(APE) test tests --network ethereum:local:foundry

demo: install
	$(APE) compile --force
	$(APE) run simulate flash-crash

clean:
	rm -rf .build contracts/.cache .venv node_modules .solcx

# Further targets (bench, deploy, abi, fuzz…) live in mk/*.mk, one file per concern.
-include mk/*.mk
