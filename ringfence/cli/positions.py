"""``ringfence positions``: every vault of an account across the markets in scope, open and closed,
with its liquidation price, health, PnL and the credit a liquidation left to claim
(:mod:`ringfence.portfolio` finds them)."""

from __future__ import annotations

from typing import Any

import click

from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.formatting import emit, fmt_health, fmt_price
from ringfence.cli.vaults import state_data
from ringfence.cli.view import MarketView
from ringfence.portfolio import LOOKBACK, VaultRecord, account_vaults
from ringfence.units import from_wad

__all__ = ["positions", "record_data", "record_lines"]


def _price(value: int | None) -> str:
    return fmt_price(value) if value else "none"


def _claim_command(record: VaultRecord) -> str:
    return f"ringfence claim {record.vault}"


def record_data(market_id: str, record: VaultRecord) -> dict[str, Any]:
    """A :class:`ringfence.portfolio.VaultRecord` as JSON data, integers raw."""
    p = record.position
    data: dict[str, Any] = {
        "market": market_id, "pool": record.pool, "vault": record.vault, "owner": record.owner,
        "nonce": record.nonce, "status": record.status, "claimable": record.claimable,
        "claim_command": _claim_command(record) if record.claimable else None,
        "last_close": record.last_close, "last_liquidation": record.last_liquidation,
        "price_unavailable": record.price_refused,
    }
    if record.state is not None:
        data.update({k: v for k, v in state_data(record.state).items() if k not in ("vault", "owner", "status")})
    elif record.status == "open":
        data.update({"side": "long" if p.is_long else "short", "size_wad": p.size,
                     "entry_price_wad": p.entry_price_wad, "margin": p.margin, "pnl": None, "health_wad": None,
                     "liquidation_price_wad": None})
    return data


def _open_lines(view: MarketView, record: VaultRecord) -> list[tuple[str, str]]:
    p, s = record.position, record.state
    side = f"{'long' if p.is_long else 'short'} {from_wad(p.size).normalize():f} at {fmt_price(p.entry_price_wad)}"
    if s is None:
        return [("position", side), ("margin", view.amount(p.margin)),
                ("price", f"unavailable ({record.price_refused}): pnl, health unavailable")]
    health = fmt_health(s.health_wad)
    return [
        ("position", side), ("price", fmt_price(s.price_wad)), ("margin", view.amount(s.margin)),
        ("pnl", view.amount(s.pnl)), ("equity", view.amount(s.equity)),
        ("health", f"{health} (liquidatable below 1){' LIQUIDATABLE' if s.liquidatable else ''}"),
        ("liquidation price", _price(s.liquidation_price_wad)),
    ]


def _closed_lines(view: MarketView, record: VaultRecord) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    close, liq = record.last_close, record.last_liquidation
    if record.status == "liquidated" and liq is not None:
        lines.append(("liquidated", (f"at {fmt_price(liq['price_wad'])} (block {liq['block']}): bonus "
                                     f"{view.amount(liq['keeper_bonus'])}, penalty {view.amount(liq['penalty'])}, "
                                     f"credit {view.amount(liq['owner_credit'])}, bad debt "
                                     f"{view.amount(liq['bad_debt'])}")))
    elif close is not None:
        lines.append(("closed", (f"at {fmt_price(close['price_wad'])} (block {close['block']}): pnl "
                                 f"{view.amount(close['pnl'])}, fees {view.amount(close['fees'], up=True)}, "
                                 f"payout {view.amount(close['payout'])}")))
    else:
        lines.append(("closed", f"before the last {LOOKBACK:,} blocks"))
    return lines


def record_lines(view: MarketView, market_id: str, record: VaultRecord) -> list[tuple[str, str]]:
    """A :class:`ringfence.portfolio.VaultRecord` as the lines ``positions`` prints."""
    number = "" if record.nonce is None else f" (number {record.nonce})"
    lines = [("vault", f"{record.vault}{number}"), ("market", market_id), ("status", record.status)]
    lines += _open_lines(view, record) if record.status == "open" else _closed_lines(view, record)
    claim = (f"{view.amount(record.claimable)}: run `{_claim_command(record)}` from the owner's account"
             if record.claimable else "nothing")
    lines.append(("claimable", claim))
    return lines


@main.command()
@click.option("--owner", default=None, help="Whose vaults [default: the account's]")
@common_options
@connected
def positions(session: Session, as_json: bool, owner: str | None) -> None:
    """Every vault of an account in every market in scope: open ones with PnL, health and
    liquidation price; closed and liquidated ones with the credit left to claim."""
    who = session.address_of(owner) or str(session.account.address)
    rows: list[dict[str, Any]] = []
    blocks: list[list[tuple[str, str]]] = []
    for market_id, market in session.markets():
        view = MarketView(market)
        with view.guard():
            for record in account_vaults(market, who):
                rows.append(record_data(market_id, record))
                blocks.append(record_lines(view, market_id, record))
    if as_json:
        emit(True, {"owner": who, "positions": rows}, [])
        return
    click.echo(f"owner: {who}")
    if not blocks:
        click.echo(f"no vaults found (vault numbers from 0, and PositionOpened events of the last "
                   f"{LOOKBACK:,} blocks)")
    for lines in blocks:
        click.echo()
        emit(False, {}, lines)



