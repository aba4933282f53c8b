"""What a liquidation transaction did, from its receipt's events: per vault ``Liquidated`` (full or
partial, the keeper's bonus, bad debt), per pool ``KeeperPaid`` (the bonus's sources: the vault's
equity, the insurance fund, the LPs) and ``BadDebtCovered`` (the fund's and the LPs' share of a
shortfall), and the gas paid in the native token."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PoolOutcome", "TxOutcome", "VaultOutcome", "decode_outcome", "fmt_units"]


@dataclass(frozen=True)
class VaultOutcome:
    """One ``Liquidated`` event."""

    pool: str
    vault: str
    full: bool
    bonus: int  # settlement-token units
    bad_debt: int


@dataclass
class PoolOutcome:
    """One pool's sums over a transaction (settlement-token units)."""

    bonus: int = 0
    full: int = 0
    partial: int = 0
    from_equity: int = 0
    from_fund: int = 0  # the keeper's bonus paid by the insurance fund
    from_pool: int = 0  # the keeper's bonus paid by the LPs' free liquidity
    bad_debt: int = 0
    covered_by_fund: int = 0  # bad debt the insurance fund paid
    borne_by_lps: int = 0

    @property
    def fund_used(self) -> int:
        """What the insurance fund paid in the transaction (bonus top-up and bad debt)."""
        return self.from_fund + self.covered_by_fund


@dataclass
class TxOutcome:
    """A receipt's liquidation events and its gas cost."""

    vaults: list[VaultOutcome] = field(default_factory=list)
    pools: dict[str, PoolOutcome] = field(default_factory=dict)
    gas_price: int = 0  # wei per gas
    gas_cost: int = 0  # wei: gas used × effective gas price

    @property
    def full(self) -> int:
        return sum(1 for v in self.vaults if v.full)

    @property
    def partial(self) -> int:
        return sum(1 for v in self.vaults if not v.full)


def _same_pool(log: Any, pools: Iterable[str]) -> str | None:
    address = str(log.contract_address).lower()
    return next((p for p in pools if p.lower() == address), None)


def decode_outcome(receipt: Any, pool_events: dict[str, Any], pools: Iterable[str]) -> TxOutcome:
    """The outcome of ``receipt``; ``pool_events`` maps ``Liquidated``, ``KeeperPaid`` and
    ``BadDebtCovered`` to their event ABIs; only logs of ``pools`` count."""
    pools = list(pools)
    gas_price = int(getattr(receipt, "gas_price", 0) or 0)
    out = TxOutcome(gas_price=gas_price, gas_cost=int(receipt.gas_used) * gas_price)
    names = ("Liquidated", "KeeperPaid", "BadDebtCovered")
    for log in receipt.decode_logs([pool_events[n] for n in names]):
        pool = _same_pool(log, pools)
        if pool is None:
            continue
        sums = out.pools.setdefault(pool, PoolOutcome())
        args = log.event_arguments
        if log.event_name == "Liquidated":
            vault = VaultOutcome(pool=pool, vault=str(args["vault"]), full=bool(args["full"]),
                                 bonus=int(args["keeperBonus"]), bad_debt=int(args["badDebt"]))
            out.vaults.append(vault)
            sums.bonus += vault.bonus
            sums.bad_debt += vault.bad_debt
            if vault.full:
                sums.full += 1
            else:
                sums.partial += 1
        elif log.event_name == "KeeperPaid":
            sums.from_equity += int(args["fromEquity"])
            sums.from_fund += int(args["fromFund"])
            sums.from_pool += int(args["fromPool"])
        else:
            sums.covered_by_fund += int(args["coveredByFund"])
            sums.borne_by_lps += int(args["borneByLps"])
    return out


def fmt_units(amount: int, decimals: int) -> str:
    """``amount`` base units of a token with ``decimals`` decimals, as text (``1234567, 6`` -> ``1.234567``)."""
    if decimals <= 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**decimals)
    return f"{sign}{whole:,}.{frac:0{decimals}d}"
