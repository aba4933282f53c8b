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

One ``eth_call`` per ``chunk`` vaults (sent ``batch`` calls to a JSON-RPC batch), its calldata written (:func:`encode_call`) and its answer, an
array of static structs, read (:func:`decode_views`) word by word: eth_abi takes ~25 µs a vault to
encode and ~0.1 ms a view to decode, i.e. about a second for the thousands of vaults a mass partial
liquidation leaves (``tests/keeper/test_reread.py`` checks both against eth_abi).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from ringfence import model
from ringfence.chain.rpc import RpcError, batched, in_process

__all__ = ["VIEW_FIELDS", "LensReader", "decode_views", "encode_call", "position_of"]

VIEW_FIELDS = ("vault", "owner", "status", "isLong", "size", "entryPriceWad", "margin", "maxProfit", "fees",
               "equity", "health", "liquidationPriceWad", "liquidatable")
# The two addresses are decoded as plain words (same layout; no checksumming of thousands of addresses).
_VIEW_TYPE = "(uint256,uint256,uint8,bool,uint256,uint256,uint256,uint256,uint256,int256,uint256,uint256,bool)[]"
_SELECTOR = keccak(text="vaults(address,address[])")[:4]
_WORDS = len(VIEW_FIELDS)  # a VaultView is static: one word a field
_BOOLS = (VIEW_FIELDS.index("isLong"), VIEW_FIELDS.index("liquidatable"))
_EQUITY = VIEW_FIELDS.index("equity")  # the one signed field
_STATUS = VIEW_FIELDS.index("status")  # uint8


def decode_views(raw: bytes) -> list[tuple]:
    """``Lens.vaults``' answer as eth_abi decodes it (a tuple per view, booleans as ``bool``), read
    word by word: the array's offset (32), its length, then 13 words a view. An answer of any other
    shape, or with a value out of its type's range, goes through eth_abi (which says what is wrong)."""
    if len(raw) >= 64 and int.from_bytes(raw[:32], "big") == 32:
        count = int.from_bytes(raw[32:64], "big")
        if len(raw) == 64 + 32 * _WORDS * count:
            words = [int.from_bytes(raw[i:i + 32], "big") for i in range(64, len(raw), 32)]
            views: list[tuple] = []
            for k in range(0, len(words), _WORDS):
                view: list[Any] = words[k:k + _WORDS]
                if any(view[i] > 1 for i in _BOOLS) or view[_STATUS] > 0xFF:
                    break
                for i in _BOOLS:
                    view[i] = view[i] == 1
                if view[_EQUITY] >> 255:
                    view[_EQUITY] -= 1 << 256
                views.append(tuple(view))
            else:
                return views
    (decoded,) = decode([_VIEW_TYPE], raw)
    return list(decoded)


def encode_call(pool: str, vaults: Sequence[str]) -> bytes:
    """The calldata of ``Lens.vaults(pool, vaults)``, as ``eth_abi.encode`` gives it, written word by word
    (eth_abi validates each address: ~25 µs a vault)."""
    words = [_address_word(pool), (64).to_bytes(32, "big"), len(vaults).to_bytes(32, "big")]
    words.extend(_address_word(v) for v in vaults)
    return _SELECTOR + b"".join(words)


def _address_word(address: str) -> bytes:
    raw = bytes.fromhex(address[2:] if address[:2] in ("0x", "0X") else address)
    if len(raw) != 20:
        raise ValueError(f"not an address: {address!r}")
    return bytes(12) + raw


class LensReader:
    """``Lens.vaults`` through raw ``eth_call`` (``web3`` is the provider's Web3)."""

    def __init__(self, web3: Any, lens: str, *, chunk: int = 250, batch: int = 16) -> None:
        self.web3 = web3
        self.lens = to_checksum_address(lens)
        self.chunk = chunk
        self.batch = batch  # calls per batch request: 4,000 views, ~3 MB (geth takes 25 MB, 1,000 calls)

    def views(self, pool: str, vaults: Sequence[str], block: int | str = "latest") -> list[tuple]:
        """Each vault's ``VaultView`` as a tuple in :data:`VIEW_FIELDS` order, in the given order (the
        ``vault`` and ``owner`` fields as integers)."""
        parts = [list(vaults[i:i + self.chunk]) for i in range(0, len(vaults), self.chunk)]
        out: list[tuple] = []
        for part, raw in zip(parts, self._calls([encode_call(pool, part) for part in parts], block), strict=True):
            views = decode_views(raw)
            if len(views) != len(part):
                raise ValueError(f"Lens.vaults returned {len(views)} views for {len(part)} vaults")
            out.extend(views)
        return out

    def _calls(self, calldata: list[bytes], block: int | str) -> list[bytes]:
        """The Lens's answers to ``calldata`` at ``block``: raw JSON-RPC on a node, ``batch`` calls a
        batch request (web3's ``eth.call`` adds its middleware and a ``chain_id`` request or two to each
        call, and a request per chunk its round trip); web3's API on the embedded chain."""
        if in_process(self.web3):
            return [bytes(self.web3.eth.call({"to": self.lens, "data": "0x" + data.hex()}, block)) for data in calldata]
        tag = hex(block) if isinstance(block, int) else block
        requests = [("eth_call", [{"to": self.lens, "data": "0x" + data.hex()}, tag]) for data in calldata]
        out = []
        for answer in batched(self.web3.provider, requests, self.batch):
            if "error" in answer:
                raise RpcError("eth_call", answer["error"])
            out.append(bytes.fromhex(str(answer["result"])[2:]))
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
