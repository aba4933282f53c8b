"""The gas bench (``make bench``): Ringfence's user stories side by side with Morpho Blue 1.0.0, measured
in one run on one Anvil of the bench's own, and the code the gas-snapshot test reuses.

* :mod:`~ringfence.bench.artifacts` — Morpho Blue (its own compiler settings) and the Chainlink feed
  contracts compiled through the solc-js shim, cached under ``.build/bench/``;
* :mod:`~ringfence.chain.anvil` (shared) — the Anvil (prague, ``--prune-history 64``, 1 s blocks) and Ape on it;
* :mod:`~ringfence.bench.shared` — the tokens and the proxy → aggregator feed both protocols use;
* :mod:`~ringfence.bench.ringfence_side` / :mod:`~ringfence.bench.morpho_side` — the stories;
* :mod:`~ringfence.bench.guard_side` — the MarginGuard's stories (Ringfence only, their own table);
* :mod:`~ringfence.bench.measure` — operations and their transactions' ``gasUsed``;
* :mod:`~ringfence.bench.trace` — where a transaction's gas goes (``debug_traceTransaction``);
* :mod:`~ringfence.bench.offchain` — the keeper's decision time (timed, never asserted);
* :mod:`~ringfence.bench.report` — ``reports/gas.json``, ``reports/BENCH.md``, the console table;
* :mod:`~ringfence.bench.snapshot` — ``tests/gas/snapshot.json``;
* :mod:`~ringfence.bench.run` — the whole run (``scripts/bench.py``).

Importing this package touches no network.
"""
