# Deployment and ABI export (included by the main Makefile).
#   make deploy-local                   deploy markets/local.yaml (mocks included) on the embedded chain
#   make deploy DEPLOY_NETWORK=... DEPLOY_MARKETS=... DEPLOY_ACCOUNT=...   any network (asks before each live
#                                       transaction)
#   make abi                            one JSON ABI per compiled contract in abi/, plus deployments/*.json
.PHONY: deploy-local deploy abi

DEPLOY_MARKETS ?= markets/local.yaml
DEPLOY_NETWORK ?= ethereum:local:test
DEPLOY_ACCOUNT ?=

deploy-local: compile ## deploy markets/local.yaml (mocks included) on the embedded chain
	$(APE) run deploy --network ethereum:local:test --markets markets/local.yaml

deploy: compile ## deploy DEPLOY_MARKETS on DEPLOY_NETWORK with DEPLOY_ACCOUNT
	$(APE) run deploy --network $(DEPLOY_NETWORK) --markets $(DEPLOY_MARKETS) $(if $(DEPLOY_ACCOUNT),--account $(DEPLOY_ACCOUNT))

abi: compile ## one JSON ABI per compiled contract in abi/
	$(VENV)/bin/python -m ringfence.deploy abi abi
