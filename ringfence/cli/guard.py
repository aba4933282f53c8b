"""``ringfence guard``: a vault owner's margin top-up policy at the factory's MarginGuard
(``docs/guard.md``): ``guard show`` (the policy, what a top-up would add now), ``guard set`` (checked
by the reference model before it is sent; a wallet policy approves the guard for exactly its budget)
and ``guard cancel``. The guard is the deployments file's ``MarginGuard``, or ``--guard``."""

from __future__ import annotations

from typing import Any

import click

from ringfence.cli.app import Session, common_options, connected, main
from ringfence.cli.arguments import parse_amount
from ringfence.cli.errors import CliError
from ringfence.cli.formatting import emit, fmt_health, fmt_time
from ringfence.cli.view import MarketView, after_sent
from ringfence.deploy.markets_file import parse_duration
from ringfence.errors import RingfenceError
from ringfence.guard import Guard, GuardPolicy, erc20
from ringfence.progress import approve_when_short
from ringfence.units import parse_number

__all__ = ["cancel", "guard", "set_policy", "show"]

WAD = 10**18
GUARD_OPTION = click.option("--guard", "guard_address", default=None,
                            help="The MarginGuard [default: the deployments file's]")


@main.group()
def guard() -> None:
    """A vault's margin top-up policy: keepers add margin from your wallet or a reserve when its
    health falls below your trigger, up to your caps (docs/guard.md)."""


def _guard(session: Session, address: str | None) -> Guard:
    """The guard at ``--guard``, else the deployments file's ``MarginGuard``, or a one-line refusal."""
    if address is None:
        path, data = session.deployments()
        address = data.get("contracts", {}).get("MarginGuard", {}).get("address")
        if not address:
            raise CliError(f"{path} records no MarginGuard: redeploy with `ape run deploy` (it adds the "
                           f"guard) or give --guard <address>")
    address = session.address_of(address) or ""
    if not session.provider.get_code(address):
        raise CliError(f"no contract at the guard address {address} on {session.provider.network.choice}")
    return Guard.at(address)


def _vault_and_guard(session: Session, vault: str, guard_address: str | None) -> tuple[str, MarketView, Guard]:
    """What every guard command starts from: the vault (checksummed), its market's view, the guard."""
    vault, market = session.vault_market(vault)
    return vault, MarketView(market), _guard(session, guard_address)


def _health(text: str, what: str) -> int:
    """A health ratio (``1.3``) as WAD, exactly, or a one-line refusal."""
    try:
        value = parse_number(text, what)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    wad = value * WAD
    if wad.denominator != 1 or wad <= 0:
        raise CliError(f"{what} {text} is not a positive health with at most 18 decimals")
    return int(wad)


def _policy_data(policy: GuardPolicy) -> dict[str, Any]:
    return {"exists": policy.exists, "trigger_health_wad": policy.trigger_health_wad,
            "target_health_wad": policy.target_health_wad, "expiry": policy.expiry, "fee": policy.fee,
            "max_per_top_up": policy.max_per_top_up, "budget": policy.budget, "reserve_id": policy.reserve_id}


def _policy_lines(view: MarketView, policy: GuardPolicy) -> list[tuple[str, str]]:
    if not policy.exists:
        return [("policy", "none")]
    source = f"reserve {policy.reserve_id}" if policy.reserve_id else "the owner's wallet"
    return [
        ("trigger", f"health below {fmt_health(policy.trigger_health_wad)}"),
        ("target", f"health {fmt_health(policy.target_health_wad)}"),
        ("max per top-up", view.amount(policy.max_per_top_up)),
        ("budget left", f"{view.amount(policy.budget)} (margin and fees)"),
        ("fee", f"{view.amount(policy.fee)} per top-up, to the keeper"),
        ("expires", fmt_time(policy.expiry) if policy.expiry else "never"),
        ("source", source),
    ]


