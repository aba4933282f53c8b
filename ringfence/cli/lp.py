"""``ringfence lp``: liquidity providers' shares, deposits, redemptions and their settlement.

Once the pool has shares, LPs enter and leave by request: a request now (assets or shares handed to
the pool, a quote at today's marked share price), settled by anyone once the oracle has published a
round after it, at the worse (for the LP) of the request's and the settlement's share price
(``docs/maths.md``).
"""

from __future__ import annotations

from typing import Any

import click

from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.arguments import parse_amount
from ringfence.cli.errors import CliError, redecode
from ringfence.cli.formatting import emit, fmt_time
from ringfence.cli.view import (
    MarketView,
    after_sent,
    assets_text,
    check,
    ensure_balance,
    marked_assets,
)
from ringfence.errors import RingfenceError

__all__ = ["deposit", "lp", "redeem", "settle", "show", "withdraw"]


@main.group()
def lp() -> None:
    """Liquidity providers: enter and leave a market's pool by requests settled after an oracle round."""


def _latest_round(view: MarketView) -> int | None:
    """The ``updatedAt`` of the oracle's latest accepted round (``None`` if it refuses the price)."""
    try:
        return view.market.latest_round_time()
    except RingfenceError:
        return None


def _round_wait(requested_at: int, round_at: int) -> str:
    """What a request made at ``requested_at`` waits for, the latest round being at ``round_at``."""
    return f"an oracle round after {fmt_time(requested_at)} (latest round at {fmt_time(round_at)})"


def _liquidity_wait(view: MarketView, free: int, needed: int) -> str:
    """What a redemption of ``needed`` waits for when only ``free`` is free."""
    return f"free liquidity ({view.amount(free)} free, {view.amount(needed)} to pay)"


def _lp_state(view: MarketView, controller: str) -> dict[str, Any]:
    """What ``controller`` holds in the pool and has pending, and the pool's liquidity. Never reverts
    on a refused price (the marked figures are ``None`` then)."""
    market = view.market
    snap = market.snapshot()
    state: dict[str, Any] = {"lp": controller, **marked_assets(view, snap)}
    marked = state["total_assets"] is not None
    shares = market.shares_of(controller)
    free = snap.free_liquidity
    value = market.shares_value(shares) if marked else None
    state.update({
        "shares": shares, "value": value,
        # What a redemption of all the shares requested now would be quoted, within what the free
        # liquidity could pay now (the payment waits for the free liquidity otherwise).
        "redeemable": min(value, free) if value is not None else None,
        "free_liquidity": free, "reserved": snap.reserved,
        "pending_deposits": snap.pending_deposits, "total_supply": market.total_supply(),
    })
    requests = market.lp_requests(controller)
    round_at = _latest_round(view) if (requests.deposit_assets or requests.redeem_shares) else None
    state["latest_round"] = round_at

    def waits(requested_at: int) -> str | None:
        if round_at is None:
            return "a price the oracle accepts"
        return _round_wait(requested_at, round_at) if round_at <= requested_at else None

    state["deposit_request"] = None
    if requests.deposit_assets:
        state["deposit_request"] = {
            "assets": requests.deposit_assets, "quote_shares": requests.deposit_quote_shares,
            "time": requests.deposit_time,
            "shares_now": market.preview_settle_deposit(controller) if marked else None,
            "waits_for": waits(requests.deposit_time),
        }
    state["redeem_request"] = None
    if requests.redeem_shares:
        assets_now = market.preview_settle_redeem(controller) if marked else None
        wait = waits(requests.redeem_time)
        if wait is None and assets_now is not None and assets_now > free:
            wait = _liquidity_wait(view, free, assets_now)
        state["redeem_request"] = {
            "shares": requests.redeem_shares, "quote_assets": requests.redeem_quote_assets,
            "time": requests.redeem_time, "assets_now": assets_now, "waits_for": wait,
        }
    return state


