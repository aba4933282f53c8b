"""Block timestamps in bulk: one JSON-RPC batch of ``eth_getBlockByNumber`` for many blocks.

A keeper pass dates the ``Liquidated`` and LP request events it applies by their block's timestamp.
After a mass liquidation those events span dozens of blocks, and Ape's ``chain.blocks[n]`` costs
milliseconds a block (a request and a validated block model); a batch costs one round trip. Best
effort: a provider without batches (the embedded chain: in-process web3) is asked block by block, and
a refused batch leaves the caller to read the blocks one by one as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["block_times"]

BATCH = 100  # requests per batch (nodes cap batches: geth at 1,000)


def block_times(provider: Any, numbers: Sequence[int]) -> dict[int, int]:
    """The timestamp of each block of ``numbers`` (an Ape provider's chain)."""
    web3 = provider.web3
    transport = web3.provider
    if hasattr(transport, "ethereum_tester") or not hasattr(transport, "make_batch_request"):
        return {n: int(web3.eth.get_block(n)["timestamp"]) for n in numbers}
    out: dict[int, int] = {}
    for i in range(0, len(numbers), BATCH):
        part = list(numbers[i:i + BATCH])
        responses = transport.make_batch_request([("eth_getBlockByNumber", [hex(n), False]) for n in part])
        if not isinstance(responses, list) or len(responses) != len(part):
            raise LookupError(f"eth_getBlockByNumber batch refused: {responses!r:.200}")
        for number, response in zip(part, responses, strict=True):
            block = response.get("result")
            if not block or int(block["number"], 16) != number:
                raise LookupError(f"block {number}: {response.get('error') or 'not found'}")
            out[number] = int(block["timestamp"], 16)
    return out
