"""The trader's commands: ``quote``, ``open``, ``status``, ``add-margin``, ``remove-margin``,
``close`` and ``claim``. Each checks with the reference model, the balances and a simulation
before it sends anything."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import click

from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.arguments import parse_amount, parse_price, parse_size
from ringfence.cli.errors import CliError
from ringfence.cli.formatting import emit, fmt_price
from ringfence.cli.view import MarketView, approve_exact, check, ensure_balance
from ringfence.errors import error_class
from ringfence.sdk import Position
from ringfence.units import UnitError, from_wad, parse_ratio

__all__ = ["add_margin", "claim", "close", "open_", "quote", "remove_margin", "status"]


def _side_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--long/--short``, required."""
    return click.option("--long/--short", "is_long", required=True, default=None,
                        help="The side of the position")(f)


def _quote_data(q: Any) -> dict[str, Any]:
    """A quote (:meth:`ringfence.sdk.Market.quote`) as JSON data."""
    return {
        "side": "long" if q.is_long else "short", "size_wad": q.size, "price_wad": q.price_wad,
        "margin": q.margin, "notional": q.notional, "open_fee": q.open_fee,
        "margin_required": q.margin_required, "leverage": str(q.leverage), "max_profit": q.max_profit,
        "liquidation_price_wad": q.liquidation_price_wad, "bankruptcy_price_wad": q.bankruptcy_price_wad,
    }


def _quote_lines(view: MarketView, q: dict[str, Any]) -> list[tuple[str, str]]:
    """The lines ``quote`` prints for :func:`_quote`'s result."""
    def price(value: int) -> str:
        return fmt_price(value) if value else "none"

    return [
        ("side", q["side"]), ("size", f"{from_wad(q['size_wad']).normalize():f}"),
        ("price", fmt_price(q["price_wad"])), ("notional", view.amount(q["notional"])),
        ("margin", view.amount(q["margin"])), ("leverage", f"{q['leverage']}x"),
        ("open fee", view.amount(q["open_fee"])),
        ("margin required", f"{view.amount(q['margin_required'])} (initial margin + open fee)"),
        ("max profit", view.amount(q["max_profit"])),
        ("liquidation price", price(q["liquidation_price_wad"])),
        ("bankruptcy price", price(q["bankruptcy_price_wad"])),
    ]


@main.command()
@_side_option
@click.option("--size", required=True, help="Position size in index units, e.g. 1.5")
@click.option("--margin", required=True, help="Margin in settlement tokens, e.g. 400")
@click.option("--price", default=None, help="What-if price instead of the oracle's")
@common_options
@connected
def quote(session: Session, as_json: bool, is_long: bool, size: str, margin: str,
          price: str | None) -> None:
    """What opening would give: liquidation and bankruptcy prices, open fee, margin required."""
    market_id, market = session.market()
    view = MarketView(market)
    with view.guard():
        q = _quote_data(market.quote(is_long=is_long, size=parse_size(size),
                                     margin=parse_amount(margin, view.decimals, "--margin"),
                                     price_wad=parse_price(price, "--price") if price is not None else None))
    emit(as_json, {"market": market_id, **q}, [("market", market_id), *_quote_lines(view, q)])


@main.command(name="open")
@_side_option
@click.option("--size", required=True, help="Position size in index units, e.g. 1.5")
@click.option("--margin", required=True, help="Margin in settlement tokens, e.g. 400")
@click.option("--nonce", type=click.IntRange(0, 2**96 - 1), default=None,
              help="Vault number [default: the first without an open position]")
@click.option("--acceptable-price", default=None,
              help="Slippage bound: a long fails above it, a short below it")
