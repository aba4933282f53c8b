# The market simulator (issue 6; included by the main Makefile).
#   make simulate SCENARIO=calm                      a scenario on the embedded chain -> reports/sim/<scenario>/
#   make simulate SCENARIO=slow-bleed SIM_NETWORK=ethereum:local:foundry SEED=7
#   make bench-sim    1,000 positions over 500 oracle rounds on an Anvil of its own (reported, not asserted)
.PHONY: simulate bench-sim

SCENARIO ?= flash-crash
SIM_NETWORK ?= ethereum:local:test

simulate: install
	$(APE) compile --force
	$(APE) run simulate $(SCENARIO) --network $(SIM_NETWORK) $(if $(SEED),--seed $(SEED))

bench-sim: install
	$(APE) compile --force
	$(APE) run simulate bench --own-anvil
