"""What one keeper pass saw and did: the transactions it sent and its one-line summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ringfence.keeper.outcome import TxOutcome
from ringfence.keeper.plan import Batches

__all__ = ["SentTx", "SettledTx", "StepReport", "TopUpDone", "TopUpTx", "hex_str"]


@dataclass
class SentTx:
    """One liquidation transaction the keeper sent."""

    txn_hash: str
    block: int
    batches: Batches
    gas_limit: int
    gas_used: int
    attempted: int
    liquidated: int
    outcome: TxOutcome | None = None  # the receipt's liquidation events and gas cost


@dataclass
class SettledTx:
    """One LP request the keeper settled."""

    kind: str  # "deposit" | "redeem"
    pool: str
    controller: str
    txn_hash: str
    block: int
    gas_used: int
    amount: int  # shares minted (deposit) or assets paid (redeem)


@dataclass(frozen=True)
class TopUpDone:
    """One vault a top-up transaction topped up (its ``ToppedUp`` event)."""

    vault: str
    owner: str
    amount: int  # margin added, settlement-token units
    fee: int  # paid to the keeper
    health_after_wad: int
    budget_after: int


@dataclass
class TopUpTx:
    """One ``MarginGuard.topUpBatch`` transaction the keeper sent."""

    txn_hash: str
    block: int
    vaults: list[str]
    gas_limit: int
    gas_used: int
    attempted: int
    done: list[TopUpDone] = field(default_factory=list)
    gas_price: int = 0  # wei per gas

    @property
    def fees(self) -> int:
        return sum(d.fee for d in self.done)

    @property
    def gas_cost(self) -> int:
        """Wei: gas used × effective gas price."""
        return self.gas_used * self.gas_price


@dataclass
class StepReport:
    """What one pass saw and did."""

    block: int = -1
    timestamp: int = 0
    indexed: int = 0
    prices: dict[str, int] = field(default_factory=dict)
    candidates: dict[str, list[str]] = field(default_factory=dict)
    confirmed: dict[str, list[str]] = field(default_factory=dict)
    sent: list[SentTx] = field(default_factory=list)
    not_sent_races: int = 0  # vaults dropped because a simulation showed they were already liquidated
    errors: list[str] = field(default_factory=list)
    skipped: bool = False  # a previous pass was still running
    settled: list[SettledTx] = field(default_factory=list)  # LP requests settled in this pass
    lp_pending: int = 0  # LP requests pending before the pass settled any
    lp_waiting: int = 0  # ready redemptions the free liquidity cannot pay yet (retried next pass)
    rpc_errors: int = 0  # failures that were not a contract's revert (the node, the network)
    reread: int = 0  # positions re-read from the chain (after partial liquidations, or doubted)
    deferred: dict[str, list[str]] = field(default_factory=dict)  # liquidatable, left to their shard
    sync_seconds: float = 0.0  # indexing the new blocks' events and re-reading positions
    decision_seconds: float = 0.0  # from the price reads to the confirmed vaults (the Lens included)
    seconds: float = 0.0  # the whole pass, wall clock
    top_up_seconds: float = 0.0  # the top-up pass, its transactions included
    guarded: bool = False  # the keeper runs the MarginGuard's top-up pass (it knows a guard)
    top_up_candidates: list[str] = field(default_factory=list)  # below their policy's trigger by the index
    top_up_due: list[str] = field(default_factory=list)  # confirmed on chain, fee paying for its gas
    top_up_unprofitable: list[str] = field(default_factory=list)  # fee below the gas of a top-up: skipped
    top_up_quotes: dict[str, tuple[int, int]] = field(default_factory=dict)  # vault -> (amount, fee) quoted
    top_ups: list[TopUpTx] = field(default_factory=list)  # topUpBatch transactions sent

    @property
    def liquidated(self) -> int:
        return sum(tx.liquidated for tx in self.sent)

    @property
    def full(self) -> int:
        return sum(tx.outcome.full for tx in self.sent if tx.outcome is not None)

    @property
    def partial(self) -> int:
        return sum(tx.outcome.partial for tx in self.sent if tx.outcome is not None)

    @property
    def topped_up(self) -> int:
        """Vaults the pass's top-up transactions topped up."""
        return sum(len(tx.done) for tx in self.top_ups)

    @property
    def top_up_fees(self) -> int:
        """Fees the pass's top-ups paid the keeper (settlement-token units, summed over markets)."""
        return sum(tx.fees for tx in self.top_ups)

    @property
    def lost_races(self) -> int:
        """Vaults sent but skipped on chain (someone else liquidated them first) plus those not sent."""
        return self.not_sent_races + sum(tx.attempted - tx.liquidated for tx in self.sent)

    def summary(self) -> str:
        """One line for the pass."""
        if self.skipped:
            return "pass skipped (previous one still running)"
        confirmed = sum(len(v) for v in self.confirmed.values())
        candidates = sum(len(v) for v in self.candidates.values())
        line = (f"block {self.block}: {self.indexed} open vaults in the index, {candidates} candidate(s), "
                f"{confirmed} liquidatable, {len(self.sent)} transaction(s), {self.liquidated} liquidated "
                f"({self.full} full, {self.partial} partial), {self.lost_races} lost to other keepers, "
                f"{len(self.errors)} error(s); {self.reread} position(s) re-read; pass {self.seconds:.3f} s "
                f"(sync {self.sync_seconds:.3f} s, decision {self.decision_seconds:.3f} s)")
        if self.guarded:
            line += (f"; top-ups: {len(self.top_up_candidates)} candidate(s), {len(self.top_up_due)} due, "
                     f"{len(self.top_up_unprofitable)} below gas, {self.topped_up} topped up in "
                     f"{len(self.top_ups)} transaction(s)")
        deferred = sum(len(v) for v in self.deferred.values())
        if deferred:
            line += f"; {deferred} left to their shard's keeper"
        if self.lp_pending or self.settled:
            line += (f"; LP requests: {self.lp_pending} pending, {len(self.settled)} settled"
                     + (f", {self.lp_waiting} waiting for free liquidity" if self.lp_waiting else ""))
        return line


def hex_str(value: Any) -> str:
    """A transaction or block hash as ``0x…`` text."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value)
