"""The liquidators' rules of the market machine: the keeper liquidating one vault or a pool's open
vaults in a batch, and the attacker doing the same for keeper pay (racing the keeper on the oracle round
that crosses a vault's liquidation price). After each liquidation the pools' marks may move only by the
keeper pay the pool added and the bad debt the LPs bear (L4 of docs/design.md)."""

from __future__ import annotations

from eth_abi import decode
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from ringfence.chain.rpc import logs_of
from ringfence.errors import RingfenceError
from ringfence.fuzz.base import PICK, MachineBase
from ringfence.fuzz.calls import BAD_DEBT_COVERED, KEEPER_PAID, LIQUIDATE, LIQUIDATE_BATCH
from ringfence.fuzz.invariants import Snapshot
from ringfence.fuzz.stats import Stats


class KeeperRules(MachineBase):
    @precondition(lambda self: self.vaults)
    @rule(pick=PICK)
    def liquidate_one(self, pick: int) -> None:
        self._liquidate_one(pick, self.world.keeper, "liquidate")

    @rule(market=st.integers(0, 1))
    def liquidate_all(self, market: int) -> None:
        self._liquidate_all(market, self.world.keeper, "liquidate_batch")

    @precondition(lambda self: self.vaults)
    @rule(pick=PICK, batch=st.booleans())
    def attacker_liquidates(self, pick: int, batch: bool) -> None:
        """The attacker as keeper (it may hold LP shares or have requests pending: its keeper pay is
        the one gain L5 adds to its pro-rata share of the mark's changes): a batch over a pool's open
        vaults, or one vault it sees liquidatable, or one it makes liquidatable with the next round."""
        if batch:
            self._liquidate_all(self.vaults[self._pick(pick)][0], self.world.attacker, "attacker_liquidate_batch")
            return
        # it goes for a liquidatable vault when it sees one (the last read); else it races the keeper on
        # the next oracle round that crosses an open vault's liquidation price
        targets = [v for v in self._open_vaults() if v in self.last_rows and self.last_rows[v].liquidatable]
        vaults = list(self.vaults)
        if not targets and self._open_vaults():
            targets = [self._pick(pick, self._open_vaults())]
            self._price_past_liquidation(pick, beyond_bp=0)  # the same vault
        self._liquidate_one(vaults.index(self._pick(pick, targets)) if targets else pick, self.world.attacker,
                            "attacker_liquidate")

    def _liquidate_one(self, pick: int, keeper: str, action: str) -> None:
        vault = self._pick(pick)
        row = self.last_rows.get(vault)
        self.touched |= {vault}
        pre = self._pre()
        try:
            self.receipt = self.world.node.send(keeper, self.world.liquidator, LIQUIDATE(vault))
            Stats.count(action)
        except RingfenceError as exc:
            assert exc.name in {"HealthyPosition", "PositionNotOpen"}, exc
            assert row is None or not (row.status == 1 and row.liquidatable), \
                f"liquidatable {vault} could not be liquidated: {exc}"
            Stats.count(action, exc.name)
            return
        self._liquidated("liquidation", pre, keeper, [self.vaults[vault][0]])

    def _liquidate_all(self, market: int, keeper: str, action: str) -> None:
        pre = self._pre()
        vaults = self._open_vaults(market)
        self.touched |= set(vaults)
        if vaults:
            self.receipt = self.world.node.send(keeper, self.world.liquidator,
                                                LIQUIDATE_BATCH([(self.world.pools[market], vaults)]))
            self._liquidated("batch liquidation", pre, keeper, [market])
        Stats.count(action)

    def _liquidated(self, action: str, pre: Snapshot, keeper: str, markets: list[int]) -> None:
        """After a liquidation sent by ``keeper``: per pool, the mark moved by minus the keeper pay the
        pool added and the bad debt the LPs bear (L4); an LP actor's keeper pay goes to its ledger."""
        receipt = self.receipt or {}
        for market in markets:
            pool = self.world.pools[market]
            from_pool = borne = 0
            for topics, data in logs_of(receipt, pool, KEEPER_PAID):
                from_equity, from_fund, from_pool_here = decode(["uint256"] * 3, data)
                from_pool += from_pool_here
                paid_to = "0x" + topics[1][-20:].hex()
                for ledger in self.ledgers:
                    if ledger.actor.lower() == paid_to:
                        ledger.keeper_pay += from_equity + from_fund + from_pool_here
            for _, data in logs_of(receipt, pool, BAD_DEBT_COVERED):
                borne += decode(["uint256"] * 3, data)[2]
            self._neutral(action, pre, [market], from_pool=from_pool, borne=borne)
