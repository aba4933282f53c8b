"""Re-reading many positions of one market in one call: ``Lens.vaults(pool, vaults)`` at a block.

After a round of partial liquidations every partially liquidated vault must be re-read (the
``Liquidated`` event does not carry the position left). ``Lens.vaults`` returns each vault's status,
side, size, entry price, margin and profit cap, and its fees owed at the call's block; it does not
return the fee base, which the index needs. A partial liquidation sets the fee base to the pool's
fee index at that moment (``MarginPool._liquidatePartially``), and the fee index grows linearly
between two parameter changes (``_currentFeeIndex``): so the fee base is the index's fee index at
the liquidation's block time, as long as the market's fee-index reference is not later than that
(no parameter change since). Every view is checked: its fees must be those the model computes with
that fee base at the call's block; a vault that fails the check (or a market whose Lens call
reverts, e.g. on a refused price) is read with ``pool.position(vault)`` instead.

The call is encoded and decoded here with ``eth_abi`` (one ``eth_call`` per ``chunk`` vaults): the
Lens's answer for thousands of vaults decodes in milliseconds this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

from ringfence import model

__all__ = ["VIEW_FIELDS", "LensReader", "position_of"]

VIEW_FIELDS = ("vault", "owner", "status", "isLong", "size", "entryPriceWad", "margin", "maxProfit", "fees",
               "equity", "health", "liquidationPriceWad", "liquidatable")
# The two addresses are decoded as plain words (same layout; no checksumming of thousands of addresses).
_VIEW_TYPE = "(uint256,uint256,uint8,bool,uint256,uint256,uint256,uint256,uint256,int256,uint256,uint256,bool)[]"
_SELECTOR = keccak(text="vaults(address,address[])")[:4]


class LensReader:
    """``Lens.vaults`` through raw ``eth_call`` (``web3`` is the provider's Web3)."""

    def __init__(self, web3: Any, lens: str, *, chunk: int = 250) -> None:
        self.web3 = web3
        self.lens = to_checksum_address(lens)
        self.chunk = chunk

    def views(self, pool: str, vaults: Sequence[str], block: int | str = "latest") -> list[tuple]:
        """Each vault's ``VaultView`` as a tuple in :data:`VIEW_FIELDS` order, in the given order (the
        ``vault`` and ``owner`` fields as integers)."""
        out: list[tuple] = []
        for i in range(0, len(vaults), self.chunk):
            part = list(vaults[i:i + self.chunk])  # checksummed or lower-case hex, as the index holds them
            data = _SELECTOR + encode(["address", "address[]"], [to_checksum_address(pool), part])
            raw = self.web3.eth.call({"to": self.lens, "data": "0x" + data.hex()}, block)
            (views,) = decode([_VIEW_TYPE], bytes(raw))
            if len(views) != len(part):
                raise ValueError(f"Lens.vaults returned {len(views)} views for {len(part)} vaults")
            out.extend(views)
        return out


def position_of(view: tuple, fee_base_wad: int, fee_index_wad: int, scale: int) -> tuple | None:
    """The position (``pool.position`` tuple: size, entry, margin, max profit, fee base, side,
    status) a view shows with ``fee_base_wad``; ``()`` for a vault no longer open; None when the
    view's fees (owed at ``fee_index_wad``) do not match that fee base (read the vault itself)."""
    status, is_long, size, entry, margin, max_profit, fees = view[2:9]
    if int(status) != model.Position.OPEN:
        return ()
    if fee_base_wad > fee_index_wad or model.fees_up(size, entry, fee_index_wad, fee_base_wad, scale) != fees:
        return None
    return (int(size), int(entry), int(margin), int(max_profit), int(fee_base_wad), bool(is_long), int(status))
