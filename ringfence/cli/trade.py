"""The trader's commands: ``quote``, ``open``, ``status``, ``add-margin``, ``remove-margin``,
``close`` and ``claim``. Each checks with the reference model, the balances and a simulation
before it sends anything."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.arguments import (
    DEFAULT_SLIPPAGE,
    SLIPPAGE_HELP,
    parse_amount,
    parse_price,
    parse_size,
    price_bound,
)
from ringfence.cli.errors import CliError
from ringfence.cli.formatting import distinct_places, emit, fmt_price
from ringfence.cli.guard import GUARD_OPTION, find_guard, top_up_price_report
from ringfence.cli.vaults import leverage_text, report_after_sent, vault_report
from ringfence.cli.view import MarketView, check, ensure_balance
from ringfence.cli.watch import watch
from ringfence.errors import RingfenceError, error_class
from ringfence.guard import Guard
from ringfence.sdk import Position
from ringfence.units import from_wad

__all__ = ["add_margin", "claim", "close", "open_", "quote", "remove_margin", "status"]


def _side_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--long`` or ``--short``: exactly one (checked before connecting: nothing is sent), passed
    to the command as ``is_long``."""

    @functools.wraps(f)
    def wrapper(*args: Any, long: bool, short: bool, **kwargs: Any) -> Any:
        if long == short:
            raise CliError("give --long or --short" + (", not both" if long else ""))
        return f(*args, is_long=long, **kwargs)

    wrapper = click.option("--short", is_flag=True, help="A short position (exclusive with --long)")(wrapper)
    return click.option("--long", is_flag=True, help="A long position (exclusive with --short)")(wrapper)


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
        ("margin", view.amount(q["margin"])), ("leverage", leverage_text(q["notional"], q["margin"])),
        ("open fee", view.amount(q["open_fee"], up=True)),
        ("margin required", f"{view.amount(q['margin_required'], up=True)} (initial margin + open fee)"),
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