@click.option("--slippage", default=None, help="Slippage bound relative to the price now, e.g. 1%")
@common_options
@connected
def open_(session: Session, as_json: bool, is_long: bool, size: str, margin: str,
          nonce: int | None, acceptable_price: str | None, slippage: str | None) -> None:
    """Open a position in a new (or reused) vault."""
    market_id, market = session.market()
    view = MarketView(market)
    trader = session.account
    size_wad = parse_size(size)
    margin_units = parse_amount(margin, view.decimals, "--margin")
    with view.guard():
        if nonce is None:
            q, nonce = market.quote_open(trader, is_long=is_long, size=size_wad, margin=margin_units)
        else:
            q = market.quote(is_long=is_long, size=size_wad, margin=margin_units)
        bound = _acceptable(q.price_wad, is_long, acceptable_price, slippage)
        ensure_balance(view, trader, margin_units)
        if nonce is None:
            raise CliError("no free vault number below 10,000")
        number = nonce
        check(view, "openPosition", number, is_long, size_wad, margin_units, bound,
              sender=trader, before_approval=True)
        approve_exact(view, trader, margin_units)
        vault = market.open(trader, is_long=is_long, size=size_wad, margin=margin_units,
                            nonce=number, acceptable_price_wad=bound, approve=False)
        state = market.vault_state(vault)
    data = {"market": market_id, "vault": vault, "nonce": number, "owner": str(trader.address),
            **_state_data(state)}
    emit(as_json, data, [("opened", vault), ("market", market_id), ("vault number", str(number)),
                         *_state_lines(view, state)])


