"""`ape run simulate <scenario> [--network ...] [--seed N] [--out DIR] [--traders N] [--positions A-B]
[--blocks N]`: the agent-based market simulator (isolated on chain vs cross-margin model).

The logic is in ringfence/sim/ (`ape run simulate --help` lists every option).
"""

from ringfence.sim.ape_run import cli

__all__ = ["cli"]
