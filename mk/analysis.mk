# Static analysis and coverage.
#   make slither          slither in its own venv (.venv-slither) on contracts/; fails on an untriaged
#                         High/Medium finding (triage: slither.triage.json -> docs/slither-triage.md)
#   make slither-triage   rerun slither and refresh the triage files (new findings come in as "todo")
#   make coverage         the tests that drive the contracts through the test session's chain, once, on a
#                         traced Anvil -> reports/coverage.md + reports/coverage.json (the stateful fuzz with
#                         a smaller profile: COVERAGE_FUZZ_EXAMPLES x COVERAGE_FUZZ_STEPS actions). Tests that
#                         start their own chain or `ape run` subprocesses are left out: their traffic is not
#                         traced (tests/keeper/test_entry_points.py, test_ape_run_keeper.py, tests/sim).
#   make coverage COVERAGE_TESTS="tests/integration/test_positions.py"   a subset
#   make coverage-report  the report again from the last run's traces (reports/tmp/coverage-hits.json)
.PHONY: slither slither-triage coverage coverage-report

COVERAGE_TESTS ?= tests/integration tests/security tests/gas tests/keeper/test_keeper_chain.py \
  tests/keeper/test_index.py tests/stateful
COVERAGE_FUZZ_EXAMPLES ?= 30
COVERAGE_FUZZ_STEPS ?= 100

slither: install ## slither on contracts/: fails on an untriaged High/Medium finding
	bash tools/analysis/slither.sh

slither-triage: install ## rerun slither and refresh the triage files
	bash tools/analysis/slither.sh --update

coverage: compile ## line and branch coverage of the contracts -> reports/coverage.md
	RINGFENCE_FUZZ_EXAMPLES=$(COVERAGE_FUZZ_EXAMPLES) RINGFENCE_FUZZ_STEPS=$(COVERAGE_FUZZ_STEPS) \
	  $(VENV)/bin/python -m tools.coverage run $(COVERAGE_TESTS)

coverage-report: install ## the coverage report again from the last run's traces
	$(VENV)/bin/python -m tools.coverage report
