"""The simulator's own Anvil for big runs (``--own-anvil``; ``make simulate-load``).

Ape's foundry provider starts Anvil with ``--steps-tracing`` (so that Ape can show opcode traces of a
failed transaction); Anvil then keeps every transaction's step trace in memory, which for the
1,000-position load scenario grows by gigabytes within a minute. This Anvil is started without it
(and with ``--prune-history``, see docs/toolchain.md), and Ape's foundry provider is pointed at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ringfence.chain.anvil import anvil, ape_on

__all__ = ["own_anvil"]


@contextmanager
def own_anvil(timeout: float = 60.0) -> Iterator[Any]:
    """Starts an Anvil (no step tracing), connects Ape's foundry provider to it, yields the provider,
    and stops that Anvil (only it) afterwards."""
    with anvil(timeout=timeout, bench=False) as node, ape_on(node) as provider:
        yield provider
