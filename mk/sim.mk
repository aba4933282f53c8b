# The market simulator.
#   make simulate SIM_SCENARIO=calm                  a scenario on the embedded chain -> reports/sim/<scenario>/
#   make simulate SIM_SCENARIO=slow-bleed SIM_NETWORK=ethereum:local:foundry SIM_SEED=7
#   make simulate-guard  flash-crash and slow-bleed without and with MarginGuard policies (same seeds)
#   make simulate-load   the load scenario: 1,000 positions over 500 oracle rounds on an Anvil of its own (reported, not asserted)
.PHONY: simulate simulate-guard simulate-load

SIM_SCENARIO ?= flash-crash
SIM_SEED ?=
SIM_NETWORK ?= ethereum:local:test

simulate: compile ## a scenario (SIM_SCENARIO, SIM_NETWORK, SIM_SEED) -> reports/sim/<scenario>/
	$(APE) run simulate $(SIM_SCENARIO) --network $(SIM_NETWORK) $(if $(SIM_SEED),--seed $(SIM_SEED))

simulate-guard: compile ## flash-crash and slow-bleed without and with MarginGuard policies -> reports/sim/<scenario>/guard-comparison.md
	$(APE) run simulate flash-crash --guard-compare --network $(SIM_NETWORK) --no-progress
	$(APE) run simulate slow-bleed --guard-compare --network $(SIM_NETWORK) --no-progress

simulate-load: compile ## the load scenario: 1,000 positions over 500 oracle rounds on an Anvil of its own
	$(APE) run simulate load --own-anvil
