# Deployment, the devnet and ABI export (included by the main Makefile).
#   make devnet [DEVNET_PORT=8545] [DEVNET_BLOCK_TIME=1]   Anvil (chain id 1337) with markets/local.yaml
#                                       deployed and the mock tokens minted, until Ctrl-C; every other
#                                       command takes --network ethereum:local:http://127.0.0.1:8545
#   make deploy-local                   deploy markets/local.yaml (mocks included) on the embedded chain:
#                                       a throwaway check (the chain ends with the command, nothing recorded)
#   make deploy DEPLOY_NETWORK=... DEPLOY_MARKETS=... DEPLOY_ACCOUNT=...   any network (asks before each live
#                                       transaction)
#   make abi                            one JSON ABI per compiled contract in abi/, plus deployments/*.json
.PHONY: devnet deploy-local deploy abi

DEPLOY_MARKETS ?= markets/local.yaml
DEPLOY_NETWORK ?= ethereum:local:test
DEPLOY_ACCOUNT ?=
DEVNET_PORT ?= 8545
DEVNET_BLOCK_TIME ?= 1

devnet: compile ## a local chain that stays up (Anvil :8545, chain id 1337) with markets/local.yaml deployed
	$(VENV)/bin/ringfence devnet --port $(DEVNET_PORT) --block-time $(DEVNET_BLOCK_TIME)

deploy-local: compile ## throwaway check: deploy markets/local.yaml on the embedded chain (nothing recorded)
	$(APE) run deploy --network ethereum:local:test --markets markets/local.yaml

deploy: compile ## deploy DEPLOY_MARKETS on DEPLOY_NETWORK with DEPLOY_ACCOUNT
	$(APE) run deploy --network $(DEPLOY_NETWORK) --markets $(DEPLOY_MARKETS) $(if $(DEPLOY_ACCOUNT),--account $(DEPLOY_ACCOUNT))

abi: compile ## one JSON ABI per compiled contract in abi/
	$(VENV)/bin/python -m ringfence.deploy abi abi
