"""Block timestamps in bulk: one JSON-RPC batch of ``eth_getBlockByNumber`` for many blocks.

A keeper pass dates the ``Liquidated`` and LP request events it applies by their block's timestamp.
After a mass liquidation those events span dozens of blocks, and Ape's ``chain.blocks[n]`` costs
milliseconds a block (a request and a validated block model); a batch costs one round trip. A node
that refuses batches is asked block by block (:func:`ringfence.chain.rpc.batched`), the embedded chain
through web3's API; a block it cannot give leaves the caller to read the blocks one by one as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ringfence.chain.rpc import batched, in_process

__all__ = ["block_times"]

BATCH = 100  # requests per batch (nodes cap batches: geth at 1,000)


def block_times(provider: Any, numbers: Sequence[int]) -> dict[int, int]:
    """The timestamp of each block of ``numbers`` (an Ape provider's chain)."""
    web3 = provider.web3
    if in_process(web3):
        return {n: int(web3.eth.get_block(n)["timestamp"]) for n in numbers}
    answers = batched(web3.provider, [("eth_getBlockByNumber", [hex(n), False]) for n in numbers], BATCH)
    out: dict[int, int] = {}
    for number, response in zip(numbers, answers, strict=True):
        block = response.get("result")
        if not block or int(block["number"], 16) != number:
            raise LookupError(f"block {number}: {response.get('error') or 'not found'}")
        out[number] = int(block["timestamp"], 16)
    return out
