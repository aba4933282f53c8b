"""The per-step read of the fuzzer: one ``eth_call`` to the test-only FuzzReader contract, decoded into
the :mod:`ringfence.fuzz.invariants` snapshot plus the liquidation dry runs. Also usable on its own
(tests/integration/test_lp_marking.py reads a pool's books with it in one call).

The call's types and the rows' fields come from FuzzReader's ABI (:mod:`ringfence.chain.contracts`):
a row is a named tuple whose fields are the Solidity struct's."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from ringfence import model
from ringfence.chain.contracts import canonical_type, fn, method
from ringfence.chain.rpc import Node
from ringfence.fuzz.invariants import LpRow, MarketRow, Snapshot, VaultRow

READ = fn("FuzzReader", "read")

Row = Callable[[bytes, int], Any]  # decodes the tuple that starts at an offset of the return data


def _word(raw: bytes, at: int) -> int:
    return int.from_bytes(raw[at:at + 32], "big")


def _words(raw: bytes, at: int, n: int) -> list[int]:
    return [int.from_bytes(raw[i:i + 32], "big") for i in range(at, at + 32 * n, 32)]


def _row_decoder(param: Any) -> Row:
    """A decoder of the struct ``param`` (an ABI tuple) as it sits in the return data: its head of one
    word per field (kept as is for the unsigned integers), the dynamic fields (``bytes``, arrays of
    structs of unsigned integers) after it."""
    kinds: dict[str, list[int]] = {"bool": [], "int": [], "address": [], "bytes": [], "string": []}
    arrays: list[tuple[int, Any]] = []
    for i, component in enumerate(param.components):
        kind = component.type
        if kind.startswith("uint"):
            continue
        if kind in kinds:
            kinds[kind].append(i)
        elif kind.startswith("int"):
            kinds["int"].append(i)
        elif kind == "tuple[]" and all(c.type.startswith("uint") for c in component.components):
            arrays.append((i, _row_type(component)))
        else:
            raise NotImplementedError(f"FuzzReader row field {component.name}: {canonical_type(component)} "
                                      f"(the fast decoder reads words, bools, bytes and arrays of uint structs)")
    row_type = _row_type(param)
    n = len(param.components)
    bools, ints, addresses = kinds["bool"], kinds["int"], kinds["address"]
    dynamic = [(i, False) for i in kinds["bytes"]] + [(i, True) for i in kinds["string"]]

    def decode(raw: bytes, at: int) -> Any:
        values: list[Any] = _words(raw, at, n)
        for i, item in arrays:
            start = at + values[i]
            k = len(item._fields)
            values[i] = tuple(item._make(_words(raw, start + 32 + 32 * k * j, k)) for j in range(_word(raw, start)))
        for i, text in dynamic:
            start = at + values[i]
            data = bytes(raw[start + 32:start + 32 + _word(raw, start)])
            values[i] = data.decode() if text else data
        for i in bools:
            values[i] = bool(values[i])
        for i in ints:
            values[i] = values[i] - (1 << 256) if values[i] >> 255 else values[i]
        for i in addresses:
            values[i] = to_checksum_address(values[i].to_bytes(32, "big")[12:])
        return row_type._make(values)

    return decode


def _row_type(param: Any) -> Any:
    name = param.internal_type.split(".")[-1].split()[-1].rstrip("[]") if param.internal_type else "Row"
    return namedtuple(name, [str(c.name) for c in param.components])


def _snapshot_decoders() -> tuple[Row, Row]:
    """The PoolRow and VaultRow decoders, from ``read``'s return type (checked to be the
    ``(uint256, uint256[], PoolRow[], VaultRow[][])`` that :func:`decode_snapshot` walks)."""
    snapshot = method("FuzzReader", "read").outputs[0]
    shape = [c.type for c in snapshot.components]
    if shape != ["uint256", "uint256[]", "tuple[]", "tuple[][]"]:
        raise NotImplementedError(f"FuzzReader.read returns {snapshot.canonical_type}: decode_snapshot "
                                  f"walks (uint256, uint256[], PoolRow[], VaultRow[][])")
    return _row_decoder(snapshot.components[2]), _row_decoder(snapshot.components[3])


_POOL_ROW, _VAULT_ROW = _snapshot_decoders()


def decode_snapshot(raw: bytes) -> tuple[Any, ...]:
    """``read``'s return data, decoded as ``eth_abi.decode(READ.returns, raw)[0]`` would (tuples, with
    bools and bytes; the rows are named tuples), by walking the ABI layout directly: eth_abi's generic
    decoder took a third of the fuzzer's time on this one call. ``tests/stateful`` checks that both
    decoders agree on real reads."""
    def offsets(at: int) -> list[int]:  # a dynamic array of dynamic items: their starts
        n = _word(raw, at)
        return [at + 32 + o for o in _words(raw, at + 32, n)]

    top = _word(raw, 0)  # the returned tuple is dynamic: an offset to it
    timestamp = _word(raw, top)
    at = top + _word(raw, top + 32)
    balances = tuple(_words(raw, at + 32, _word(raw, at)))
    pools = tuple(_POOL_ROW(raw, row) for row in offsets(top + _word(raw, top + 64)))
    vaults = tuple(tuple(_VAULT_ROW(raw, row) for row in offsets(market))
                   for market in offsets(top + _word(raw, top + 96)))
    return timestamp, balances, pools, vaults


@dataclass(frozen=True)
class BatchProbe:
    """A dry run of one Liquidator.liquidateBatch over a pool's liquidatable vaults."""

    probed: bool
    reverted: bool
    liquidated: int
    error: bytes