def _request_line(view: MarketView, label: str, request: dict[str, Any] | None) -> tuple[str, str]:
    """A pending request of :func:`_lp_state` as a line: what was given when, the most it gets (and
    what it would get if settled now), and what it waits for."""
    if request is None:
        return label, "none"
    if "assets" in request:  # a deposit: assets paid for shares
        given = f"{view.amount(request['assets'])} paid"
        most = f"{view.shares(request['quote_shares'])} shares"
        now = None if request["shares_now"] is None else view.shares(request["shares_now"])
    else:  # a redemption: shares given for assets
        given = f"{view.shares(request['shares'])} shares given"
        most = view.amount(request["quote_assets"])
        now = None if request["assets_now"] is None else view.amount(request["assets_now"])
    now_text = "" if now is None else f" ({now} if settled now)"
    status = f"waits for {request['waits_for']}" if request["waits_for"] else "ready to settle (`lp settle`)"
    return label, f"{given} {fmt_time(request['time'])} for at most {most}{now_text}; {status}"


def _lp_state_after_sent(view: MarketView, controller: str) -> dict[str, Any]:
    """:func:`_lp_state` after a mined transaction: empty (and one warning line) if it cannot be read."""
    return after_sent(view, f"the pool and the holdings of {controller}", lambda: _lp_state(view, controller)) or {}


def _lp_lines(view: MarketView, s: dict[str, Any], requests: bool = True) -> list[tuple[str, str]]:
    """:func:`_lp_state` as the lines the LP commands print (``requests``: with the pending ones;
    none for an empty state, one that could not be read)."""
    if not s:
        return []
    unavailable = "unavailable (the oracle refuses the price)"
    worth = view.amount(s["value"]) if s["value"] is not None else unavailable
    redeemable = unavailable if s["redeemable"] is None else (
        f"{view.amount(s['redeemable'])} (your shares' worth, within the free liquidity; "
        f"by `lp redeem`, paid after the next oracle round)")
    lines = [("lp", s["lp"]), ("shares", f"{view.shares(s['shares'])}, worth {worth}"),
             ("redeemable", redeemable)]
    if requests:
        lines += [_request_line(view, "deposit request", s["deposit_request"]),
                  _request_line(view, "redeem request", s["redeem_request"])]
    lines.append(("pool assets", assets_text(view, s)))
    if s["price_refused"]:
        lines.append(("price", f"refused: {s['price_refused']}"))
    if s["pending_deposits"]:
        lines.append(("pending deposits", f"{view.amount(s['pending_deposits'])} (not the LPs' until settled)"))
    return lines


def _pending_error(view: MarketView, controller: str, kind: str, requested_at: int, what: str) -> CliError:
    """The refusal of a second request of a ``kind`` already pending (the contract allows one)."""
    return CliError(f"a {kind} of {what} for {controller} requested {fmt_time(requested_at)} is pending "
                    f"(one at a time, not cancellable): settle it first (`ringfence lp settle`)")


@lp.command()
@click.option("--controller", default=None, help="The LP [default: the account]")
@common_options
@connected
def show(session: Session, as_json: bool, controller: str | None) -> None:
    """An LP's shares and their marked value, pending requests, and the pool's liquidity."""
    market_id, market = session.market()
    view = MarketView(market)
    who = session.address_of(controller) or str(session.account.address)
    with view.guard():
        state = _lp_state(view, who)
    emit(as_json, {"market": market_id, **state}, [("market", market_id), *_lp_lines(view, state)])


