"""What a bench measures: operations, each the ``gasUsed`` of one or more transactions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tx:
    """One transaction of an operation."""

    label: str  # e.g. "openPosition", "supplyCollateral"
    hash: str
    gas_used: int


@dataclass
class Measurement:
    """One operation: its gas is the sum of its transactions' ``gasUsed``, divided by ``per`` (how many
    vaults/liquidations one figure stands for, e.g. 50 for "per vault in a batch of 50")."""

    op: str
    txs: list[Tx]
    per: int = 1
    note: str = ""
    facts: dict[str, Any] = field(default_factory=dict)  # what the events said happened

    @property
    def total(self) -> int:
        return sum(t.gas_used for t in self.txs)

    @property
    def gas(self) -> int:
        return round(self.total / self.per)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["gas"] = self.gas
        d["total"] = self.total
        return d


class Recorder:
    """Collects one protocol's measurements, in the order they were taken."""

    def __init__(self, protocol: str, on_measured: Callable[[Measurement], None] | None = None):
        self.protocol = protocol
        self.measurements: dict[str, Measurement] = {}
        self.on_measured = on_measured

    def add(self, op: str, txs: list[Tx], per: int = 1, note: str = "", **facts: Any) -> Measurement:
        if op in self.measurements:
            raise ValueError(f"{self.protocol}: {op} measured twice")
        m = Measurement(op, txs, per, note, dict(facts))
        self.measurements[op] = m
        if self.on_measured:
            self.on_measured(m)
        return m

    def derive(self, op: str, parts: Sequence[str], note: str = "") -> Measurement:
        """An operation made of operations already measured here, one vault each: all their
        transactions, summed (e.g. "open + close" from the open's and the close's transactions)."""
        missing = [p for p in parts if p not in self.measurements]
        if missing or not parts:
            raise KeyError(f"{self.protocol}: {op} needs {missing or 'parts'} measured first")
        if any(self.measurements[p].per != 1 for p in parts):
            raise ValueError(f"{self.protocol}: {op} would sum a per-vault figure")
        txs = [t for p in parts for t in self.measurements[p].txs]
        return self.add(op, txs, note=note, derived_from=list(parts))

    def gas(self) -> dict[str, int]:
        return {op: m.gas for op, m in self.measurements.items()}


def ape_tx(label: str, receipt: Any) -> Tx:
    """A :class:`Tx` from an Ape receipt."""
    h = receipt.txn_hash
    return Tx(label, h if isinstance(h, str) else "0x" + bytes(h).hex(), int(receipt.gas_used))


def web3_tx(label: str, receipt: Any) -> Tx:
    """A :class:`Tx` from a web3.py receipt."""
    h = receipt["transactionHash"]
    return Tx(label, h if isinstance(h, str) else "0x" + bytes(h).hex().removeprefix("0x"), int(receipt["gasUsed"]))


class StoryError(AssertionError):
    """A bench story did not do what its name says (e.g. a "partial" liquidation closed everything)."""
