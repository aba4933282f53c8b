"""``ringfence fund``: a market's insurance fund, what it holds and has paid (``fund show``), and a
deposit into it (``fund deposit``: anyone may; it covers the pool's bad debt before the LPs)."""

from __future__ import annotations

from typing import Any

import click

from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.arguments import parse_amount
from ringfence.cli.errors import redecode
from ringfence.cli.formatting import emit
from ringfence.cli.view import MarketView, after_sent, ensure_balance
from ringfence.errors import RingfenceError
from ringfence.insurance import InsuranceFund
from ringfence.portfolio import LOOKBACK

__all__ = ["deposit", "fund", "show"]


@main.group()
def fund() -> None:
    """A market's insurance fund: it pays the pool's bad debt before the LPs bear any."""


def _fund_state(view: MarketView, insurance: InsuranceFund) -> dict[str, Any]:
    history = insurance.history(LOOKBACK)
    return {"fund": insurance.address, "pool": view.market.address, "available": insurance.available(),
            "funded": history.funded, "funded_count": history.funded_count,
            "covered_requested": history.covered_requested, "covered_paid": history.covered_paid,
            "covered_count": history.covered_count, "from_block": history.from_block}


def _fund_lines(view: MarketView, s: dict[str, Any]) -> list[tuple[str, str]]:
    if not s:
        return []
    since = f"since block {s['from_block']:,}"
    return [
        ("fund", s["fund"]), ("available", f"{view.amount(s['available'])} (pays bad debt before the LPs)"),
        ("deposits", f"{view.amount(s['funded'])} in {s['funded_count']} deposit(s) {since}"),
        ("bad debt covered", (f"{view.amount(s['covered_paid'])} paid of {view.amount(s['covered_requested'])} "
                              f"asked, {s['covered_count']} time(s) {since}")),
    ]


@fund.command()
@common_options
@connected
def show(session: Session, as_json: bool) -> None:
    """The fund's balance, the deposits into it and the bad debt it covered."""
    market_id, market = session.market()
    view = MarketView(market)
    with view.guard():
        state = _fund_state(view, InsuranceFund(market))
    emit(as_json, {"market": market_id, **state}, [("market", market_id), *_fund_lines(view, state)])


@fund.command()
@click.option("--amount", required=True, help="Settlement tokens to pay into the fund, e.g. 1000")
@common_options
@connected
def deposit(session: Session, as_json: bool, amount: str) -> None:
    """Pay settlement tokens into the market's insurance fund (a gift: nothing is returned)."""
    market_id, market = session.market()
    view = MarketView(market)
    funder = session.account
    units = parse_amount(amount, view.decimals, "--amount")
    insurance = InsuranceFund(market)
    with view.guard():
        ensure_balance(view, funder, units)
        try:
            insurance.check_deposit(funder, units)
        except RingfenceError as exc:  # before the exact approval, the allowance error is expected
            error = redecode(exc)
            if "Allowance" not in error.name and "allowance" not in str(error.message):
                raise error from exc
        before = insurance.available()
        insurance.deposit(funder, units)
    state = after_sent(view, "the fund", lambda: _fund_state(view, insurance)) or {}
    data = {"market": market_id, "deposited": units, "available_before": before, **state}
    emit(as_json, data, [("market", market_id), ("deposited", view.amount(units)),
                         ("available before", view.amount(before)), *_fund_lines(view, state)])
