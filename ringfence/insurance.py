"""A market's insurance fund (``InsuranceFund``, one per pool): what it holds, what was paid into it
and what it paid out (its ``Funded`` and ``Covered`` events), and a deposit into it (``fund``:
anyone may; the tokens then cover the pool's bad debt before its LPs bear any)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ringfence.abi import at
from ringfence.chain.contracts import container
from ringfence.errors import contract_errors
from ringfence.progress import approve_when_short, notify, send

__all__ = ["FundHistory", "InsuranceFund"]


@dataclass(frozen=True)
class FundHistory:
    """The fund's events in the searched blocks: deposits (``Funded``) and bad-debt cover
    (``Covered``: requested and paid), and the penalties it received are in its balance only."""

    funded: int
    funded_count: int
    covered_requested: int
    covered_paid: int
    covered_count: int
    from_block: int


class InsuranceFund:
    """The insurance fund of ``market`` (a :class:`ringfence.sdk.Market`)."""

    def __init__(self, market: Any):
        self.market = market
        self.address = str(market.pool.insuranceFund())
        self.contract = at(container("InsuranceFund"), self.address)

    def available(self) -> int:
        """What the fund holds (settlement-token units): what it can pay now."""
        return int(self.contract.available())

    def history(self, lookback: int) -> FundHistory:
        """The fund's ``Funded`` and ``Covered`` events in the last ``lookback`` blocks."""
        from ape import chain

        head = chain.blocks.height
        start = max(0, head - lookback)
        funded = list(self.contract.Funded.range(start, head + 1))
        covered = list(self.contract.Covered.range(start, head + 1))
        return FundHistory(
            funded=sum(int(e.amount) for e in funded), funded_count=len(funded),
            covered_requested=sum(int(e.requested) for e in covered),
            covered_paid=sum(int(e.paid) for e in covered), covered_count=len(covered), from_block=start,
        )

    def check_deposit(self, funder: Any, amount: int) -> None:
        """``fund(amount)`` as an ``eth_call`` from ``funder`` (it needs the allowance: call it after
        :meth:`approve`)."""
        notify("simulating", "fund")
        with contract_errors():
            self.contract.fund.call(amount, sender=funder, skip_trace=True)

    def approve(self, funder: Any, amount: int) -> None:
        """Lets the fund pull exactly ``amount`` of ``funder``'s tokens (when the allowance is short)."""
        with contract_errors():
            approve_when_short(self.market.token(), funder, self.address, amount,
                               asset=self.market.asset_address)

    def deposit(self, funder: Any, amount: int) -> Any:
        """Pays ``amount`` into the fund (approving it exactly first); returns the receipt."""
        self.approve(funder, amount)
        with contract_errors():
            return send("fund", self.contract.fund, amount, sender=funder)
