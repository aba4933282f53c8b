# Mutation testing of the contracts (included by the main Makefile): deliberate bugs the tests must catch.
#   make mutate                          every mutant of MarginMath, MarginPool, Liquidator, ChainlinkOracle,
#                                        PositionVault, PoolFactory, Lens, InsuranceFund and MarginGuard -> reports/mutation/
#                                        report.md + report.json (status of each mutant, score per contract)
#   make mutate MUTATE_CONTRACTS=MarginPool   a subset (comma-separated contract names)
#   make mutate MUTATE_SAMPLE=20 MUTATE_SEED=7   a seeded sample of 20 mutants that compile
#   make mutate MUTATE_JOBS=2 MUTATE_DEEP=1      workers (each with its own copy of the project); survivors of
#                                        the unit/integration/security tests also meet stateful/keeper/sim
#   make mutate-list                     the mutants only (id, line-independent key, change), nothing run
#   make mutate-map                      regenerate tools/mutate/test_map.json (function -> test files)
# `make test` runs a sample of 4 (tests/mutation/test_mutation_sample.py; RINGFENCE_MUTATION_SAMPLE=0 skips it).
.PHONY: mutate mutate-list mutate-map

MUTATE_CONTRACTS ?=
MUTATE_SAMPLE ?=
MUTATE_SEED ?=
MUTATE_JOBS ?= 2
MUTATE_DEEP ?=

mutate: install ## every mutant of the contracts -> reports/mutation/report.md (hours)
	$(VENV)/bin/python -m tools.mutate run -j $(MUTATE_JOBS) $(if $(MUTATE_CONTRACTS),--contracts $(MUTATE_CONTRACTS)) \
	  $(if $(MUTATE_SAMPLE),--sample $(MUTATE_SAMPLE)) $(if $(MUTATE_SEED),--seed $(MUTATE_SEED)) \
	  $(if $(MUTATE_DEEP),--deep)

mutate-list: install ## the mutants only, nothing run
	$(VENV)/bin/python -m tools.mutate list $(if $(MUTATE_CONTRACTS),--contracts $(MUTATE_CONTRACTS))

mutate-map: install ## regenerate tools/mutate/test_map.json (function -> test files)
	$(VENV)/bin/python -m tools.mutate map