def _acceptable(price_wad: int, is_long: bool, acceptable: str | None, slippage: str | None) -> int:
    """The open's acceptable price (WAD; 0: no bound) from ``--acceptable-price`` or
    ``--slippage`` around ``price_wad``."""
    if acceptable is not None and slippage is not None:
        raise CliError("give --acceptable-price or --slippage, not both")
    if acceptable is not None:
        return parse_price(acceptable, "--acceptable-price")
    if slippage is None:
        return 0
    try:
        ratio = parse_ratio(slippage, "--slippage")
    except UnitError as exc:
        raise CliError(str(exc)) from None
    if not 0 <= ratio < 1:
        raise CliError("--slippage must be between 0% and 100%")
    factor = 1 + ratio if is_long else 1 - ratio
    bound = price_wad * factor
    # Round the bound against the trader: a long's maximum down, a short's minimum up.
    return int(bound) if is_long else -(-bound.numerator // bound.denominator)


def _state_data(state: Any) -> dict[str, Any]:
    """A vault's state (:meth:`ringfence.sdk.Market.state`) as JSON data, integers raw."""
    return {
        "vault": state.address, "owner": state.owner, "side": "long" if state.is_long else "short",
        "size_wad": state.size, "entry_price_wad": state.entry_price_wad, "price_wad": state.price_wad,
        "margin": state.margin, "fees": state.fees, "pnl": state.pnl, "equity": state.equity,
        "notional": state.notional,
        "leverage": "inf" if state.equity <= 0 else str(state.leverage.quantize(Decimal("0.0001"))),
        "health_wad": state.health_wad,
        "liquidation_price_wad": state.liquidation_price_wad,
        "bankruptcy_price_wad": state.bankruptcy_price_wad, "liquidatable": state.liquidatable,
    }


def _state_lines(view: MarketView, state: Any) -> list[tuple[str, str]]:
    """A vault's state as the lines the trade commands print, in human units."""
    health = "inf" if state.health_wad >= 2**255 else f"{from_wad(state.health_wad):.3f}"
    leverage = "inf" if state.equity <= 0 else f"{state.leverage:.2f}x"
    return [
        ("owner", state.owner), ("side", "long" if state.is_long else "short"),
        ("size", f"{from_wad(state.size).normalize():f}"), ("entry price", fmt_price(state.entry_price_wad)),
        ("price", fmt_price(state.price_wad)), ("notional", view.amount(state.notional)),
        ("margin", view.amount(state.margin)), ("fees owed", view.amount(state.fees)),
        ("pnl", view.amount(state.pnl)), ("equity", view.amount(state.equity)),
        ("leverage", leverage), ("health", f"{health} (liquidatable below 1)"),
        ("liquidation price", fmt_price(state.liquidation_price_wad) if state.liquidation_price_wad else "none"),
        ("bankruptcy price", fmt_price(state.bankruptcy_price_wad) if state.bankruptcy_price_wad else "none"),
        ("liquidatable", "YES" if state.liquidatable else "no"),
    ]


@main.command()
@click.argument("vault")
@common_options
@connected
def status(session: Session, as_json: bool, vault: str) -> None:
    """A vault: margin, PnL, equity, leverage, health, liquidation and bankruptcy prices."""
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    with view.guard():
        state = market.vault_state(vault)
    emit(as_json, {"pool": market.address, **_state_data(state)},
         [("vault", vault), ("pool", market.address), *_state_lines(view, state)])


def _require_open(view: MarketView, vault: str) -> None:
    """The contract's PositionNotOpen error, before any transaction, for a vault without one."""
    if view.market.position(vault).status != Position.OPEN:
        raise error_class("PositionNotOpen")({"vault": vault})


@main.command(name="add-margin")
@click.argument("vault")
@click.option("--amount", required=True, help="Settlement tokens to add, e.g. 100")
@common_options
@connected
def add_margin(session: Session, as_json: bool, vault: str, amount: str) -> None:
    """Top up a vault's margin (anyone may top up any vault)."""
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    payer = session.account
    units = parse_amount(amount, view.decimals, "--amount")
    with view.guard():
        _require_open(view, vault)
        ensure_balance(view, payer, units)
        check(view, "addMargin", vault, units, sender=payer, before_approval=True)
        approve_exact(view, payer, units)
        market.add_margin(payer, vault, units, approve=False)
        state = market.vault_state(vault)
    emit(as_json, {"added": units, **_state_data(state)},
         [("added", view.amount(units)), ("vault", vault), *_state_lines(view, state)])


@main.command(name="remove-margin")
@click.argument("vault")
@click.option("--amount", required=True, help="Settlement tokens to take out, e.g. 50")
@click.option("--to", "receiver", default=None, help="Receiver [default: the account]")
@common_options
@connected
def remove_margin(session: Session, as_json: bool, vault: str, amount: str,
                  receiver: str | None) -> None:
    """Take margin out of your vault (only while it keeps the initial margin)."""
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    owner = session.account
    units = parse_amount(amount, view.decimals, "--amount")
    to = session.address_of(receiver)
    with view.guard():
        check(view, "removeMargin", vault, units, to or owner.address, sender=owner)
        market.remove_margin(owner, vault, units, to)
        state = market.vault_state(vault)
    emit(as_json, {"removed": units, **_state_data(state)},
         [("removed", view.amount(units)), ("vault", vault), *_state_lines(view, state)])


@main.command()
@click.argument("vault")
@click.option("--to", "receiver", default=None, help="Receiver of the payout [default: the account]")
@click.option("--acceptable-price", default=None,
              help="Slippage bound: a long fails below it, a short above it")
@common_options
@connected
def close(session: Session, as_json: bool, vault: str, receiver: str | None,
          acceptable_price: str | None) -> None:
    """Close your position: PnL and fees are settled, the rest is paid out."""
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    owner = session.account
    to = session.address_of(receiver)
    bound = parse_price(acceptable_price, "--acceptable-price")
    with view.guard():
        _require_open(view, vault)
        before = market.vault_state(vault)
        check(view, "closePosition", vault, to or owner.address, bound, sender=owner)
        payout = market.close(owner, vault, to, bound)
    data = {"vault": vault, "payout": payout, "price_wad": before.price_wad, "margin": before.margin,
            "receiver": str(to or owner.address)}
    emit(as_json, data, [("closed", vault), ("price", fmt_price(before.price_wad)),
                         ("margin", view.amount(before.margin)), ("payout", view.amount(payout)),
                         ("to", data["receiver"])])


@main.command()
@click.argument("vault")
@click.option("--to", "receiver", default=None, help="Receiver [default: the account]")
@common_options
@connected
def claim(session: Session, as_json: bool, vault: str, receiver: str | None) -> None:
    """Withdraw what the liquidation of your vault credited to you."""
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    owner = session.account
    to = session.address_of(receiver)
    with view.guard():
        if market.claimable(vault) == 0:
            raise CliError(f"nothing to claim in vault {vault}")
        check(view, "claim", vault, to or owner.address, sender=owner)
        paid = market.claim(owner, vault, to)
    emit(as_json, {"vault": vault, "claimed": paid, "receiver": str(to or owner.address)},
         [("vault", vault), ("claimed", view.amount(paid)), ("to", str(to or owner.address))])
