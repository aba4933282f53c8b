"""A vault as the trader's commands show it: its state at the oracle price; without a price, what
can be shown without one (margin, size, entry, fees owed, liquidation and bankruptcy prices); closed
by a liquidation, the liquidation and the credit waiting to be claimed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ringfence import model
from ringfence.cli.formatting import fmt_health, fmt_price
from ringfence.cli.view import MarketView, after_sent, price_refusal, warn
from ringfence.errors import RingfenceError, error_class
from ringfence.portfolio import vault_record
from ringfence.sdk import Position
from ringfence.units import from_wad

__all__ = ["report_after_sent", "state_data", "state_lines", "vault_report"]

LEVERAGE_LABEL = "(notional / margin)"


def leverage_text(notional: int, margin: int) -> str:
    """The leverage ``quote`` and ``status`` show: notional at the current price over the margin."""
    return "inf" if margin <= 0 else f"{Decimal(notional) / Decimal(margin):.2f}x {LEVERAGE_LABEL}"


def state_data(state: Any) -> dict[str, Any]:
    """A vault's state (:meth:`ringfence.sdk.Market.state`) as JSON data, integers raw."""
    return {
        "vault": state.address, "owner": state.owner, "status": "open",
        "side": "long" if state.is_long else "short",
        "size_wad": state.size, "entry_price_wad": state.entry_price_wad, "price_wad": state.price_wad,
        "price_unavailable": None,
        "margin": state.margin, "fees": state.fees, "pnl": state.pnl, "equity": state.equity,
        "notional": state.notional,
        "leverage": "inf" if state.margin <= 0 else str(state.leverage.quantize(Decimal("0.0001"))),
        "health_wad": state.health_wad,
        "liquidation_price_wad": state.liquidation_price_wad,
        "bankruptcy_price_wad": state.bankruptcy_price_wad, "liquidatable": state.liquidatable,
    }


def _price_or_none(value: int | None) -> str:
    return fmt_price(value) if value else "none"


def state_lines(view: MarketView, state: Any) -> list[tuple[str, str]]:
    """A vault's state as the lines the trade commands print, in human units."""
    health = fmt_health(state.health_wad)
    return [
        ("owner", state.owner), ("side", "long" if state.is_long else "short"),
        ("size", f"{from_wad(state.size).normalize():f}"), ("entry price", fmt_price(state.entry_price_wad)),
        ("price", fmt_price(state.price_wad)), ("notional", view.amount(state.notional)),
        ("margin", view.amount(state.margin)), ("fees owed", view.amount(state.fees, up=True)),
        ("pnl", view.amount(state.pnl)), ("equity", view.amount(state.equity)),
        ("leverage", leverage_text(state.notional, state.margin)),
        ("health", f"{health} (liquidatable below 1)"),
        ("liquidation price", _price_or_none(state.liquidation_price_wad)),
        ("bankruptcy price", _price_or_none(state.bankruptcy_price_wad)),
        ("liquidatable", "YES" if state.liquidatable else "no"),
    ]


def vault_report(view: MarketView, vault: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """``vault`` as JSON data and lines: its state at the oracle price; without a price, what can be
    shown without one (``price_unavailable`` says why); closed, its liquidation and claimable
    credit (the contract's PositionNotOpen for a vault closed by its owner with nothing to claim)."""
    market = view.market
    try:
        state = market.vault_state(vault)
    except RingfenceError:
        position = market.position(vault)
        if position.status != Position.OPEN:
            return _closed_report(view, vault, position)
        reason = price_refusal(view)
        if reason is None:
            raise
        return _priceless_report(view, vault, position, reason)
    return state_data(state), state_lines(view, state)


def _priceless_report(view: MarketView, vault: str, position: Any,
                      reason: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """An open vault when the oracle refuses the price: everything that does not need one."""
    market = view.market
    fees = int(market.vault(vault).feesOwed())
    snap = market.snapshot()
    scale, mm = snap.price_scale, snap.params.maintenance_margin_wad
    liquidation = model.position_liquidation_price(position, fees, scale, mm)
    bankruptcy = model.bankruptcy_price(position.is_long, position.size, position.entry_price_wad,
                                        position.margin, fees, scale)
    side = "long" if position.is_long else "short"
    data = {
        "vault": vault, "owner": position.owner, "status": "open", "side": side, "size_wad": position.size,
        "entry_price_wad": position.entry_price_wad, "price_wad": None, "price_unavailable": reason,
        "margin": position.margin, "fees": fees, "pnl": None, "equity": None, "notional": None,
        "leverage": None, "health_wad": None, "liquidation_price_wad": liquidation,
        "bankruptcy_price_wad": bankruptcy, "liquidatable": None,
    }
    lines = [
        ("owner", position.owner), ("side", side), ("size", f"{from_wad(position.size).normalize():f}"),
        ("entry price", fmt_price(position.entry_price_wad)), ("price", f"unavailable ({reason})"),
        ("margin", view.amount(position.margin)), ("fees owed", view.amount(fees, up=True)),
        ("pnl, equity, health", "unavailable without a price"),
        ("liquidation price", _price_or_none(liquidation)), ("bankruptcy price", _price_or_none(bankruptcy)),
    ]
    return data, lines


def _closed_report(view: MarketView, vault: str,
                   position: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A vault without an open position: how it ended (closed by its owner: price, PnL, fees, payout;
    liquidated: price, bonus, penalty, credit, bad debt) and the credit left to claim. The contract's
    PositionNotOpen when none of that is found (never opened, or ended before the lookback)."""
    record = vault_record(view.market, vault, None)
    close, liq = record.last_close, record.last_liquidation
    if close is None and liq is None and not record.claimable:
        raise error_class("PositionNotOpen")({"vault": vault})
    data: dict[str, Any] = {"vault": vault, "owner": position.owner, "status": record.status,
                            "claimable": record.claimable, "liquidation": liq, "close": close}
    lines = [("owner", position.owner)]
    if close is not None and (liq is None or close["block"] >= liq["block"]):
        lines.append(("status", f"closed at {fmt_price(close['price_wad'])} (block {close['block']})"))
        lines.append(("close", (f"pnl {view.amount(close['pnl'])}, fees {view.amount(close['fees'], up=True)}, "
                                f"payout {view.amount(close['payout'])}")))
    elif liq is not None:
        at_price = f"at {fmt_price(liq['price_wad'])} (block {liq['block']})"
        lines.append(("status", f"liquidated in full {at_price}" if liq["full"] else
                      f"closed (after a partial liquidation {at_price})"))
    else:
        lines.append(("status", "liquidated in full (no open position)"))
    if liq is not None:
        lines.append(("liquidation", (f"keeper bonus {view.amount(liq['keeper_bonus'])}, penalty "
                                      f"{view.amount(liq['penalty'])}, credit to the owner "
                                      f"{view.amount(liq['owner_credit'])}, bad debt {view.amount(liq['bad_debt'])}")))
    claim = (f"{view.amount(record.claimable)}: run `ringfence claim {vault}` from the owner's account"
             if record.claimable else "nothing")
    lines.append(("claimable", claim))
    return data, lines


def report_after_sent(view: MarketView, vault: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """:func:`vault_report` after a mined transaction: never raises; what cannot be read (the vault,
    or the price) is one warning line."""
    report = after_sent(view, f"the state of vault {vault}", lambda: vault_report(view, vault))
    if report is None:
        return {}, []
    data, lines = report
    if data.get("price_unavailable"):
        warn(f"the transaction went through; the price is unavailable: {data['price_unavailable']}")
    return data, lines
