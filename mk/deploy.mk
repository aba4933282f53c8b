# Deployment and ABI export (included by the main Makefile).
#   make deploy-local                   deploy markets/local.yaml (mocks included) on the embedded chain
#   make deploy NETWORK=... MARKETS=... ACCOUNT=...   any network (asks before each live transaction)
#   make abi                            one JSON ABI per compiled contract in abi/, plus deployments/*.json
.PHONY: deploy-local deploy abi

MARKETS ?= markets/local.yaml
NETWORK ?= ethereum:local:test
ACCOUNT ?=

deploy-local: install
	$(APE) compile --force
	$(APE) run deploy --network ethereum:local:test --markets markets/local.yaml

deploy: install
	$(APE) compile --force
	$(APE) run deploy --network $(NETWORK) --markets $(MARKETS) $(if $(ACCOUNT),--account $(ACCOUNT))

abi: install
	$(APE) compile --force
	$(VENV)/bin/python -m ringfence.deploy abi abi
