"""The per-step read of the fuzzer: one ``eth_call`` to the test-only FuzzReader contract, decoded with
eth_abi into the :mod:`ringfence.fuzz.invariants` snapshot plus the liquidation dry runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode

from ringfence import model
from ringfence.fuzz.invariants import MarketRow, Snapshot, VaultRow
from ringfence.fuzz.rpc import Fn, Node

QUERY = "(address,address,address,address,bool,address[],address[],address[][])"
POOL_ROW = "(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,bool,bool,uint256,bytes)"
VAULT_ROW = "(uint8,bool,uint256,uint256,uint256,uint256,uint256,bool,bool,bool,bytes)"
SNAPSHOT = f"(uint256[],{POOL_ROW}[],{VAULT_ROW}[][])"
READ = Fn("read", [QUERY], [SNAPSHOT])


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
    """Reads one deployed FuzzReader for a fixed token, holders, pools, LP, Lens and Liquidator."""

    def __init__(self, node: Node, reader: str, *, token: str, lens: str, liquidator: str, lp: str,
                 holders: list[str], pools: list[str], scales: list[int]):
        self.node = node
        self.address = reader
        self.token, self.lens, self.liquidator, self.lp = token, lens, liquidator, lp
        self.holders = list(holders)
        self.pools = list(pools)
        self.scales = list(scales)
        self._calldata: dict[tuple[Any, ...], bytes] = {}

    def read(self, vaults: list[list[str]], probe: bool = True) -> tuple[Snapshot, Probes]:
        """The snapshot of every holder, pool and (per pool) vault; with ``probe``, the dry runs too."""
        key = (tuple(map(tuple, vaults)), probe)
        data = self._calldata.get(key)
        if data is None:
            data = READ((self.token, self.lens, self.liquidator, self.lp, probe, self.holders, self.pools, vaults))
            if len(self._calldata) > 4096:
                self._calldata.clear()
            self._calldata[key] = data
        raw = self.node.call(self.address, data)
        (balances, pool_rows, vault_rows), = decode(READ.returns, raw)
        holder_balances = dict(zip(self.holders, balances))
        markets: list[MarketRow] = []
        batches: list[BatchProbe] = []
        for p in pool_rows:
            markets.append(MarketRow(
                balance=p[0], total_assets=p[1], total_claimable=p[2], reserved=p[3],
                open_interest=((p[4], p[5]), (p[6], p[7])), max_withdraw_lp=p[8], free_liquidity=p[9],
            ))
            batches.append(BatchProbe(probed=p[10], reverted=p[11], liquidated=p[12], error=p[13]))
        rows: dict[str, VaultRow] = {}
        single: dict[str, bool] = {}
        single_error: dict[str, bytes] = {}
        for i, (addresses, market_rows) in enumerate(zip(vaults, vault_rows)):
            for address, r in zip(addresses, market_rows):
                status, is_long, size, entry, margin, max_profit, balance, liquidatable, probed, ok, error = r
                rows[address] = VaultRow(
                    vault=address, market=i, status=status, is_long=is_long, size=size,
                    entry_notional=model.notional_up(size, entry, self.scales[i]),
                    margin=margin, max_profit=max_profit, balance=balance, liquidatable=liquidatable,
                )
                if probed:
                    single[address] = ok
                    if not ok:
                        single_error[address] = error
        return Snapshot(holder_balances, rows, markets), Probes(single, single_error, batches)
