"""``ringfence markets``: every market in scope, its price, leverage, fees and liquidity."""

from __future__ import annotations

import json
from decimal import Decimal

import click

from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.errors import redecode
from ringfence.cli.formatting import emit, fmt_price, fmt_ratio
from ringfence.cli.view import MarketView, assets_text, marked_assets
from ringfence.errors import RingfenceError
from ringfence.model import MARKET_PARAMS_FIELDS
from ringfence.sdk import SECONDS_PER_YEAR

__all__ = ["markets"]


@main.command()
@common_options
@connected
def markets(session: Session, as_json: bool) -> None:
    """The markets: price, leverage, fees, liquidity, open interest."""
    rows = []
    for market_id, market in session.markets():
        view = MarketView(market)
        snap = market.snapshot()
        params = snap.params
        price: int | None = snap.price_wad
        if price is not None:
            price_text = fmt_price(price)
        else:
            try:
                price = market.price()  # the oracle's error
                price_text = fmt_price(price)
            except RingfenceError as exc:
                price, price_text = None, f"unavailable ({redecode(exc).message})"
        long_oi, short_oi = snap.open_interest_long, snap.open_interest_short
        marked = marked_assets(view, snap)
        data = {
            "id": market_id, "pool": market.address, "asset": market.asset_address,
            "symbol": view.symbol, "decimals": view.decimals, "oracle": snap.oracle,
            "price_wad": price, "params": dict(zip(MARKET_PARAMS_FIELDS, params.as_tuple())),
            **marked, "free_liquidity": snap.free_liquidity,
            "reserved": snap.reserved, "pending_deposits": snap.pending_deposits,
            "open_interest_long": long_oi, "open_interest_short": short_oi, "paused": snap.paused,
        }
        rows.append(data)
        if as_json:
            continue
        max_leverage = Decimal(10**18) / Decimal(params.initial_margin_wad)
        lines = [
            ("market", market_id), ("pool", market.address),
            ("token", f"{view.symbol} {market.asset_address}"), ("price", price_text),
            ("max leverage", (f"{max_leverage:.2f}x (IM {fmt_ratio(params.initial_margin_wad)}, "
                              f"MM {fmt_ratio(params.maintenance_margin_wad)})")),
            ("fees", (f"open {fmt_ratio(params.open_fee_wad)}, close {fmt_ratio(params.close_fee_wad)}, "
                      f"borrow {fmt_ratio(params.borrow_rate_wad * SECONDS_PER_YEAR)}/year")),
            ("min margin", view.amount(params.min_margin)),
            ("position", f"{view.amount(params.min_notional)} to {view.amount(params.max_position_notional)}"),
            ("LP assets", assets_text(view, data)),
            ("open interest", f"long {view.amount(long_oi)}, short {view.amount(short_oi)}"),
            ("opening", "paused" if data["paused"] else "open"),
        ]
        emit(False, data, lines)
        click.echo()
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
