# Stateful invariant fuzzing (included by the main Makefile).
#   make fuzz                                   a deep run: FUZZ_EXAMPLES x FUZZ_STEPS actions on an Anvil of its own
#   make fuzz FUZZ_STEPS=300 FUZZ_EXAMPLES=1000 FUZZ_SEED=42   sizes and seed (printed; the same one replays)
#   make fuzz-ci                                the CI profile (tests/stateful on Anvil: >= 10,000 actions)
# A failure is saved as a test under tests/stateful/regressions/, replayed by every later `make fuzz-ci`.
.PHONY: fuzz fuzz-ci

FUZZ_STEPS ?= 200
FUZZ_EXAMPLES ?= 500
FUZZ_SEED ?=

fuzz: compile ## a deep stateful fuzz run (FUZZ_STEPS, FUZZ_EXAMPLES, FUZZ_SEED)
	$(APE) run fuzz --steps $(FUZZ_STEPS) --examples $(FUZZ_EXAMPLES) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

fuzz-ci: compile ## the CI fuzz profile (tests/stateful on Anvil)
	$(APE) test tests/stateful -s -p no:cacheprovider --network ethereum:local:foundry
