"""The per-step read of the fuzzer: one ``eth_call`` to the test-only FuzzReader contract, decoded with
eth_abi into the :mod:`ringfence.fuzz.invariants` snapshot plus the liquidation dry runs. Also usable
on its own (tests/integration/test_lp_marking.py reads a pool's books with it in one call)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ringfence import model
from ringfence.chain.rpc import Fn, Node
from ringfence.fuzz.invariants import LpRow, MarketRow, Snapshot, VaultRow

QUERY = "(address,address,address,address[],bool,address[],address[],address[][])"
LP_ROW = "(uint256,uint256,uint256,uint256,uint256,uint256,uint256)"
POOL_ROW = ("(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,"
            f"bool,uint256,bool,uint256,{LP_ROW}[],bool,bool,uint256,bytes)")
VAULT_ROW = "(uint8,bool,uint256,uint256,uint256,uint256,uint256,uint256,bool,bool,bool,bytes)"
SNAPSHOT = f"(uint256,uint256[],{POOL_ROW}[],{VAULT_ROW}[][])"
READ = Fn("read", [QUERY], [SNAPSHOT])


def decode_snapshot(raw: bytes) -> tuple[Any, ...]:
    """``read``'s return data, decoded as ``eth_abi.decode(READ.returns, raw)[0]`` would (tuples, with bools
    and bytes), by walking the ABI layout directly: eth_abi's generic decoder took a third of the fuzzer's
    time on this one call. ``tests/stateful`` checks that both decoders agree on real reads."""
    def word(at: int) -> int:
        return int.from_bytes(raw[at:at + 32], "big")

    def words(at: int, n: int) -> list[int]:
        return [int.from_bytes(raw[i:i + 32], "big") for i in range(at, at + 32 * n, 32)]

    def dynamic_bytes(at: int) -> bytes:
        return bytes(raw[at + 32:at + 32 + word(at)])

    def offsets(at: int) -> list[int]:  # a dynamic array of dynamic items: their starts
        n = word(at)
        return [at + 32 + o for o in words(at + 32, n)]

    top = word(0)  # the returned tuple is dynamic: an offset to it
    timestamp = word(top)
    at = top + word(top + 32)
    balances = tuple(words(at + 32, word(at)))
    pools = []
    for row in offsets(top + word(top + 64)):
        head = words(row, 22)
        lps_at = row + head[17]
        lps = tuple(tuple(words(lps_at + 32 + 224 * k, 7)) for k in range(word(lps_at)))
        pools.append((*head[:13], bool(head[13]), head[14], bool(head[15]), head[16], lps,
                      bool(head[18]), bool(head[19]), head[20], dynamic_bytes(row + head[21])))
    vaults = []
    for market in offsets(top + word(top + 96)):
        rows = []
        for row in offsets(market):
            h = words(row, 12)
            rows.append((h[0], bool(h[1]), *h[2:8], bool(h[8]), bool(h[9]), bool(h[10]), dynamic_bytes(row + h[11])))
        vaults.append(tuple(rows))
    return timestamp, balances, tuple(pools), tuple(vaults)


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
            (balance, liquidity, claimable, pending, reserved, long_size, long_notional, short_size, short_notional,
             free, supply, escrowed, fee_index, priced, price, marked, total_assets, lps,
             batch_probed, batch_reverted, batch_liquidated, batch_error) = p
            markets.append(MarketRow(
                balance=balance, liquidity=liquidity, total_claimable=claimable, pending_deposits=pending,
                reserved=reserved, open_interest=((long_size, long_notional), (short_size, short_notional)),
                free_liquidity=free, total_supply=supply, escrowed=escrowed, fee_index=fee_index,
                price=price if priced else None, total_assets=total_assets if marked else None,
                lps=tuple(LpRow(*row) for row in lps),
            ))
            batches.append(BatchProbe(probed=batch_probed, reverted=batch_reverted, liquidated=batch_liquidated,
                                      error=batch_error))
        rows: dict[str, VaultRow] = {}
        single: dict[str, bool] = {}
        single_error: dict[str, bytes] = {}
        for i, (addresses, market_rows) in enumerate(zip(vaults, vault_rows)):
            for address, r in zip(addresses, market_rows):
                (status, is_long, size, entry, margin, max_profit, fee_base, balance, liquidatable, probed, ok,
                 error) = r
                rows[address] = VaultRow(
                    vault=address, market=i, status=status, is_long=is_long, size=size,
                    entry_notional=model.notional_up(size, entry, self.scales[i]),
                    margin=margin, max_profit=max_profit, balance=balance, liquidatable=liquidatable,
                    entry_price=entry, fee_base=fee_base,
                )
                if probed:
                    single[address] = ok
                    if not ok:
                        single_error[address] = error
        return Snapshot(holder_balances, rows, markets, timestamp), Probes(single, single_error, batches)