@dataclass(frozen=True)
class Probes:
    """The liquidation dry runs of one read: per open vault alone, per pool as one batch."""

    single: dict[str, bool]  # open vault -> Liquidator.liquidate(vault) would succeed
    single_error: dict[str, bytes]  # open vault -> revert data when it would not
    batches: list[BatchProbe]


class Reader:
    """Reads one deployed FuzzReader for a fixed token, holders, pools, LP actors, Lens and Liquidator."""

    def __init__(self, node: Node, reader: str, *, token: str, lens: str, liquidator: str, lps: list[str],
                 holders: list[str], pools: list[str], scales: list[int]):
        self.node = node
        self.address = reader
        self.token, self.lens, self.liquidator, self.lps = token, lens, liquidator, list(lps)
        self.holders = list(holders)
        self.pools = list(pools)
        self.scales = list(scales)
        self._calldata: dict[tuple[Any, ...], bytes] = {}

    def read(self, vaults: list[list[str]], probe: bool = True) -> tuple[Snapshot, Probes]:
        """The snapshot of every holder, pool and (per pool) vault; with ``probe``, the dry runs too."""
        key = (tuple(map(tuple, vaults)), probe)
        data = self._calldata.get(key)
        if data is None:
            data = READ((self.token, self.lens, self.liquidator, self.lps, probe, self.holders, self.pools, vaults))
            if len(self._calldata) > 4096:
                self._calldata.clear()
            self._calldata[key] = data
        raw = self.node.call(self.address, data)
        timestamp, balances, pool_rows, vault_rows = decode_snapshot(raw)
        holder_balances = dict(zip(self.holders, balances))
        markets: list[MarketRow] = []
        batches: list[BatchProbe] = []
        for p in pool_rows:
            markets.append(MarketRow(
                balance=p.balance, liquidity=p.liquidity, total_claimable=p.totalClaimable,
                pending_deposits=p.pendingDeposits, reserved=p.reserved,
                open_interest=((p.longSize, p.longNotional), (p.shortSize, p.shortNotional)),
                free_liquidity=p.freeLiquidity, total_supply=p.totalSupply, escrowed=p.escrowed,
                fee_index=p.feeIndex, price=p.priceWad if p.priced else None,
                total_assets=p.totalAssets if p.marked else None, lps=tuple(LpRow(*row) for row in p.lps),
            ))
            batches.append(BatchProbe(probed=p.batchProbed, reverted=p.batchReverted,
                                      liquidated=p.batchLiquidated, error=p.batchError))
        rows: dict[str, VaultRow] = {}
        single: dict[str, bool] = {}
        single_error: dict[str, bytes] = {}
        for i, (addresses, market_rows) in enumerate(zip(vaults, vault_rows)):
            for address, r in zip(addresses, market_rows):
                rows[address] = VaultRow(
                    vault=address, market=i, status=r.status, is_long=r.isLong, size=r.size,
                    entry_notional=model.notional_up(r.size, r.entryPriceWad, self.scales[i]),
                    margin=r.margin, max_profit=r.maxProfit, balance=r.balance, liquidatable=r.liquidatable,
                    entry_price_wad=r.entryPriceWad, fee_base_wad=r.feeBaseWad,
                )
                if r.probed:
                    single[address] = r.liquidated
                    if not r.liquidated:
                        single_error[address] = r.probeError
        return Snapshot(holder_balances, rows, markets, timestamp), Probes(single, single_error, batches)