@lp.command()
@click.option("--amount", required=True, help="Settlement tokens to deposit, e.g. 10000")
@common_options
@connected
def deposit(session: Session, as_json: bool, amount: str) -> None:
    """Deposit settlement tokens: immediate into a pool without shares, else a request for shares
    minted after the next oracle round (`lp settle`, or a keeper)."""
    market_id, market = session.market()
    view = MarketView(market)
    provider = session.account
    units = parse_amount(amount, view.decimals, "--amount")
    with view.guard():
        ensure_balance(view, provider, units)
        if market.max_deposit(provider.address) > 0:  # the pool's first shares
            check(view, "deposit", units, provider.address, sender=provider, before_approval=True)
            shares = market.deposit(provider, units)
            state = _lp_state_after_sent(view, str(provider.address))
            emit(as_json, {"market": market_id, "deposited": units, "minted": shares, **state},
                 [("market", market_id),
                  ("deposited", f"{view.amount(units)} (the pool's first deposit: immediate)"),
                  ("minted", f"{view.shares(shares)} shares"), *_lp_lines(view, state)])
            return
        pending = market.lp_requests(provider.address)
        if pending.deposit_assets:
            raise _pending_error(view, str(provider.address), "deposit", pending.deposit_time,
                                 view.amount(pending.deposit_assets))
        check(view, "requestDeposit", units, provider.address, sender=provider, before_approval=True)
        quote = market.request_deposit(provider, units)
    state = _lp_state_after_sent(view, str(provider.address))
    settles = "after the next oracle round, by a keeper or `ringfence lp settle`"
    emit(as_json, {"market": market_id, "requested_deposit": units, "quote_shares": quote,
                   "settles": settles, **state},
         [("market", market_id), ("deposit requested", f"{view.amount(units)} paid"),
          ("shares at most", f"{view.shares(quote)} (fewer if the share price is higher at settlement)"),
          ("settles", settles), *_lp_lines(view, state, requests=False)])


def _one_of(given: dict[str, bool], offered: tuple[str, ...]) -> None:
    """Exactly one of the ``offered`` options, or a one-line refusal naming them."""
    chosen = [name for name in offered if given[name]]
    if len(chosen) == 1:
        return
    if not chosen:
        raise CliError(f"give one of {', '.join(offered[:-1])} or {offered[-1]}")
    raise CliError(f"give {' or '.join(chosen)}, not both" if len(chosen) == 2 else
                   f"give only one of {', '.join(chosen[:-1])} or {chosen[-1]}")


def _redeem(session: Session, as_json: bool, shares_text: str | None, amount: str | None,
            everything: bool, withdraw: bool = False) -> None:
    """``lp redeem`` (and its alias ``lp withdraw``): one redemption request."""
    market_id, market = session.market()
    view = MarketView(market)
    provider = session.account
    who = str(provider.address)
    _one_of({"--shares": shares_text is not None, "--amount": amount is not None, "--all": everything},
            offered=("--amount", "--all") if withdraw else ("--shares", "--amount", "--all"))
    with view.guard():
        held = market.shares_of(who)
        if held == 0:
            raise CliError(f"{who} holds no shares of this pool: nothing to redeem")
        if everything:
            shares = held
        elif shares_text is not None:
            shares = parse_amount(shares_text, view.share_decimals, "--shares")
        else:
            units = parse_amount(amount or "", view.decimals, "--amount")
            shares = market.shares_for(units)  # shares worth `units`, rounded up
        if shares > held:
            worth = "" if amount is None else f"{view.amount(units)} is worth {view.shares(shares)} shares: "
            raise CliError(f"{worth}{who} holds {view.shares(held)} shares, fewer than {view.shares(shares)}")
        pending = market.lp_requests(who)
        if pending.redeem_shares:
            raise _pending_error(view, who, "redemption", pending.redeem_time,
                                 f"{view.shares(pending.redeem_shares)} shares")
        check(view, "requestRedeem", shares, who, who, sender=provider)
        quote = market.request_redeem(provider, shares)
    state = _lp_state_after_sent(view, who)
    free = f" ({view.amount(state['free_liquidity'])} now)" if state else ""
    settles = f"after the next oracle round, by a keeper or `ringfence lp settle`, from the free liquidity{free}"
    emit(as_json, {"market": market_id, "requested_redeem": shares, "quote_assets": quote,
                   "settles": settles, **state},
         [("market", market_id), ("redemption requested", f"{view.shares(shares)} shares handed to the pool"),
          ("assets at most", f"{view.amount(quote)} (less if the share price is lower at settlement)"),
          ("settles", settles), *_lp_lines(view, state, requests=False)])


@lp.command()
@click.option("--shares", "shares_text", default=None, help="Pool shares to redeem, e.g. 1000.5")
@click.option("--amount", default=None,
              help="Settlement tokens' worth of shares to redeem (rounded up to whole share units), e.g. 5000")