def _slippage_options(buying_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--acceptable-price`` and ``--slippage`` (the default bound) on a trade command."""
    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        f = click.option("--slippage", default=None, help=SLIPPAGE_HELP)(f)
        return click.option("--acceptable-price", default=None,
                            help=f"Price bound instead of --slippage: {buying_help}")(f)
    return decorate


@main.command(name="open")
@_side_option
@click.option("--size", required=True, help="Position size in index units, e.g. 1.5")
@click.option("--margin", required=True, help="Margin in settlement tokens, e.g. 400")
@click.option("--nonce", type=click.IntRange(0, 2**96 - 1), default=None,
              help="Vault number [default: the first without an open position]")
@_slippage_options("a long fails above it, a short below it")
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
        vault = market.open(trader, is_long=is_long, size=size_wad, margin=margin_units,
                            nonce=number, acceptable_price_wad=bound)
    state, lines = report_after_sent(view, vault)
    data = {"market": market_id, "vault": vault, "nonce": number, "owner": str(trader.address),
            "acceptable_price_wad": bound, **state}
    emit(as_json, data, [("opened", vault), ("market", market_id), ("vault number", str(number)),
                         ("acceptable price", _bound_text(bound)), *lines])


def _acceptable(price_wad: int, buying: bool, acceptable: str | None, slippage: str | None) -> int:
    """A trade's acceptable price (WAD; 0: no bound when buying): ``--acceptable-price``, else
    ``--slippage`` (default 0.5 %) around ``price_wad``, the price just read."""
    if acceptable is not None and slippage is not None:
        raise CliError("give --acceptable-price or --slippage, not both")
    if acceptable is not None:
        return parse_price(acceptable, "--acceptable-price")
    return price_bound(price_wad, buying, slippage if slippage is not None else DEFAULT_SLIPPAGE)


def _bound_text(bound: int) -> str:
    return fmt_price(bound) if bound else "none"


@main.command()
@click.argument("vault")
@click.option("--watch", "watching", is_flag=True, help="Re-read and re-print every --interval seconds until Ctrl-C")
@click.option("--interval", type=click.FloatRange(min=0), default=None,
              help="Seconds between two reports with --watch [default: 5]")
@click.option("--max-iterations", type=click.IntRange(min=1), default=None, hidden=True)
@GUARD_OPTION
@common_options
@connected
def status(session: Session, as_json: bool, vault: str, watching: bool, interval: float | None,
           max_iterations: int | None, guard_address: str | None) -> None:
    """A vault: margin, PnL, equity, leverage, health, liquidation and bankruptcy prices (without a
    price, what can be shown without one), and with a top-up policy at the guard the price at which
    it acts; liquidated, the liquidation and the credit to claim. --watch re-prints it until Ctrl-C."""
    if not watching and (interval is not None or max_iterations is not None):
        raise CliError("--interval needs --watch")
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    g = find_guard(session, guard_address)

    def report() -> tuple[dict[str, Any], list[tuple[str, str]]]:
        with view.guard():
            data, lines = vault_report(view, vault)
            if g is not None and data.get("status") == "open":
                data, lines = _with_top_up_price(view, g, vault, data, lines)
        return {"pool": market.address, **data}, [("vault", vault), ("pool", market.address), *lines]

    if watching:
        watch(report, as_json, 5.0 if interval is None else interval, max_iterations)
        return
    emit(as_json, *report())


def _with_top_up_price(view: MarketView, g: Guard, vault: str, data: dict[str, Any],
                       lines: list[tuple[str, str]]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """An open vault's report with its owner's policy at the guard: the top-up price after the
    liquidation price (:func:`ringfence.cli.guard.top_up_price_report`)."""
    policy = g.policy(data["owner"], vault)
    prices, price_lines = top_up_price_report(view, vault, policy)
    if not prices:
        return data, lines
    at = next((i + 1 for i, (key, _) in enumerate(lines) if key == "liquidation price"), len(lines))
    extra = {"top_up_price_wad": prices["top_up_price_wad"], "top_up_trigger_wad": policy.trigger_health_wad,
             "top_up_guard": g.address}
    return {**data, **extra}, [*lines[:at], price_lines[0], *lines[at:]]


def _open_position(view: MarketView, vault: str) -> Any:
    """The vault's open position, or (before any transaction) the contract's PositionNotOpen error."""
    position = view.market.position(vault)
    if position.status != Position.OPEN:
        raise error_class("PositionNotOpen")({"vault": vault})
    return position


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
        _open_position(view, vault)
        ensure_balance(view, payer, units)
        check(view, "addMargin", vault, units, sender=payer, before_approval=True)
        market.add_margin(payer, vault, units)
    state, lines = report_after_sent(view, vault)
    emit(as_json, {"vault": vault, "added": units, **state},
         [("added", view.amount(units)), ("vault", vault), *lines])


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
        position = _open_position(view, vault)
        if units > position.margin:
            places = distinct_places([units, position.margin], view.decimals)
            raise CliError(f"--amount {view.amount(units, places=places)} exceeds the vault's margin "
                           f"{view.amount(position.margin, places=places)}")
        try:
            check(view, "removeMargin", vault, units, to or owner.address, sender=owner)
        except RingfenceError as exc:
            if exc.name not in ("InsufficientMargin", "MarginBelowMinimum"):
                raise
            most = market.max_removable(vault)
            raise CliError(f"{view.message(exc)}; at most {view.amount(most, places=view.decimals)} "
                           f"can be removed now") from None
        market.remove_margin(owner, vault, units, to)
    state, lines = report_after_sent(view, vault)
    emit(as_json, {"vault": vault, "removed": units, **state},
         [("removed", view.amount(units)), ("vault", vault), *lines])


@main.command()
@click.argument("vault")
@click.option("--to", "receiver", default=None, help="Receiver of the payout [default: the account]")
@_slippage_options("a long's close (a sale) fails below it, a short's (a purchase) above it")
@common_options
@connected
def close(session: Session, as_json: bool, vault: str, receiver: str | None,
          acceptable_price: str | None, slippage: str | None) -> None:
    """Close your position: PnL and fees are settled, the rest is paid out."""
    vault, market = session.vault_market(vault)
    view = MarketView(market)
    owner = session.account
    to = session.address_of(receiver)
    with view.guard():
        _open_position(view, vault)
        before = market.vault_state(vault)
        # Closing a long sells (the bound is a floor), closing a short buys (a ceiling).
        bound = _acceptable(before.price_wad, not before.is_long, acceptable_price, slippage)
        check(view, "closePosition", vault, to or owner.address, bound, sender=owner)
        payout = market.close(owner, vault, to, bound)
    data = {"vault": vault, "payout": payout, "price_wad": before.price_wad, "margin": before.margin,
            "acceptable_price_wad": bound, "receiver": str(to or owner.address)}
    emit(as_json, data, [("closed", vault), ("price", fmt_price(before.price_wad)),
                         ("acceptable price", _bound_text(bound)),
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
