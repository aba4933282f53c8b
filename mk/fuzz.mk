# Stateful invariant fuzzing (included by the main Makefile).
#   make fuzz                                   a deep run: EXAMPLES x STEPS actions on an Anvil of its own
#   make fuzz STEPS=300 EXAMPLES=1000 SEED=42   sizes and seed (the seed is printed; the same one replays)
#   make fuzz-ci                                the CI profile (tests/stateful on Anvil: >= 10,000 actions)
# A failure is saved as a test under tests/stateful/regressions/, replayed by every later `make fuzz-ci`.
.PHONY: fuzz fuzz-ci

STEPS ?= 200
EXAMPLES ?= 500
SEED ?=

fuzz: install
	$(APE) compile --force
	$(APE) run fuzz --steps $(STEPS) --examples $(EXAMPLES) $(if $(SEED),--seed $(SEED))

fuzz-ci: install
	$(APE) compile --force
	$(APE) test tests/stateful -s -p no:cacheprovider --network ethereum:local:foundry