@click.option("--all", "everything", is_flag=True, help="Redeem all your shares")
@common_options
@connected
def redeem(session: Session, as_json: bool, shares_text: str | None, amount: str | None,
           everything: bool) -> None:
    """Request a redemption: the shares go to the pool now, the assets come after the next oracle
    round (`lp settle`, or a keeper), paid from the free liquidity."""
    _redeem(session, as_json, shares_text, amount, everything)


@lp.command(hidden=True)
@click.option("--amount", default=None, help="Settlement tokens' worth of shares to redeem")
@click.option("--all", "everything", is_flag=True, help="Redeem all your shares")
@common_options
@connected
def withdraw(session: Session, as_json: bool, amount: str | None, everything: bool) -> None:
    """Alias of `lp redeem --amount/--all` (a request, no longer immediate)."""
    _redeem(session, as_json, None, amount, everything, withdraw=True)


def _why_not(view: MarketView, error: Any) -> str:
    """Why a settlement cannot go through now: what it waits for, or the contract's message."""
    error = redecode(error)
    if error.name == "RequestNotReady":
        return "waits for " + _round_wait(int(error.inputs["requestedAt"]), int(error.inputs["priceUpdatedAt"]))
    if error.name == "InsufficientLiquidity":
        return "waits for " + _liquidity_wait(view, int(error.inputs["free"]), int(error.inputs["needed"]))
    return "cannot settle: " + view.message(error)


@lp.command()
@click.option("--controller", default=None, help="Whose requests to settle [default: the account]")
@common_options
@connected
def settle(session: Session, as_json: bool, controller: str | None) -> None:
    """Settle an LP's pending deposit and redemption requests (anyone may, once the oracle has
    published a round after them)."""
    market_id, market = session.market()
    view = MarketView(market)
    caller = session.account
    who = session.address_of(controller) or str(caller.address)
    with view.guard():
        pending = market.lp_requests(who)
    kinds = [k for k, n in (("deposit", pending.deposit_assets), ("redemption", pending.redeem_shares)) if n]
    if not kinds:
        raise CliError(f"{who} has no pending deposit or redemption request")
    settled: dict[str, int] = {}
    waiting: dict[str, str] = {}
    for kind in kinds:
        try:
            check(view, "settleDeposit" if kind == "deposit" else "settleRedeem", who, sender=caller)
            settled[kind] = (market.settle_deposit if kind == "deposit" else market.settle_redeem)(caller, who)
        except RingfenceError as exc:
            waiting[kind] = _why_not(view, exc)
    if not settled:
        reasons = set(waiting.values())
        if len(reasons) == 1:
            verb = reasons.pop()
            if len(kinds) == 2:  # "waits for" -> "wait for", "cannot settle" unchanged
                verb = verb.replace("waits for", "wait for", 1)
            subject = " and ".join(kinds) + (" requests" if len(kinds) == 2 else " request")
            raise CliError(f"the {subject} of {who} {verb}")
        raise CliError("; ".join(f"the {k} request of {who} {w}" for k, w in waiting.items()))
    # A transaction went through: from here on, nothing is reported as an error.
    state = _lp_state_after_sent(view, who)
    lines = [("market", market_id), ("controller", who)]
    if "deposit" in settled:
        lines.append(("deposit settled", (f"{view.amount(pending.deposit_assets)} for "
                                          f"{view.shares(settled['deposit'])} shares (quoted at most "
                                          f"{view.shares(pending.deposit_quote_shares)})")))
    if "redemption" in settled:
        lines.append(("redemption settled", (f"{view.shares(pending.redeem_shares)} shares for "
                                             f"{view.amount(settled['redemption'])} paid to {who} "
                                             f"(quoted at most {view.amount(pending.redeem_quote_assets)})")))
    for kind, why in waiting.items():
        lines.append((kind, why))
    data = {"market": market_id, "controller": who,
            "settled_deposit_shares": settled.get("deposit"), "settled_redeem_assets": settled.get("redemption"),
            "waiting": waiting, **state}
    emit(as_json, data, [*lines, *_lp_lines(view, state)[1:]])
