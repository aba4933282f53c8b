"""A market's figures beyond its snapshot, for wallets and dashboards: the LP share price (marked to
the oracle price) now and 24 hours and 7 days ago (the pool's state at the last block before then:
an ``eth_call`` at that block, which needs a node that keeps that state), the insurance fund's
balance, and the age of the oracle's latest round against its ``maxAge``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ringfence.abi import at
from ringfence.chain.contracts import container
from ringfence.insurance import InsuranceFund

__all__ = ["DAY", "MarketStats", "PastPrice", "block_at", "market_stats", "share_price"]

DAY = 86_400


@dataclass(frozen=True)
class PastPrice:
    """The share price ``seconds`` ago: ``price`` (token units per whole share) at ``block``, or
    ``None`` with ``reason`` (the chain is younger, the pool had no shares, the node has no state)."""

    seconds: int
    price: int | None
    block: int | None
    reason: str | None = None

    def change(self, now: int | None) -> Any:
        """The relative change from then to ``now`` (a Fraction), or ``None``."""
        from fractions import Fraction

        if now is None or not self.price:
            return None
        return Fraction(now - self.price, self.price)


@dataclass(frozen=True)
class MarketStats:
    share_price: int | None  # token units per whole share, marked; None without shares or price
    share_decimals: int
    past: tuple[PastPrice, ...]
    fund: str
    fund_balance: int
    oracle_updated_at: int | None  # the latest accepted round's time; None when the oracle refuses
    oracle_age: int | None
    oracle_max_age: int


def share_price(market: Any, block: int | None = None) -> int | None:
    """What one whole share is worth (``convertToAssets``, marked to the oracle price) at ``block``
    (default: now); ``None`` when the pool has no shares or the price is refused."""
    kwargs: dict[str, Any] = {"skip_trace": True}
    if block is not None:
        kwargs["block_id"] = block
    if int(market.pool.totalSupply(**kwargs)) == 0:
        return None
    one = 10 ** int(market.pool.decimals())
    try:
        return int(market.pool.convertToAssets(one, **kwargs))
    except Exception:  # noqa: BLE001 - the oracle refused the price then (convertToAssets reads it)
        return None


def block_at(timestamp: int) -> int | None:
    """The last block at or before ``timestamp`` (``None``: the chain starts after it)."""
    from ape import chain

    low, high = 0, chain.blocks.height
    if int(chain.blocks[low].timestamp) > timestamp:
        return None
    while low < high:  # invariant: block `low` is at or before timestamp
        mid = (low + high + 1) // 2
        if int(chain.blocks[mid].timestamp) <= timestamp:
            low = mid
        else:
            high = mid - 1
    return low


def _past(market: Any, now: int, seconds: int) -> PastPrice:
    block = block_at(now - seconds)
    if block is None:
        return PastPrice(seconds, None, None, "the chain is younger")
    try:
        price = share_price(market, block)
    except Exception as exc:  # noqa: BLE001 - a node without that block's state (not an archive node)
        detail = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        return PastPrice(seconds, None, block, f"no state at block {block} on this node: {detail}")
    return PastPrice(seconds, price, block, None if price is not None else "no shares or no price then")


def market_stats(market: Any, periods: tuple[int, ...] = (DAY, 7 * DAY)) -> MarketStats:
    """The figures of the module's docstring for ``market`` (a :class:`ringfence.sdk.Market`)."""
    from ape import chain

    from ringfence.errors import RingfenceError

    now = int(chain.blocks.head.timestamp)
    fund = InsuranceFund(market)
    oracle = at(container("ChainlinkOracle"), market.oracle_address)
    try:
        updated: int | None = market.latest_round_time()
    except RingfenceError:
        updated = None
    return MarketStats(
        share_price=share_price(market), share_decimals=int(market.pool.decimals()),
        past=tuple(_past(market, now, s) for s in periods), fund=fund.address, fund_balance=fund.available(),
        oracle_updated_at=updated, oracle_age=None if updated is None else max(0, now - updated),
        oracle_max_age=int(oracle.maxAge()),
    )
