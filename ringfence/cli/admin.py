"""``ringfence admin``: the factory owner's and guardian's actions on a market. ``pause`` and
``unpause`` (guardian or owner, at once), ``set-params`` (the owner: queued, then ``--execute`` once
the factory's delay has passed; ``--cancel`` drops it; alone, shows what is queued), and
``accept-ownership`` (the pending owner of a factory handed over). Each refuses in one line, before
sending anything, an account without the role, and ``set-params`` new parameters outside the
factory's bounds (in the markets file's units)."""

from __future__ import annotations

from typing import Any

import click

from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.errors import CliError
from ringfence.cli.formatting import emit, fmt_time
from ringfence.cli.view import MarketView
from ringfence.deploy.preflight import human_value
from ringfence.governance import Governance, ParamsRefused, Roles

__all__ = ["accept_ownership", "admin", "pause", "set_params", "unpause"]


@main.group()
def admin() -> None:
    """The factory owner's and guardian's actions: pause, unpause, parameter changes, ownership."""


def _require(roles: Roles, who: str, allowed: tuple[str, ...], action: str) -> str:
    """The first of ``allowed`` roles ``who`` holds, or a one-line refusal naming who holds them."""
    held = [role for role in roles.of(who) if role in allowed]
    if held:
        return held[0]
    holders = {"owner": roles.owner, "guardian": roles.guardian, "pending owner": roles.pending_owner or "none"}
    named = " or ".join(f"the {role} ({holders[role]})" for role in allowed)
    raise CliError(f"{who} may not {action}: only {named} may")


def _set_paused(session: Session, as_json: bool, paused: bool) -> None:
    market_id, market = session.market()
    view = MarketView(market)
    gov = Governance(market)
    caller = session.account
    verb = "pause" if paused else "unpause"
    role = _require(gov.roles(), str(caller.address), ("guardian", "owner"), f"{verb} market {market_id}")
    if market.snapshot().paused == paused:
        raise CliError(f"market {market_id} is already {'paused' if paused else 'open'}: nothing sent")
    with view.guard():
        gov.set_paused(caller, paused)
    emit(as_json, {"market": market_id, "paused": paused, "by": str(caller.address), "role": role},
         [("market", market_id), ("opening", "paused (closing, margin, liquidations and LPs unaffected)"
                                   if paused else "open"), ("by", f"{caller.address} ({role})")])


@admin.command()
@common_options
@connected
def pause(session: Session, as_json: bool) -> None:
    """Pause opening positions in a market (guardian or owner; at once)."""
    _set_paused(session, as_json, True)


@admin.command()
@common_options
@connected
def unpause(session: Session, as_json: bool) -> None:
    """Let positions be opened again in a paused market (guardian or owner; at once)."""
    _set_paused(session, as_json, False)


def _changes(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--set key=value`` options as a mapping, or a one-line refusal."""
    changes: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise CliError(f"--set {pair!r}: give key=value, e.g. --set initial_margin=12%")
        if key.strip() in changes:
            raise CliError(f"--set {key.strip()} is given twice")
        changes[key.strip()] = value.strip()
    return changes


def _diff(view: MarketView, old: Any, new: Any) -> list[dict[str, str]]:
    """The fields that differ between two MarketParams, in the markets file's units."""
    out = []
    for field in old.__dataclass_fields__:
        before, after = getattr(old, field), getattr(new, field)
        if field != "asset_decimals" and before != after:
            out.append({"field": field, "from": human_value(field, before, view.decimals),
                        "to": human_value(field, after, view.decimals)})
    return out


def _diff_lines(diff: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(d["field"], f"{d['from']} -> {d['to']}") for d in diff]


def _queued(gov: Governance, view: MarketView, market_id: str, as_json: bool) -> None:
    """``set-params`` alone: the change queued for the market, if any."""
    pending, eta = gov.pending_params()
    roles = gov.roles()
    if pending is None:
        emit(as_json, {"market": market_id, "pending": None, "delay": roles.delay, "owner": roles.owner},
             [("market", market_id), ("queued change", "none"), ("owner delay", f"{roles.delay:,} s"),
              ("owner", roles.owner)])
        return
    diff = _diff(view, view.market.params(), pending)
    emit(as_json, {"market": market_id, "pending": diff, "eta": eta, "delay": roles.delay},
         [("market", market_id), ("queued change", f"executable from {fmt_time(eta)}"), *_diff_lines(diff)])


@admin.command(name="set-params")
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE",
              help="A parameter in the markets file's keys and units, e.g. --set initial_margin=12% (repeatable)")
@click.option("--execute", is_flag=True, help="Apply the queued change (once the owner delay has passed)")
@click.option("--cancel", is_flag=True, help="Drop the queued change")
@common_options
@connected
def set_params(session: Session, as_json: bool, pairs: tuple[str, ...], execute: bool, cancel: bool) -> None:
    """Change a market's parameters through the factory's owner delay: queue with --set (shows
    when it may be executed), apply with --execute after the delay; alone, shows the queued change."""
    if sum((bool(pairs), execute, cancel)) > 1:
        raise CliError("give one of --set, --execute or --cancel")
    market_id, market = session.market()
    view = MarketView(market)
    gov = Governance(market)
    if not (pairs or execute or cancel):
        _queued(gov, view, market_id, as_json)
        return
    owner = session.account
    roles = gov.roles()
    _require(roles, str(owner.address), ("owner",), f"change the parameters of market {market_id}")
    if pairs:
        _queue(view, gov, market_id, owner, _changes(pairs), as_json)
        return
    pending, eta = gov.pending_params()
    if pending is None:
        raise CliError(f"no parameter change is queued for market {market_id}")
    if execute:
        from ape import chain

        now = int(chain.blocks.head.timestamp)
        if now < eta:
            raise CliError(f"the change queued for market {market_id} may be executed from {fmt_time(eta)} "
                           f"(in {eta - now:,} s)")
    diff = _diff(view, market.params(), pending)
    with view.guard():
        (gov.execute_params if execute else gov.cancel_params)(owner)
    emit(as_json, {"market": market_id, "executed" if execute else "cancelled": diff},
         [("market", market_id), ("change", "applied" if execute else "cancelled"), *_diff_lines(diff)])


def _queue(view: MarketView, gov: Governance, market_id: str, owner: Any, changes: dict[str, str],
           as_json: bool) -> None:
    """Queues ``changes`` once the factory's bounds accept them."""
    try:
        new = gov.changed_params(changes, market_id)
    except ParamsRefused as exc:
        raise CliError(f"{exc}: nothing sent") from None
    diff = _diff(view, view.market.params(), new)
    with view.guard():
        eta = gov.queue_params(owner, new)
    execute = f"ringfence admin set-params --execute --market {market_id}"
    emit(as_json, {"market": market_id, "queued": diff, "eta": eta, "execute_command": execute},
         [("market", market_id), ("queued", f"executable from {fmt_time(eta)}, then run `{execute}`"),
          *_diff_lines(diff)])


@admin.command(name="accept-ownership")
@common_options
@connected
def accept_ownership(session: Session, as_json: bool) -> None:
    """Become the factory's owner after it was handed to you (the second step of the transfer)."""
    _, market = session.markets()[0]
    view = MarketView(market)
    gov = Governance(market)
    caller = session.account
    _require(gov.roles(), str(caller.address), ("pending owner",), "accept the factory's ownership")
    with view.guard():
        gov.accept_ownership(caller)
    emit(as_json, {"factory": str(gov.factory.address), "owner": str(caller.address)},
         [("factory", str(gov.factory.address)), ("owner", str(caller.address))])
