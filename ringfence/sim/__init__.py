"""The market simulator: an agent-based market driven block by block on a real chain.

* :mod:`ringfence.sim.scenario` — scenario files (YAML), validated, with named errors, into the
  dataclasses of :mod:`ringfence.sim.scenario_types`;
* :mod:`ringfence.sim.prices` — seeded price paths (GBM with jumps plus scheduled events);
* :mod:`ringfence.sim.oracle` — a Chainlink-like round policy (deviation threshold + heartbeat);
* :mod:`ringfence.sim.agents` — traders, LPs and keepers, planned from the seed;
* :mod:`ringfence.sim.chain` — a fast transaction path to the node (raw JSON-RPC on Anvil);
* :mod:`ringfence.sim.cross` — the cross-margin *model* (same positions, one account per trader);
* :mod:`ringfence.sim.runner` — deployment and the block loop (the real keeper bot included), with
  :mod:`ringfence.sim.state` (the run's plain data) and :mod:`ringfence.sim.reads` (what it reads back);
* :mod:`ringfence.sim.report` — figures (JSON), report.md and PNG plots, computed in
  :mod:`ringfence.sim.figures` and drawn in :mod:`ringfence.sim.plots`.
* :mod:`ringfence.sim.ape_run` — ``ape run simulate`` (``scripts/simulate.py``).

Importing this package touches no network.
"""
