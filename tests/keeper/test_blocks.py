"""Block timestamps read in one batch (ringfence/keeper/blocks.py) are the chain's, and a keeper whose
node refuses the batch dates its events by reading the blocks one by one, to the same result."""

from __future__ import annotations

from ringfence.keeper.blocks import block_times
from tests.conftest import USDC, advance_to


def test_block_times_are_the_chain_s(chain, owner, usdc):
    for _ in range(3):
        advance_to(chain, chain.blocks.head.timestamp + 7)
        usdc.mint(owner, 1, sender=owner)
    head = int(chain.blocks.head.number)
    numbers = list(range(max(0, head - 6), head + 1))
    times = block_times(chain.provider, numbers)
    assert times == {n: int(chain.blocks[n].timestamp) for n in numbers}
    assert len(set(times.values())) > 3


def test_a_refused_batch_leaves_the_keeper_reading_blocks_one_by_one(chain, market, alice, bob, make_keeper,
                                                                      monkeypatch):
    requested = {}
    for who in (alice, bob):
        advance_to(chain, chain.blocks.head.timestamp + 13)
        market.request_deposit(who, 1_000 * USDC)
        requested[who.address] = int(chain.blocks.head.timestamp)
    good = make_keeper()
    good.sync()
    refused: list[list[int]] = []

    def refuse(provider, numbers):
        refused.append(list(numbers))
        raise ConnectionError("batch requests are not allowed")

    monkeypatch.setattr("ringfence.keeper.keeper.block_times", refuse)
    bad = make_keeper()
    bad.sync()
    assert refused and all(len(numbers) > 1 for numbers in refused)
    for bot in (good, bad):
        times = {r.controller: r.time for r in bot.index.pending_requests(market.pool.address)}
        assert times == requested
