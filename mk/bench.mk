# Gas bench: Ringfence vs Morpho Blue 1.0.0 in one run on one Anvil of its own.
#   make bench          -> reports/gas.json, reports/BENCH.md, the table on the console
#   make gas-snapshot   -> rewrites tests/gas/snapshot.json (Ringfence's gas per operation), on purpose
#   make gas-check      -> tests/gas on Anvil: fails if an operation costs more than its snapshot
.PHONY: bench gas-snapshot gas-check

bench: compile ## gas per operation, Ringfence vs Morpho Blue -> reports/BENCH.md
	$(APE) run bench

gas-snapshot: compile ## rewrite tests/gas/snapshot.json on purpose
	$(APE) run bench --write-snapshot

gas-check: compile ## tests/gas on Anvil: fails if an operation costs more than its snapshot
	$(APE) test tests/gas -p no:cacheprovider --network ethereum:local:foundry

# Keeper bench: one keeper pass over 5,000 real vaults right after a mass partial liquidation, on an
# Anvil (RINGFENCE_BENCH_VAULTS sets the count). Prints the figures; times nothing in the suite. Its
# Anvil keeps no step traces (tools/anvil-wrapper.sh): with them it outgrew 23 GB during the liquidations.
.PHONY: bench-keeper
bench-keeper: compile ## one keeper pass over 5,000 vaults after a mass partial liquidation (Anvil)
	RINGFENCE_ANVIL_STEPS_TRACING=0 $(APE) test tests/keeper/bench_keeper_step.py -p no:cacheprovider -s -q \
	  --network ethereum:local:foundry
