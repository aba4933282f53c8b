# Gas bench (issue 5): Ringfence vs Morpho Blue 1.0.0 in one run on one Anvil of its own.
#   make bench          -> reports/gas.json, reports/BENCH.md, the table on the console
#   make gas-snapshot   -> rewrites tests/gas/snapshot.json (Ringfence's gas per operation), on purpose
#   make gas-check      -> tests/gas on Anvil: fails if an operation costs more than its snapshot
.PHONY: bench gas-snapshot gas-check

bench: install
	$(APE) run bench

gas-snapshot: install
	$(APE) run bench --write-snapshot

gas-check: install
	$(APE) test tests/gas -p no:cacheprovider --network ethereum:local:foundry