def _now_lines(view: MarketView, g: Guard, vault: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """What a top-up would do now: the guard's own quote, or why none is due."""
    try:
        amount, fee, health = g.quote(vault)
    except RingfenceError as exc:
        return {"top_up_now": None, "top_up_refused": view.message(exc)}, [("top-up now", view.message(exc))]
    return ({"top_up_now": {"amount": amount, "fee": fee, "health_wad": health}},
            [("top-up now", f"{view.amount(amount)} (+ fee {view.amount(fee)}) at health {fmt_health(health)}")])


@guard.command()
@click.argument("vault")
@GUARD_OPTION
@common_options
@connected
def show(session: Session, as_json: bool, vault: str, guard_address: str | None) -> None:
    """The vault owner's policy, and what a top-up would add now."""
    vault, view, g = _vault_and_guard(session, vault, guard_address)
    with view.guard():
        owner = str(view.market.position(vault).owner)
        policy = g.policy(owner, vault)
        now, now_lines = _now_lines(view, g, vault) if policy.exists else ({}, [])
    data = {"vault": vault, "owner": owner, "guard": g.address, **_policy_data(policy), **now}
    emit(as_json, data, [("vault", vault), ("owner", owner), ("guard", g.address),
                         *_policy_lines(view, policy), *now_lines])


@guard.command(name="set")
@click.argument("vault")
@click.option("--trigger", required=True, help="Top up while health is below this, e.g. 1.3")
@click.option("--target", required=True, help="Health a top-up brings the vault to (above --trigger), e.g. 1.6")
@click.option("--max-per-top-up", required=True, help="Most margin one top-up adds, in settlement tokens")
@click.option("--budget", required=True, help="Most all top-ups may spend, margin and fees, in settlement tokens")
@click.option("--fee", default="0", show_default=True, help="Paid to the keeper per top-up (<= 10 %% of --max-per-top-up)")
@click.option("--expires", default=None, help="The policy stops acting after this long, e.g. 30d [default: never]")
@click.option("--reserve", "reserve_id", type=click.IntRange(min=1), default=None,
              help="Pay from this reserve of yours [default: your wallet]")
@GUARD_OPTION
@common_options
@connected
def set_policy(session: Session, as_json: bool, vault: str, trigger: str, target: str, max_per_top_up: str,
               budget: str, fee: str, expires: str | None, reserve_id: int | None, guard_address: str | None) -> None:
    """Set (or replace) your top-up policy for a vault. From your wallet, the guard is approved for
    exactly the budget."""
    vault, view, g = _vault_and_guard(session, vault, guard_address)
    owner = session.account
    try:
        lifetime = parse_duration(expires, "--expires") if expires is not None else 0
    except ValueError as exc:
        raise CliError(str(exc)) from None
    from ape import chain

    now = int(chain.pending_timestamp)
    try:
        policy = GuardPolicy(
            trigger_health_wad=_health(trigger, "--trigger"), target_health_wad=_health(target, "--target"),
            expiry=now + lifetime if lifetime else 0,
            fee=parse_amount(fee, view.decimals, "--fee", zero=True),
            max_per_top_up=parse_amount(max_per_top_up, view.decimals, "--max-per-top-up"),
            budget=parse_amount(budget, view.decimals, "--budget"), reserve_id=reserve_id or 0)
    except (TypeError, ValueError) as exc:  # a value too large for its field
        raise CliError(str(exc)) from None
    with view.guard():
        position_owner = str(view.market.position(vault).owner)
        if position_owner != str(owner.address):
            raise CliError(f"{owner.address} does not own vault {vault} (owner {position_owner}): a policy "
                           f"acts only for the vault's owner")
        policy.check(now)
        if not policy.reserve_id:
            approve_when_short(erc20(str(view.market.token().address)), owner, g.address, policy.budget,
                               asset=view.symbol)
        g.set_policy(owner, vault, policy)
    stored = after_sent(view, "the policy", lambda: g.policy(str(owner.address), vault)) or policy
    emit(as_json, {"vault": vault, "owner": str(owner.address), "guard": g.address, **_policy_data(stored)},
         [("policy set", vault), ("guard", g.address), *_policy_lines(view, stored)])


@guard.command()
@click.argument("vault")
@GUARD_OPTION
@common_options
@connected
def cancel(session: Session, as_json: bool, vault: str, guard_address: str | None) -> None:
    """Cancel your top-up policy for a vault (the guard's allowance stays: revoke it in your wallet)."""
    vault, view, g = _vault_and_guard(session, vault, guard_address)
    owner = session.account
    with view.guard():
        if not g.policy(str(owner.address), vault).exists:
            raise CliError(f"{owner.address} has no policy for vault {vault}")
        g.cancel_policy(owner, vault)
    emit(as_json, {"vault": vault, "owner": str(owner.address), "cancelled": True},
         [("policy cancelled", vault), ("owner", str(owner.address))])
